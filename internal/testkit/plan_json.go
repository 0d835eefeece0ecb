package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// PlanSpec describes a generated plan: Resources resource changes, of which
// the last Deletes and Replaces destroy something (placed last, so rendering
// must move them to the front); the rest mix creates, updates, reads and
// no-ops.
type PlanSpec struct {
	Resources         int
	Deletes, Replaces int
}

// GeneratePlanJSON writes `terraform show -json`-shaped output for spec, about
// 1 KB per resource: nested objects and lists, unknown values, sensitive
// values, and a secret terraform does not know is one.
func GeneratePlanJSON(tb testing.TB, spec PlanSpec) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString(`{"format_version":"1.2","terraform_version":"1.5.7","planned_values":{"root_module":{}},"resource_changes":[`)
	enc := json.NewEncoder(&b)
	for i := range spec.Resources {
		if i > 0 {
			b.WriteByte(',')
		}
		rc := generatedChange(i, spec)
		if err := enc.Encode(rc); err != nil {
			tb.Fatal(err)
		}
	}
	b.WriteString(`],"configuration":{"root_module":{}}}`)
	return b.Bytes()
}

func generatedChange(i int, spec PlanSpec) map[string]any {
	dangerFrom := spec.Resources - spec.Deletes - spec.Replaces
	name := fmt.Sprintf("web_%d", i/100)
	rc := map[string]any{
		"address": fmt.Sprintf("aws_instance.%s[%d]", name, i%100), "mode": "managed", "type": "aws_instance",
		"name": name, "index": i % 100, "provider_name": "registry.terraform.io/hashicorp/aws",
	}
	old, cur := instanceValues(i, 1), instanceValues(i, 2)
	unknown := map[string]any{"id": true, "arn": true, "private_ip": true}
	sensitive := map[string]any{"user_data": true}
	var change map[string]any
	switch {
	case i >= dangerFrom+spec.Deletes:
		change = map[string]any{"actions": []string{"delete", "create"}, "before": old, "after": cur,
			"after_unknown": unknown, "before_sensitive": sensitive, "after_sensitive": sensitive,
			"replace_paths": [][]any{{"ami"}}}
		rc["action_reason"] = "replace_because_cannot_update"
	case i >= dangerFrom:
		change = map[string]any{"actions": []string{"delete"}, "before": old, "after": nil,
			"after_unknown": map[string]any{}, "before_sensitive": sensitive, "after_sensitive": false}
		rc["action_reason"] = "delete_because_no_resource_config"
	case i%10 < 6:
		change = map[string]any{"actions": []string{"create"}, "before": nil, "after": cur,
			"after_unknown": unknown, "before_sensitive": false, "after_sensitive": sensitive}
	case i%10 < 9:
		cur["ami"] = old["ami"]
		change = map[string]any{"actions": []string{"update"}, "before": old, "after": cur,
			"after_unknown": map[string]any{}, "before_sensitive": sensitive, "after_sensitive": sensitive}
	default:
		change = map[string]any{"actions": []string{"no-op"}, "before": old, "after": old,
			"after_unknown": map[string]any{}, "before_sensitive": sensitive, "after_sensitive": sensitive}
	}
	rc["change"] = change
	return rc
}

// instanceValues is an aws_instance-like object; version 1 and 2 differ in a
// few nested places, the way an update does.
func instanceValues(i, version int) map[string]any {
	return map[string]any{
		"ami":           fmt.Sprintf("ami-%08d%d", i, version),
		"instance_type": []string{"", "t3.micro", "t3.small"}[version],
		"id":            fmt.Sprintf("i-%017x", i),
		"tags": map[string]any{
			"Name": fmt.Sprintf("web-%d", i), "team": "platform", "version": fmt.Sprint(version),
			"description": strings.Repeat("generated instance for the render benchmark ", 2),
		},
		"root_block_device": []any{map[string]any{"volume_size": 20 * version, "volume_type": "gp3", "encrypted": true}},
		"security_groups":   []any{"sg-0123456789abcdef0", fmt.Sprintf("sg-%d", version)},
		"user_data":         "#!/bin/sh\necho hello",
		"db_password":       fmt.Sprintf("hunter2-%d", i),
		"monitoring":        version == 2,
		"cpu_options":       []any{map[string]any{"core_count": 2, "threads_per_core": version}},
	}
}
