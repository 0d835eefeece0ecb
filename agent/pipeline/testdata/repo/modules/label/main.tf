variable "name" {
  type = string
}

resource "terraform_data" "label" {
  input = lower(var.name)
}

output "id" {
  value = terraform_data.label.output
}
