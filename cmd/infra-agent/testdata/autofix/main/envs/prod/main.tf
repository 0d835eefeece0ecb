module "logs" {
  source      = "../../modules/bucket"
  name        = "logs"
  environment = "prod"
  tags = {
    owner = "platform-team"
  }
}
