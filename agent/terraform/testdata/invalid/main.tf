resource "terraform_data" "app" {
  input = var.undeclared
}

resource "terraform_data" "other" {
  input  = "x"
  colour = "blue"
}
