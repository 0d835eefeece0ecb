package main

// The resource and data source schemas the tests' AWS-shaped configurations
// use: a subset of the real provider's, with the same names, types, nesting
// and replace-forcing attributes, so terraform validate rejects what the real
// provider would (an unknown attribute, a missing required one, a wrong type)
// and plan shows the same create/update/replace actions.

// kind is the type of an attribute.
type kind int

const (
	str kind = iota
	boolean
	num
	strList
	strMap
)

// flag modifies an attribute: optional is the default.
type flag int

const (
	required flag = 1 << iota
	computed
	forceNew
	sensitive
)

// attr is one attribute of a schema.
type attr struct {
	kind  kind
	flags flag
}

func (a attr) has(f flag) bool { return a.flags&f != 0 }

// block is a schema: attributes and nested blocks (list-nested, as the AWS
// provider declares them).
type block struct {
	attrs  map[string]attr
	blocks map[string]block
}

// common attributes every resource has.
func withID(attrs map[string]attr) map[string]attr {
	attrs["id"] = attr{str, computed}
	return attrs
}

var (
	encryptionRule = block{
		attrs: map[string]attr{"bucket_key_enabled": {kind: boolean}},
		blocks: map[string]block{"apply_server_side_encryption_by_default": {attrs: map[string]attr{
			"sse_algorithm":     {str, required},
			"kms_master_key_id": {kind: str},
		}}},
	}
	securityGroupRule = block{attrs: map[string]attr{
		"from_port":   {num, required},
		"to_port":     {num, required},
		"protocol":    {str, required},
		"cidr_blocks": {kind: strList},
		"description": {kind: str},
	}}
)

