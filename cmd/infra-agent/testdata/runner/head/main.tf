resource "terraform_data" "bucket" {
  input = {
    name   = "logs"
    public = true
  }
}
