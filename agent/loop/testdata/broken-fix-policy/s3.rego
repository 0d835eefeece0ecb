# A policy whose declared fix is wrong: the attribute it sets does not
# exist, so terraform validate fails once it is applied.
package main

import rego.v1

deny_public_acl contains {"msg": msg, "address": address, "fix": {"set": {"acl_mode": "private"}}} if {
	some name, decls in input.resource.aws_s3_bucket
	some decl in decls
	decl.acl == "public-read"
	address := sprintf("aws_s3_bucket.%s", [name])
	msg := sprintf("%s is public", [address])
}
