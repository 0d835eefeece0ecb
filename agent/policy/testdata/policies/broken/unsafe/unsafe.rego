package main

import rego.v1

deny contains msg if {
	input.resource[kind]
	msg := sprintf("%s is %s", [kind, colour])
}
