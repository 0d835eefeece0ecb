# The same value, now sensitive: only its sensitivity changes.
variable "token" {
  type      = string
  sensitive = true
  default   = "unchanged-value"
}

resource "terraform_data" "cfg" {
  input = var.token
}
