resource "null_resource" "baz" {}
