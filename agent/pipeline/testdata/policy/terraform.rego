package main

import rego.v1

# HCL input: every module call sets tags.
deny contains msg if {
	some name
	some call in input.module[name]
	not call.tags
	msg := sprintf("module.%s must set tags", [name])
}

# Plan input: nothing may be destroyed, replaced included.
deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	"delete" in rc.change.actions
	msg := sprintf("%s would be destroyed", [rc.address])
}

# Plan input: resources that modules create, for review.
warn contains msg if {
	some rc in input.resource_changes
	rc.change.actions == ["create"]
	startswith(rc.address, "module.")
	msg := sprintf("%s is created by a module", [rc.address])
}
