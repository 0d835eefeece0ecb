package main

import rego.v1

deny contains msg if {
	msg := sprintf("unclosed %v", [input.x]
}
