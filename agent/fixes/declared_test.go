package fixes

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks"
)

func finding(t *testing.T, address, fix string) checks.Finding {
	t.Helper()
	f := checks.Finding{Address: address, Rule: "deny_x"}
	if fix != "" {
		var v any
		if err := json.Unmarshal([]byte(fix), &v); err != nil {
			t.Fatal(err)
		}
		f.Metadata = map[string]any{MetadataKey: v}
	}
	return f
}

func TestFromFinding(t *testing.T) {
	tests := []struct {
		address, fix, want string
	}{
		{"aws_s3_bucket.b", `{"set": {"acl": "private", "force_destroy": false}}`, `set acl = "private" on aws_s3_bucket.b; set force_destroy = false on aws_s3_bucket.b`},
		{"aws_s3_bucket.b[0]", `{"block": "versioning", "set": {"enabled": true}}`, `set versioning.enabled = true on aws_s3_bucket.b`},
		{"", `{"address": "module.net.aws_vpc.v", "block": ["a", "b"], "remove": ["x"]}`, `remove a.b.x on module.net.aws_vpc.v`},
		{"aws_instance.i", `[{"tags": {"owner": "web"}}, {"add_block": {"type": "metadata_options", "attributes": {"http_tokens": "required"}}}]`,
			`tag owner = "web" on aws_instance.i; add a metadata_options block on aws_instance.i`},
		{"aws_instance.i", `{"remove_block": "ebs_block_device"}`, `remove the ebs_block_device block on aws_instance.i`},
	}
	for _, tt := range tests {
		d, err := FromFinding(finding(t, tt.address, tt.fix))
		if err != nil || d.Describe() != tt.want {
			t.Errorf("%s: Describe = %q, %v\n want %q", tt.fix, d.Describe(), err, tt.want)
		}
	}
	if _, err := FromFinding(finding(t, "x.y", "")); !errors.Is(err, ErrNoFix) {
		t.Errorf("no fix: err = %v", err)
	}
	for fix, want := range map[string]string{
		`{"set": {"a": 1}, "rename": "b"}`:      `unknown key "rename"`,
		`{"set": "acl"}`:                        "set must be an object",
		`{}`:                                    "no operation",
		`"set acl"`:                             "must be an object or a list",
		`{"remove": "acl"}`:                     "remove must be a list",
		`{"block": 3, "set": {"a": 1}}`:         "block must be",
		`{"add_block": {"attributes": {}}}`:     "add_block must be",
		`{"address": "var.x", "set": {"a": 1}}`: "not a resource",
		`{"set": {"acl": "(sensitive value)"}}`: "marks sensitive",
	} {
		_, err := FromFinding(finding(t, "aws_s3_bucket.b", fix))
		if err == nil || errors.Is(err, ErrNoFix) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", fix, err, want)
		}
	}
	if _, err := FromFinding(finding(t, "", `{"set": {"a": 1}}`)); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("no address: err = %v", err)
	}
}
