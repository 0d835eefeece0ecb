package plan

import rego.v1

# Names the instance address.
deny contains msg if {
	some rc in input.resource_changes
	rc.type == "aws_s3_bucket"
	rc.change.after.acl == "public-read"
	msg := sprintf("%s: S3 bucket must not be public", [rc.address])
}

# A structured result with the address in its own key.
deny_flow_logs contains {"msg": "flow logs must not capture ALL traffic", "address": rc.address} if {
	some rc in input.resource_changes
	rc.type == "aws_flow_log"
	rc.change.after.traffic_type == "ALL"
}

# Names only the type and the name (a resource of a registry module).
warn contains msg if {
	some rc in input.resource_changes
	rc.type == "aws_vpc"
	not rc.change.after.enable_dns_support
	msg := sprintf("VPC %q (%s) should enable DNS support", [rc.name, rc.type])
}

warn_identity contains msg if {
	some rc in input.resource_changes
	rc.mode == "data"
	rc.type == "aws_caller_identity"
	msg := sprintf("%s reads the caller identity", [rc.address])
}

# Names no resource: no location.
deny_size contains msg if {
	count(input.resource_changes) > 5
	msg := "the plan changes more than 5 resources"
}
