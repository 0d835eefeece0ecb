package main

import rego.v1

# The pull request's own "policy": it would let everything pass. The runner
# must apply the default branch's policy instead.
deny contains msg if {
	false
	msg := "never"
}
