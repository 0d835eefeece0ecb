resource "terraform_data" "ok" {
  input = "fine"
}
