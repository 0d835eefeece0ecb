module "assets" {
  source      = "../../modules/bucket"
  name        = "assets"
  environment = "prod"
  # Serves the website, but a public bucket in prod is denied by policy.
  public = true
  tags = {
    owner = "web-team"
  }
}

module "backups" {
  source      = "../../modules/bucket"
  name        = "backups"
  environment = "prod"
  # No owner tag: denied by policy.
  tags = {
    cost-center = "1234"
  }
}
