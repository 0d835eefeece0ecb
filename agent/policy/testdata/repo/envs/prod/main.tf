terraform {
  required_version = ">= 1.5"
}

provider "aws" {
  region = var.region
}

variable "region" {
  type = string
}

resource "aws_s3_bucket" "logs" {
  bucket = "prod-logs"
  acl    = "public-read"
}

data "aws_iam_policy_document" "read" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["*"]
  }
}

module "net" {
  source = "../../modules/net"
  name   = "prod"
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}
