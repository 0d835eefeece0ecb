# Only an output changes: terraform shows "Changes to Outputs".
output "endpoint" {
  value = "https://v2.example.com"
}
