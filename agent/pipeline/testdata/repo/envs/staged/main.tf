# Planned in the "staging" workspace, whose state the tests write to
# terraform.tfstate.d/staging/.
resource "terraform_data" "app" {
  input = "v2"
}
