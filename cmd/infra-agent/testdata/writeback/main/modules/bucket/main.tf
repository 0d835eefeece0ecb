# A storage bucket, modelled with terraform_data so the examples plan offline
# with no cloud account. Swap it for aws_s3_bucket and friends in real use.

variable "name" {
  type        = string
  description = "Bucket name."
}

variable "environment" {
  type        = string
  description = "dev, prod, ..."
}

variable "public" {
  type        = bool
  default     = false
  description = "Whether anyone on the internet may read the bucket."
}

variable "versioning" {
  type        = bool
  default     = true
  description = "Keep old versions of overwritten objects."
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "terraform_data" "bucket" {
  input = {
    name       = "${var.environment}-${var.name}"
    public     = var.public
    versioning = var.versioning
    tags       = merge(var.tags, { environment = var.environment })
  }
}

output "name" {
  value = terraform_data.bucket.output.name
}
