# Rules on the plan (terraform show -json): what the buckets will be after
# apply. modules/bucket models a bucket as terraform_data.bucket; the module
# call that sets its inputs is where a finding points.
package main

import rego.v1

buckets contains bucket if {
	some rc in input.resource_changes
	rc.type == "terraform_data"
	rc.name == "bucket"
	some action in rc.change.actions
	action in {"create", "update"}
	bucket := {
		"address": object.get(rc, "module_address", rc.address),
		"after": rc.change.after.input,
	}
}

# A public bucket in prod is denied. The fix needs no judgement, so the
# policy declares it: infra-agent fix sets public = false on the module call
# without asking a model.
deny_public_bucket contains {"msg": msg, "address": bucket.address, "fix": {"set": {"public": false}}} if {
	some bucket in buckets
	bucket.after.public == true
	bucket.after.tags.environment == "prod"
	msg := sprintf("%s makes the bucket %s public in prod", [bucket.address, bucket.after.name])
}

warn_versioning_off contains {"msg": msg, "address": bucket.address} if {
	some bucket in buckets
	bucket.after.versioning == false
	msg := sprintf("%s turns versioning off for %s: overwritten objects cannot be recovered", [bucket.address, bucket.after.name])
}
