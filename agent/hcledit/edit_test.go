package hcledit

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const bucketSrc = `# Logs of the web tier.
resource "aws_s3_bucket" "logs" {
  bucket = "logs" # the name
  acl    = "public-read"
  tags = {
    team = "web"
  }
}

resource "aws_s3_bucket" "other" {
  bucket = "other"
  tags   = merge(local.tags, { app = "x" })
}
`

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		`aws_s3_bucket.logs`:                          "aws_s3_bucket.logs",
		`aws_s3_bucket.logs[0]`:                       "aws_s3_bucket.logs",
		`module.net["a"].aws_s3_bucket.logs["x"]`:     "module.net.aws_s3_bucket.logs",
		`module.a.module.b.data.aws_iam_policy_doc.p`: "module.a.module.b.data.aws_iam_policy_doc.p",
		`module.assets`:                               "module.assets",
		`module.assets[1]`:                            "module.assets",
	} {
		a, err := ParseAddress(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseAddress(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for _, bad := range []string{"", "var.region", "local.x", "aws_s3_bucket", "module", `aws_s3_bucket.logs; rm -rf /`, "data.x"} {
		if a, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) = %v, want an error", bad, a)
		}
	}
}

func TestApply(t *testing.T) {
	logs := Address{Kind: KindResource, Type: "aws_s3_bucket", Name: "logs"}
	other := Address{Kind: KindResource, Type: "aws_s3_bucket", Name: "other"}
	tests := []struct {
		name   string
		target Address
		ops    []Op
		want   []string // substrings of the result
		absent []string
	}{
		{
			name:   "set keeps comments",
			target: logs,
			ops:    []Op{{Action: ActionSet, Name: "acl", Value: Value{JSON: "private"}}},
			want:   []string{`acl    = "private"`, "# Logs of the web tier.", `bucket = "logs" # the name`},
			absent: []string{"public-read"},
		},
		{
			name:   "nested blocks are created",
			target: logs,
			ops: []Op{{Action: ActionSet, Block: []string{"server_side_encryption_configuration", "rule", "apply_server_side_encryption_by_default"},
				Name: "sse_algorithm", Value: Value{JSON: "aws:kms"}}},
			want: []string{"server_side_encryption_configuration {\n    rule {\n      apply_server_side_encryption_by_default {\n        sse_algorithm = \"aws:kms\""},
		},
		{
			name:   "remove",
			target: logs,
			ops:    []Op{{Action: ActionRemove, Name: "acl"}},
			absent: []string{"acl"},
		},
		{
			name:   "add block with attributes and a reference",
			target: logs,
			ops: []Op{{Action: ActionAddBlock, Name: "logging", Attrs: map[string]Value{
				"target_bucket": {Expr: "aws_s3_bucket.other.id"}, "target_prefix": {JSON: "logs/"},
			}}},
			want: []string{"logging {\n    target_bucket = aws_s3_bucket.other.id\n    target_prefix = \"logs/\"\n  }"},
		},
		{
			name:   "a tag in a literal map",
			target: logs,
			ops:    []Op{{Action: ActionSetTag, Name: "owner", Value: Value{JSON: "platform"}}, {Action: ActionSetTag, Name: "team", Value: Value{JSON: "data"}}},
			want:   []string{`team  = "data"`, `owner = "platform"`},
			absent: []string{`"web"`},
		},
		{
			name:   "a tag merged into an expression",
			target: other,
			ops:    []Op{{Action: ActionSetTag, Name: "cost-center", Value: Value{JSON: json.Number("1234")}}},
			want:   []string{`merge(merge(local.tags, { app = "x" }), {`, "cost-center = 1234"},
		},
		{
			name:   "interpolation in a value stays a literal",
			target: logs,
			ops:    []Op{{Action: ActionSet, Name: "bucket", Value: Value{JSON: "${file(\"/etc/passwd\")}"}}},
			want:   []string{`bucket = "$${file(\"/etc/passwd\")}"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Apply([]byte(bucketSrc), "main.tf", tt.target, tt.ops)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("result lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(string(out), a) {
					t.Errorf("result still has %q:\n%s", a, out)
				}
			}
		})
	}
}

func TestApplyRefuses(t *testing.T) {
	logs := Address{Kind: KindResource, Type: "aws_s3_bucket", Name: "logs"}
	for name, ops := range map[string][]Op{
		"missing attribute":         {{Action: ActionRemove, Name: "policy"}},
		"missing block":             {{Action: ActionRemoveBlock, Name: "versioning"}},
		"bad name":                  {{Action: ActionSet, Name: "a b", Value: Value{JSON: "x"}}},
		"expression with a block":   {{Action: ActionSet, Name: "acl", Value: Value{Expr: "1\nresource \"x\" \"y\" {}"}}},
		"attribute used as a block": {{Action: ActionSet, Block: []string{"acl"}, Name: "x", Value: Value{JSON: true}}},
		"unknown action":            {{Action: "rename", Name: "acl"}},
	} {
		if out, err := Apply([]byte(bucketSrc), "main.tf", logs, ops); err == nil {
			t.Errorf("%s: accepted:\n%s", name, out)
		}
	}
	if _, err := Apply([]byte(bucketSrc), "main.tf", Address{Kind: KindResource, Type: "aws_s3_bucket", Name: "nope"}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing block: err = %v", err)
	}
}

func TestLocateFollowsLocalModules(t *testing.T) {
	repo := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(repo, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("envs/prod/main.tf", "module \"store\" {\n  source = \"../../modules/store\"\n}\nmodule \"vpc\" {\n  source = \"terraform-aws-modules/vpc/aws\"\n}\n")
	write("modules/store/buckets.tf", "resource \"aws_s3_bucket\" \"data\" {\n}\n")
	write("modules/store/main.tf", "module \"inner\" {\n  source = \"./inner\"\n}\n")
	write("modules/store/inner/x.tf", "resource \"aws_kms_key\" \"k\" {\n}\n")
	for addr, want := range map[string]string{
		`module.store["a"].aws_s3_bucket.data[0]`: "modules/store/buckets.tf",
		`module.store.module.inner.aws_kms_key.k`: "modules/store/inner/x.tf",
		`module.store`: "envs/prod/main.tf",
	} {
		a, err := ParseAddress(addr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Locate(repo, "envs/prod", a)
		if err != nil || got != want {
			t.Errorf("Locate(%s) = %q, %v; want %s", addr, got, err, want)
		}
	}
	a, _ := ParseAddress("module.vpc.aws_vpc.this")
	if _, err := Locate(repo, "envs/prod", a); err == nil || !strings.Contains(err.Error(), "not from this repository") {
		t.Errorf("remote module: err = %v", err)
	}
}
