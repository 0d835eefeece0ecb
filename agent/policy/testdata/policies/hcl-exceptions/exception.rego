package main

import rego.v1

exception contains rules if {
	input.provider.aws
	rules := ["provider_region"]
}
