package main

import rego.v1

# No public buckets.
deny contains msg if {
	some rc in input.resource_changes
	rc.type == "terraform_data"
	rc.change.after.input.public == true
	msg := sprintf("%s is public", [rc.address])
}
