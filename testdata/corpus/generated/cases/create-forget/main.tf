# A tainted object of a resource with lifecycle destroy = false: terraform
# 1.16+ plans its replacement as ["create", "forget"]: the new object is
# created and the old one left in place, outside terraform.
resource "terraform_data" "app" {
  input            = "v2"
  triggers_replace = ["v2"]

  lifecycle {
    destroy = false
  }
}
