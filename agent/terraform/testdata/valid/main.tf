variable "name" {
  type    = string
  default = "demo"
}

resource "terraform_data" "app" {
  input = var.name
}

output "app_id" {
  value = terraform_data.app.id
}
