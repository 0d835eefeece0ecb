# VPC flow logs of the network module.

resource "aws_flow_log" "this" {
  for_each     = toset(["a"])
  traffic_type = "ALL"
}
