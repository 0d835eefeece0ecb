provider "aws" {
    region="eu-west-1"
}

resource "aws_s3_bucket" "web" {
  bucket = "web"
  acl = "private"
  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
            sse_algorithm = "aws:kms"
      }
    }
  }
}
