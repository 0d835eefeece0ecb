terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

resource "aws_kms_key" "logs" {
  description         = "Encrypts the access logs."
  enable_key_rotation = true
}

# Access logs of the web tier.
resource "aws_s3_bucket" "logs" {
  bucket = "app-logs"
  acl    = "private"
  tags = {
    team = "platform"
  }
}

resource "aws_s3_bucket" "assets" {
  bucket = "app-assets"
  acl    = "public-read"

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "aws:kms"
      }
    }
  }

  tags = {
    team = "web"
  }
}

resource "aws_iam_role" "app" {
  name = "app"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ec2.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy" "app" {
  name = "read-assets"
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = "${aws_s3_bucket.assets.arn}/*"
    }]
  })
}

module "notes" {
  source = "../../modules/notes"
  name   = "app-notes"
}
