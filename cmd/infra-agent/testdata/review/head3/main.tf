resource "terraform_data" "legacy" {
  input = {
    name   = "legacy"
    public = true
  }
}

# The legacy bucket predates the policy; this pull request does not touch it,
# so the review mentions it in its body, not on a line.
#
#
#
#

resource "terraform_data" "bucket" {
  input = {
    name = "logs"
    public   = false
  }
}
