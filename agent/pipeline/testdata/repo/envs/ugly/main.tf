resource "terraform_data" "ugly" {
  input = "a"
  triggers_replace = ["b"]
}
