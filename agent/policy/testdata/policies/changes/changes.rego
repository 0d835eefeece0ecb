package changes

import rego.v1

warn contains msg if {
	some rc in input.resource_changes
	msg := sprintf("%s changes", [rc.address])
}

warn_debug contains msg if {
	print("changes:", count(input.resource_changes))
	false
	msg := "never"
}
