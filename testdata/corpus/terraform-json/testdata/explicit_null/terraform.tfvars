one = "two"
