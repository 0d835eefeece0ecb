package main

import rego.v1

bucket_change(module, input_value) := {
	"address": sprintf("%s.terraform_data.bucket", [module]),
	"module_address": module,
	"type": "terraform_data",
	"name": "bucket",
	"change": {"actions": ["create"], "after": {"input": input_value}},
}

test_public_bucket_in_prod_is_denied if {
	results := deny_public_bucket with input as {"resource_changes": [bucket_change("module.assets", {
		"name": "prod-assets", "public": true, "versioning": true,
		"tags": {"environment": "prod", "owner": "web-team"},
	})]}
	results == {{
		"msg": "module.assets makes the bucket prod-assets public in prod",
		"address": "module.assets",
		"fix": {"set": {"public": false}},
	}}
}

test_public_bucket_in_dev_passes if {
	count(deny_public_bucket) == 0 with input as {"resource_changes": [bucket_change("module.assets", {
		"name": "dev-assets", "public": true, "versioning": true,
		"tags": {"environment": "dev"},
	})]}
}

test_deleted_public_bucket_passes if {
	change := json.patch(bucket_change("module.assets", {
		"name": "prod-assets", "public": true, "versioning": true,
		"tags": {"environment": "prod"},
	}), [{"op": "replace", "path": "/change/actions", "value": ["delete"]}])
	count(deny_public_bucket) == 0 with input as {"resource_changes": [change]}
}

test_versioning_off_warns if {
	results := warn_versioning_off with input as {"resource_changes": [bucket_change("module.logs", {
		"name": "dev-logs", "public": false, "versioning": false,
		"tags": {"environment": "dev"},
	})]}
	count(results) == 1
}

test_private_versioned_bucket_passes if {
	inp := {"resource_changes": [bucket_change("module.assets", {
		"name": "prod-assets", "public": false, "versioning": true,
		"tags": {"environment": "prod"},
	})]}
	count(deny_public_bucket) == 0 with input as inp
	count(warn_versioning_off) == 0 with input as inp
}
