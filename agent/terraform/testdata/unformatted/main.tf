resource "terraform_data" "app" {
  input = "a"
  triggers_replace = ["b"]
}
