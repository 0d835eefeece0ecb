# Who runs the plan.

data "aws_caller_identity" "current" {}
