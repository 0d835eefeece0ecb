# Planned against state.json, which the tests copy to terraform.tfstate: the
# data set exists already, so changing its generation forces a replacement.
resource "terraform_data" "dataset" {
  input            = "customers"
  triggers_replace = ["generation-1"]
}

resource "terraform_data" "cache" {
  input = "warm"
}
