module "module" {
  source  = "vancluever/module/null"
  version = "~> 1.0.1"
}
