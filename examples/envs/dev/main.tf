module "assets" {
  source      = "../../modules/bucket"
  name        = "assets"
  environment = "dev"
  tags = {
    owner = "web-team"
  }
}

module "logs" {
  source      = "../../modules/bucket"
  name        = "logs"
  environment = "dev"
  # Cheaper in dev; the policy warns about it.
  versioning = false
  tags = {
    owner = "platform-team"
  }
}
