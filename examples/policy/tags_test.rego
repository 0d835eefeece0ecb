package main

import rego.v1

test_module_without_owner_is_denied if {
	deny_missing_owner["module.backups has no owner tag: add tags = { owner = \"<team>\" }"] with input as {"module": {"backups": [{
		"source": "../../modules/bucket",
		"tags": {"cost-center": "1234"},
	}]}}
}

test_module_without_tags_is_denied if {
	count(deny_missing_owner) == 1 with input as {"module": {"backups": [{"source": "../../modules/bucket"}]}}
}

test_module_with_owner_passes if {
	count(deny_missing_owner) == 0 with input as {"module": {"assets": [{"tags": {"owner": "web-team"}}]}}
}

test_plan_input_is_not_checked_for_tags if {
	count(deny_missing_owner) == 0 with input as {"resource_changes": []}
}
