# A removed block with destroy = false: terraform 1.7+ plans ["forget"].
removed {
  from = terraform_data.old

  lifecycle {
    destroy = false
  }
}
