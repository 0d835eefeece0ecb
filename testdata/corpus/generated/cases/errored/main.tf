# A precondition fails: terraform saves the plan marked errored.
resource "terraform_data" "ok" {
  input = "fine"
}

resource "terraform_data" "broken" {
  input = "x"

  lifecycle {
    precondition {
      condition     = terraform_data.ok.input == "other"
      error_message = "The input must be other."
    }
  }
}
