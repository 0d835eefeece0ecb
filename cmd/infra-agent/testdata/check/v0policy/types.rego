# Rego v0 syntax (no `if`, no `contains`), reading an allow-list from a data
# file, as many existing policy packs do.
package main

deny[msg] {
	rc := input.resource_changes[_]
	not data.allowed_types[rc.type]
	msg := sprintf("%s is not an allowed resource type", [rc.address])
}
