variable "misspelled" {
  default     = "ehllo"
  descriptoni = "I am a misspelled attribute"
}
