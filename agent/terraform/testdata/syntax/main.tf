resource "terraform_data" "app" {
  input = "a"
  bad = = 3
}
