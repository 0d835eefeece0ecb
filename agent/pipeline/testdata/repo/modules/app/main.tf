variable "name" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

module "label" {
  source = "../label"
  name   = var.name
}

resource "terraform_data" "app" {
  input = {
    name = module.label.id
    tags = var.tags
  }
}

output "id" {
  value = terraform_data.app.id
}