// resourceSchemas are the managed resource types the provider serves.
var resourceSchemas = map[string]block{
	"aws_s3_bucket": {
		attrs: withID(map[string]attr{
			"bucket":        {str, forceNew},
			"acl":           {kind: str},
			"force_destroy": {kind: boolean},
			"policy":        {kind: str},
			"tags":          {kind: strMap},
			"arn":           {str, computed},
		}),
		blocks: map[string]block{
			"versioning": {attrs: map[string]attr{"enabled": {kind: boolean}, "mfa_delete": {kind: boolean}}},
			"logging": {attrs: map[string]attr{
				"target_bucket": {str, required},
				"target_prefix": {kind: str},
			}},
			"server_side_encryption_configuration": {blocks: map[string]block{"rule": encryptionRule}},
		},
	},
	"aws_s3_bucket_public_access_block": {attrs: withID(map[string]attr{
		"bucket":                  {str, required | forceNew},
		"block_public_acls":       {kind: boolean},
		"block_public_policy":     {kind: boolean},
		"ignore_public_acls":      {kind: boolean},
		"restrict_public_buckets": {kind: boolean},
	})},
	"aws_s3_bucket_versioning": {
		attrs:  withID(map[string]attr{"bucket": {str, required | forceNew}}),
		blocks: map[string]block{"versioning_configuration": {attrs: map[string]attr{"status": {str, required}}}},
	},
	"aws_s3_bucket_server_side_encryption_configuration": {
		attrs:  withID(map[string]attr{"bucket": {str, required | forceNew}}),
		blocks: map[string]block{"rule": encryptionRule},
	},
	"aws_s3_bucket_policy": {attrs: withID(map[string]attr{
		"bucket": {str, required | forceNew},
		"policy": {str, required},
	})},
	"aws_kms_key": {attrs: withID(map[string]attr{
		"description":             {kind: str},
		"enable_key_rotation":     {kind: boolean},
		"deletion_window_in_days": {kind: num},
		"policy":                  {kind: str},
		"tags":                    {kind: strMap},
		"arn":                     {str, computed},
		"key_id":                  {str, computed},
	})},
	"aws_kms_alias": {attrs: withID(map[string]attr{
		"name":          {str, forceNew},
		"target_key_id": {str, required},
	})},
	"aws_iam_role": {attrs: withID(map[string]attr{
		"name":               {str, forceNew},
		"assume_role_policy": {str, required},
		"tags":               {kind: strMap},
		"arn":                {str, computed},
	})},
	"aws_iam_role_policy": {attrs: withID(map[string]attr{
		"name":   {str, forceNew},
		"role":   {str, required | forceNew},
		"policy": {str, required},
	})},
	"aws_iam_policy": {attrs: withID(map[string]attr{
		"name":   {str, forceNew},
		"policy": {str, required},
		"arn":    {str, computed},
	})},
	"aws_iam_role_policy_attachment": {attrs: withID(map[string]attr{
		"role":       {str, required | forceNew},
		"policy_arn": {str, required | forceNew},
	})},
	"aws_security_group": {
		attrs: withID(map[string]attr{
			"name":        {str, forceNew},
			"description": {str, forceNew},
			"vpc_id":      {str, forceNew},
			"tags":        {kind: strMap},
			"arn":         {str, computed},
		}),
		blocks: map[string]block{"ingress": securityGroupRule, "egress": securityGroupRule},
	},
	"aws_ebs_volume": {attrs: withID(map[string]attr{
		"availability_zone": {str, required | forceNew},
		"size":              {kind: num},
		"encrypted":         {boolean, forceNew},
		"kms_key_id":        {str, forceNew},
		"tags":              {kind: strMap},
		"arn":               {str, computed},
	})},
	"aws_db_instance": {attrs: withID(map[string]attr{
		"identifier":              {str, forceNew},
		"engine":                  {str, forceNew},
		"instance_class":          {str, required},
		"allocated_storage":       {kind: num},
		"storage_encrypted":       {boolean, forceNew},
		"publicly_accessible":     {kind: boolean},
		"username":                {str, forceNew},
		"password":                {str, sensitive},
		"skip_final_snapshot":     {kind: boolean},
		"backup_retention_period": {kind: num},
		"tags":                    {kind: strMap},
		"arn":                     {str, computed},
	})},
	"aws_instance": {
		attrs: withID(map[string]attr{
			"ami":           {str, required | forceNew},
			"instance_type": {str, required},
			"subnet_id":     {str, forceNew},
			"tags":          {kind: strMap},
			"arn":           {str, computed},
		}),
		blocks: map[string]block{
			"metadata_options":  {attrs: map[string]attr{"http_tokens": {kind: str}, "http_endpoint": {kind: str}}},
			"root_block_device": {attrs: map[string]attr{"encrypted": {boolean, forceNew}, "volume_size": {kind: num}}},
		},
	},
	"aws_cloudwatch_log_group": {attrs: withID(map[string]attr{
		"name":              {str, forceNew},
		"retention_in_days": {kind: num},
		"kms_key_id":        {kind: str},
		"tags":              {kind: strMap},
		"arn":               {str, computed},
	})},
}

// dataSchemas are the data sources the provider serves.
var dataSchemas = map[string]block{
	"aws_caller_identity": {attrs: withID(map[string]attr{
		"account_id": {str, computed},
		"arn":        {str, computed},
		"user_id":    {str, computed},
	})},
	"aws_region": {attrs: withID(map[string]attr{"name": {str, computed}})},
	"aws_iam_policy_document": {
		attrs: withID(map[string]attr{"json": {str, computed}}),
		blocks: map[string]block{"statement": {
			attrs: map[string]attr{
				"sid":       {kind: str},
				"effect":    {kind: str},
				"actions":   {kind: strList},
				"resources": {kind: strList},
			},
			blocks: map[string]block{"principals": {attrs: map[string]attr{
				"type":        {str, required},
				"identifiers": {strList, required},
			}}},
		}},
	},
}

// providerSchema is the provider block's configuration.
var providerSchema = map[string]attr{
	"region":     {kind: str},
	"profile":    {kind: str},
	"access_key": {kind: str},
	"secret_key": {str, sensitive},
}
