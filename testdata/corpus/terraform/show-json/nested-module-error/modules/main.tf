module "more" {
  source = "./more-modules"
}
