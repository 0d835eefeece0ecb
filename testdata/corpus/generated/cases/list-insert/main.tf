# One element added at the head of a list: terraform shows one added element.
resource "terraform_data" "sg" {
  input = {
    name        = "web"
    cidr_blocks = tolist(["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"])
  }
}
