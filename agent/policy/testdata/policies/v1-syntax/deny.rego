# Rego v1 without `import rego.v1`: Rego v0 does not parse it.
package main

deny contains msg if {
	some name, bucket in input.resource.aws_s3_bucket
	bucket.acl == "public-read"
	msg := sprintf("bucket %s is public", [name])
}
