# Planned against state.json (copied to terraform.tfstate by the tests): one
# of every action terraform_data can show without a provider download.

variable "password" {
  type      = string
  default   = "hunter2-not-a-real-password"
  sensitive = true
}

resource "terraform_data" "created" {
  input = "new"
}

resource "terraform_data" "updated" {
  input = "new"
}

resource "terraform_data" "replaced" {
  input            = "same"
  triggers_replace = ["v2"]
}

resource "terraform_data" "secret" {
  input = var.password
}

moved {
  from = terraform_data.old_name
  to   = terraform_data.renamed
}

resource "terraform_data" "renamed" {
  input = "kept"
}

# terraform_data.deleted is in the state only: the plan deletes it.
