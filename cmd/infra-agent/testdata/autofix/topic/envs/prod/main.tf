module "logs" {
  source      = "../../modules/bucket"
  name        = "logs"
  environment = "prod"
  tags = {
    cost-center = "1234"
  }
}
