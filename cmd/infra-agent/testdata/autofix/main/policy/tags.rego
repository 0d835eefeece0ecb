# Rules on the Terraform configuration (conftest parses each .tf file: module
# calls are under input.module.<name>).
package main

import rego.v1

# Every module call names the team that owns what it creates.
deny_missing_owner contains msg if {
	some name
	some call in input.module[name]
	not call.tags.owner
	msg := sprintf("module.%s has no owner tag: add tags = { owner = \"<team>\" }", [name])
}
