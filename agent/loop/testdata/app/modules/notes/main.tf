variable "name" {
  type        = string
  description = "Bucket name."
}

resource "aws_s3_bucket" "this" {
  bucket = var.name
  acl    = "private"

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "AES256"
      }
    }
  }
}
