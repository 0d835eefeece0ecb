package tags

import rego.v1

# The required tags come from a data document.
deny contains msg if {
	some kind, resources in input.resource
	some name, decls in resources
	some decl in decls
	some tag in data.required_tags
	not decl.tags[tag]
	msg := sprintf("%s.%s has no %q tag", [kind, name, tag])
}
