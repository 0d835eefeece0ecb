resource "terraform_data" "app" {
  input = var.undeclared
}
