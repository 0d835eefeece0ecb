# An import block: the plan imports the object (a no-op with importing).
import {
  to = terraform_data.imported
  id = "existing-object"
}

resource "terraform_data" "imported" {}
