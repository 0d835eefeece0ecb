variable "name" {
  type        = string
  description = "Name prefix."
}

resource "aws_s3_bucket" "logs" {
  count  = 1
  bucket = "${var.name}-net-logs"
  acl    = "public-read"
}

module "flow" {
  source = "../flow"
}
