# A moved block: the instance changes address and nothing else.
moved {
  from = terraform_data.old_name
  to   = terraform_data.new_name
}

resource "terraform_data" "new_name" {
  input = "kept"
}
