module "app" {
  source = "../../modules/app"
  name   = "Dev-App"
  tags = {
    owner = "team-a"
  }
}
