variable "test_var" {
  default = "foo-var"
}
