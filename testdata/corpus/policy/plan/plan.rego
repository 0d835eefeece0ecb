# Plan policies for the corpus: one rule per kind of change terraform
# reports, results as strings and as objects with metadata, so that every
# plan of the corpus exercises them. Their results are compared with those
# of the conftest CLI (see ../../README.md).
package main

import rego.v1

# Deletes, replaces included, with the policy's metadata.
deny contains {
	"msg": sprintf("%s would be destroyed (%s)", [rc.address, concat("+", rc.change.actions)]),
	"policyId": "CORPUS-001",
	"severity": "HIGH",
	"address": rc.address,
} if {
	some rc in input.resource_changes
	"delete" in rc.change.actions
}

# Objects that leave terraform's management.
warn contains sprintf("%s would be forgotten: it stays, unmanaged", [rc.address]) if {
	some rc in input.resource_changes
	"forget" in rc.change.actions
}

# Imports and moves, for review.
warn contains sprintf("%s is imported", [rc.address]) if {
	some rc in input.resource_changes
	rc.change.importing
}

warn contains sprintf("%s moved from %s", [rc.address, rc.previous_address]) if {
	some rc in input.resource_changes
	rc.previous_address
	rc.previous_address != rc.address
}

# Values only known after apply, counted per created resource.
warn contains {"msg": sprintf("%s has %d values known only after apply", [rc.address, n]), "policyId": "CORPUS-002"} if {
	some rc in input.resource_changes
	rc.change.actions == ["create"]
	is_object(rc.change.after_unknown)
	n := count([k | some k, v in rc.change.after_unknown; v == true])
	n > 2
}

# Changes terraform put off, and actions it invokes.
warn contains sprintf("%s is deferred: %s", [d.resource_change.address, d.reason]) if {
	some d in input.deferred_changes
}

warn contains sprintf("%s will be invoked", [a.address]) if {
	some a in input.action_invocations
}

# Sensitive values are not for messages: this rule quotes one, and the
# engine must mask it whole (never inside an address).
deny contains sprintf("%s sets a sensitive value %v", [rc.address, rc.change.after[k]]) if {
	some rc in input.resource_changes
	is_object(rc.change.after_sensitive)
	some k, v in rc.change.after_sensitive
	v == true
	is_string(rc.change.after[k])
}

# A plan that failed part-way.
deny contains "terraform reports that planning failed" if {
	input.errored == true
}

# Outputs that change.
warn_output_changes contains sprintf("output %s changes (%s)", [name, concat("+", oc.actions)]) if {
	some name, oc in input.output_changes
	oc.actions != ["no-op"]
}

# terraform 0.12 lists every output as created, changed or not.
exception contains rules if {
	startswith(input.terraform_version, "0.12.")
	rules := ["output_changes"]
}
