variable "replicas" {
  type    = number
  default = 1
}

module "app" {
  source = "../../modules/app"
  name   = "Prod-App"
}

resource "terraform_data" "scale" {
  input = var.replicas
}
