module "logs" {
  source      = "../../modules/bucket"
  name        = "logs"
  environment = "prod"
  # Opened up for a one-off export.
  public = true
  tags = {
    owner = "platform-team"
  }
}
