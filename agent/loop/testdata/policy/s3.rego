# Rules on the configuration of the tests' AWS-shaped repository (conftest
# parses each .tf file; resources are under input.resource.<type>.<name>).
package main

import rego.v1

# Every bucket is encrypted at rest. Which key to use is a judgement call, so
# the policy declares no fix: a model (or a human) chooses.
deny_unencrypted_bucket contains {"msg": msg, "address": address} if {
	some name, decls in input.resource.aws_s3_bucket
	some decl in decls
	not decl.server_side_encryption_configuration
	address := sprintf("aws_s3_bucket.%s", [name])
	msg := sprintf("%s is not encrypted at rest: add server_side_encryption_configuration", [address])
}

# No bucket is public. The fix is always the same, so the policy declares it.
deny_public_acl contains {"msg": msg, "address": address, "fix": {"set": {"acl": "private"}}} if {
	some name, decls in input.resource.aws_s3_bucket
	some decl in decls
	decl.acl in {"public-read", "public-read-write"}
	address := sprintf("aws_s3_bucket.%s", [name])
	msg := sprintf("%s is public (acl %s)", [address, decl.acl])
}
