# AWS rules on the configuration, modelled on well-known scanner checks, for
# the zero-model-call figure. A rule declares a fix only where the
# remediation is one fixed value anyone would choose; where it needs a
# judgement (which bucket receives logs, which CIDR may connect, which
# actions a role needs) it declares none and a model or a human decides.
package main

import rego.v1

resources(type) := {name: decl |
	some name
	some decl in input.resource[type][name]
}

report(type, name, what) := {"msg": sprintf("%s.%s %s", [type, name, what]), "address": sprintf("%s.%s", [type, name])}

report_fix(type, name, what, fix) := object.union(report(type, name, what), {"fix": fix})

# S3 buckets are encrypted at rest (S3-managed keys unless one is chosen).
deny_s3_unencrypted contains r if {
	some name, decl in resources("aws_s3_bucket")
	not decl.server_side_encryption_configuration
	r := report_fix("aws_s3_bucket", name, "is not encrypted at rest", {
		"block": "server_side_encryption_configuration.rule.apply_server_side_encryption_by_default",
		"set": {"sse_algorithm": "AES256"},
	})
}

# S3 buckets keep old versions of overwritten objects.
deny_s3_versioning contains r if {
	some name, decl in resources("aws_s3_bucket")
	not versioned(decl)
	r := report_fix("aws_s3_bucket", name, "has no versioning", {"block": "versioning", "set": {"enabled": true}})
}

versioned(decl) if decl.versioning[0].enabled == true

# S3 buckets log access to another bucket (which one is a choice).
deny_s3_logging contains r if {
	some name, decl in resources("aws_s3_bucket")
	not decl.logging
	r := report("aws_s3_bucket", name, "has no access logging")
}

# EBS volumes are encrypted.
deny_ebs_unencrypted contains r if {
	some name, decl in resources("aws_ebs_volume")
	not decl.encrypted == true
	r := report_fix("aws_ebs_volume", name, "is not encrypted", {"set": {"encrypted": true}})
}

# Instances require IMDSv2 session tokens.
deny_instance_imdsv1 contains r if {
	some name, decl in resources("aws_instance")
	not decl.metadata_options[0].http_tokens == "required"
	r := report_fix("aws_instance", name, "allows IMDSv1", {"block": "metadata_options", "set": {"http_tokens": "required"}})
}

databases := {"aws_db_instance", "aws_rds_cluster", "aws_neptune_cluster"}

# Databases are encrypted at rest.
deny_db_unencrypted contains r if {
	some type in databases
	some name, decl in resources(type)
	not decl.storage_encrypted == true
	r := report_fix(type, name, "is not encrypted at rest", {"set": {"storage_encrypted": true}})
}

# Databases keep at least a week of backups.
deny_db_backup contains r if {
	some type in databases
	some name, decl in resources(type)
	decl.backup_retention_period < 7
	r := report_fix(type, name, "keeps less than 7 days of backups", {"set": {"backup_retention_period": 7}})
}

# Database instances are not reachable from the internet.
deny_db_public contains r if {
	some name, decl in resources("aws_db_instance")
	decl.publicly_accessible == true
	r := report_fix("aws_db_instance", name, "is publicly accessible", {"set": {"publicly_accessible": false}})
}

# KMS keys rotate.
deny_kms_rotation contains r if {
	some name, decl in resources("aws_kms_key")
	not decl.enable_key_rotation == true
	r := report_fix("aws_kms_key", name, "does not rotate", {"set": {"enable_key_rotation": true}})
}

# Image tags cannot be overwritten.
deny_ecr_mutable contains r if {
	some name, decl in resources("aws_ecr_repository")
	not decl.image_tag_mutability == "IMMUTABLE"
	r := report_fix("aws_ecr_repository", name, "has mutable image tags", {"set": {"image_tag_mutability": "IMMUTABLE"}})
}

# Images are scanned on push.
deny_ecr_scan contains r if {
	some name, decl in resources("aws_ecr_repository")
	not decl.image_scanning_configuration[0].scan_on_push == true
	r := report_fix("aws_ecr_repository", name, "does not scan images on push", {"block": "image_scanning_configuration", "set": {"scan_on_push": true}})
}

# Search domains are encrypted at rest.
deny_es_unencrypted contains r if {
	some name, decl in resources("aws_elasticsearch_domain")
	not decl.encrypt_at_rest[0].enabled == true
	r := report_fix("aws_elasticsearch_domain", name, "is not encrypted at rest", {"block": "encrypt_at_rest", "set": {"enabled": true}})
}

# Security groups do not open ingress to the internet (who may connect is a
# choice).
deny_sg_open_ingress contains r if {
	some name, decl in resources("aws_security_group")
	some rule in decl.ingress
	"0.0.0.0/0" in rule.cidr_blocks
	r := report("aws_security_group", name, "allows ingress from 0.0.0.0/0")
}

# IAM policies grant no wildcard action (which actions are needed is a
# choice).
deny_iam_wildcard contains r if {
	some type in {"aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_policy"}
	some name, decl in resources(type)
	regex.match(`"Action"\s*:\s*(\[\s*)?"[a-z0-9]*:?\*"`, decl.policy)
	r := report(type, name, "grants a wildcard action")
}

# Providers take no static access keys.
deny_provider_keys contains {"msg": "provider aws has a static access key: use the environment or a role"} if {
	some decl in input.provider.aws
	decl.access_key
}

# Functions keep no secrets in their environment.
deny_lambda_env_secret contains r if {
	some name, decl in resources("aws_lambda_function")
	some key, _ in decl.environment[0].variables
	regex.match(`(?i)secret|key|password|token`, key)
	r := report("aws_lambda_function", name, sprintf("holds %s in its environment", [key]))
}

# Cluster endpoints are private (who needs the public endpoint is a choice).
deny_eks_public_endpoint contains r if {
	some name, decl in resources("aws_eks_cluster")
	not decl.vpc_config[0].endpoint_public_access == false
	r := report("aws_eks_cluster", name, "has a public endpoint")
}
