package main

import rego.v1

# Reported as a word pair: `variable "region"`.
warn_variable_description contains msg if {
	some name, decls in input.variable
	some decl in decls
	not decl.description
	msg := sprintf("variable %q has no description", [name])
}

# A structured result naming its resource.
deny_public_bucket contains {"msg": "S3 bucket must not be public", "resource": sprintf("aws_s3_bucket.%s", [name])} if {
	some name, decls in input.resource.aws_s3_bucket
	some decl in decls
	decl.acl == "public-read"
}

warn_remote_module contains msg if {
	some name, decls in input.module
	some decl in decls
	not startswith(decl.source, ".")
	msg := sprintf("module %q uses a remote source", [name])
}

# Mentions the variable "region" too: the provider, named first, wins.
deny_provider_region contains msg if {
	some name, decls in input.provider
	some decl in decls
	contains(decl.region, "var.")
	msg := sprintf("provider %q takes its region from a variable", [name])
}

warn_wildcard_resources contains msg if {
	some name, decls in input.data.aws_iam_policy_document
	some decl in decls
	some st in decl.statement
	"*" in st.resources
	msg := sprintf("data.aws_iam_policy_document.%s allows every resource", [name])
}

# About no block: reported on line 1. Uses conftest's data.conftest.file.
warn_terraform_settings contains msg if {
	input.terraform
	msg := sprintf("%s declares terraform settings; keep them in versions.tf", [data.conftest.file.name])
}

# conftest's own location convention.
violation_count contains {"msg": "buckets must not use count", "_loc": {"file": "main.tf", "line": 7}} if {
	some decls in input.resource.aws_s3_bucket
	some decl in decls
	decl.count
}
