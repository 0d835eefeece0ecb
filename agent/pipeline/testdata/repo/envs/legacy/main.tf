# Written for Terraform 0.11: terraform init refuses the quoted type, but the
# policies on the HCL need nothing from init.
variable "name" {
  type    = "string"
  default = "legacy"
}

module "app" {
  source = "../../modules/app"
  name   = var.name
}
