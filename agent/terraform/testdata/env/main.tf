# Observes which TF_VAR_* values reach terraform through the scrubbed
# environment: an allowed one, and one whose name looks like a token.
variable "allowed" {
  type    = string
  default = "unset"
}

variable "github_token" {
  type    = string
  default = "absent"
}

resource "terraform_data" "seen" {
  input = {
    allowed      = var.allowed
    github_token = var.github_token
  }
}
