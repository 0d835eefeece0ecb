package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks"
)

// where is a finding's expected location.
type where struct {
	rule    string // the rule that reported it
	message string // a substring of its message
	file    string
	line    int
	address string
}

// assertLocations checks that each expected finding is present, at its place.
func assertLocations(t *testing.T, got []checks.Finding, want []where) {
	t.Helper()
	for _, w := range want {
		t.Run(fmt.Sprintf("%s:%d %s", w.file, w.line, w.message), func(t *testing.T) {
			for _, f := range got {
				if f.Rule != w.rule || !strings.Contains(f.Message, w.message) {
					continue
				}
				if f.File != w.file || f.Line != w.line || f.Address != w.address {
					t.Errorf("%s %q at %s:%d (address %q), want %s:%d (address %q)",
						f.Rule, f.Message, f.File, f.Line, f.Address, w.file, w.line, w.address)
				}
				return
			}
			t.Errorf("no %s finding with message %q in %d findings", w.rule, w.message, len(got))
		})
	}
}

// The expected lines were read off the .tf files by hand.
func TestHCLLocations(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		root Root
		want []where
	}{
		{
			name: "conftest hcl2 example",
			opts: Options{Paths: []string{"testdata/conftest/examples/hcl2/policy"}},
			root: Root{Dir: "testdata/conftest/examples/hcl2", Rel: "examples/hcl2"},
			want: []where{
				// Only the name, in backquotes.
				{"deny", "ASG `my-rule` defines", "examples/hcl2/terraform.tf", 1, "aws_security_group_rule.my-rule"},
				{"deny", "ALB `my-alb-listener` is using HTTP", "examples/hcl2/terraform.tf", 6, "aws_alb_listener.my-alb-listener"},
				// Type and name, quoted.
				{"deny", `"aws_db_security_group" named "my-group"`, "examples/hcl2/terraform.tf", 11, "aws_db_security_group.my-group"},
				{"deny", "Azure disk `source` is not encrypted", "examples/hcl2/terraform.tf", 15, "azurerm_managed_disk.source"},
			},
		},
		{
			name: "terragoat aws",
			opts: Options{Paths: []string{"testdata/conftest/examples/hcl2/policy"}},
			root: Root{Dir: "testdata/terragoat/terraform/aws", Rel: "terraform/aws"},
			want: []where{
				// aws_s3_bucket "data" is on line 1 of the same file: the type decides.
				{"deny", `"aws_s3_bucket_object" named "data_object"`, "terraform/aws/s3.tf", 23, "aws_s3_bucket_object.data_object"},
				{"deny", `"aws_s3_bucket" named "logs"`, "terraform/aws/s3.tf", 113, "aws_s3_bucket.logs"},
				// aws_iam_user "user" and aws_iam_access_key "user" share a name.
				{"deny", `"aws_iam_access_key" named "user"`, "terraform/aws/iam.tf", 21, "aws_iam_access_key.user"},
				{"deny", `"aws_iam_user" named "user"`, "terraform/aws/iam.tf", 1, "aws_iam_user.user"},
				{"deny", `"aws_neptune_cluster_snapshot" named "default"`, "terraform/aws/neptune.tf", 41, "aws_neptune_cluster_snapshot.default"},
				{"deny", `"aws_rds_cluster" named "app9-rds-cluster"`, "terraform/aws/rds.tf", 130, "aws_rds_cluster.app9-rds-cluster"},
				{"deny", `"aws_elb" named "weblb"`, "terraform/aws/elb.tf", 2, "aws_elb.weblb"},
			},
		},
		{
			name: "every block kind",
			opts: Options{Paths: []string{"testdata/policies/hcl"}},
			root: Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"},
			want: []where{
				{"warn_terraform_settings", "main.tf declares terraform settings", "envs/prod/main.tf", 1, ""},
				// Also names the variable "region"; the provider comes first.
				{"deny_provider_region", `provider "aws" takes its region`, "envs/prod/main.tf", 5, "provider.aws"},
				{"warn_variable_description", `variable "region" has no description`, "envs/prod/main.tf", 9, "var.region"},
				{"deny_public_bucket", "S3 bucket must not be public", "envs/prod/main.tf", 13, "aws_s3_bucket.logs"},
				{"warn_wildcard_resources", "data.aws_iam_policy_document.read allows", "envs/prod/main.tf", 18, "data.aws_iam_policy_document.read"},
				{"warn_remote_module", `module "vpc" uses a remote source`, "envs/prod/main.tf", 30, "module.vpc"},
			},
		},
		{
			name: "a resource address in the message",
			opts: Options{Paths: []string{"testdata/policies/tags"}, DataPaths: []string{"testdata/policies/tags-data"}, Namespaces: []string{"tags"}},
			root: Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"},
			want: []where{
				{"deny", `aws_s3_bucket.logs has no "owner" tag`, "envs/prod/main.tf", 13, "aws_s3_bucket.logs"},
			},
		},
		{
			name: "a module checked as a root",
			opts: Options{Paths: []string{"testdata/policies/hcl"}},
			root: Root{Dir: "testdata/repo/modules/net", Rel: "modules/net"},
			want: []where{
				{"deny_public_bucket", "S3 bucket must not be public", "modules/net/main.tf", 6, "aws_s3_bucket.logs"},
				// conftest's _loc, relative to the root.
				{"violation_count", "buckets must not use count", "modules/net/main.tf", 7, ""},
			},
		},
		{
			name: "the top of the repository",
			opts: Options{Paths: []string{"testdata/conftest/examples/hcl2/policy"}},
			root: Root{Dir: "testdata/conftest/examples/hcl2"},
			want: []where{
				{"deny", "Azure disk `source` is not encrypted", "terraform.tf", 15, "azurerm_managed_disk.source"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compile(t, tt.opts).CheckHCL(context.Background(), tt.root)
			if err != nil {
				t.Fatal(err)
			}
			assertLocations(t, got, tt.want)
		})
	}
}

func TestPlanLocations(t *testing.T) {
	modular := Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"}
	tests := []struct {
		name string
		opts Options
		root Root
		plan string
		want []where
	}{
		{
			name: "local modules",
			opts: Options{Paths: []string{"testdata/policies/plan"}, Namespaces: []string{"plan"}},
			root: modular,
			plan: "testdata/repo/envs/prod/tfplan.json",
			want: []where{
				// The root's resource, not the module's one of the same type and name.
				{"deny", "aws_s3_bucket.logs: S3 bucket", "envs/prod/main.tf", 13, "aws_s3_bucket.logs"},
				{"deny", "module.net.aws_s3_bucket.logs[0]: S3 bucket", "modules/net/main.tf", 6, "module.net.aws_s3_bucket.logs[0]"},
				{"warn_identity", "module.net.data.aws_caller_identity.current", "modules/net/identity.tf", 3, "module.net.data.aws_caller_identity.current"},
				// A structured result's address, two modules down.
				{"deny_flow_logs", "flow logs must not capture", "modules/flow/main.tf", 3, `module.net.module.flow.aws_flow_log.this["a"]`},
				// A resource of a registry module: the module block.
				{"warn", `VPC "this" (aws_vpc)`, "envs/prod/main.tf", 30, "module.vpc.aws_vpc.this[0]"},
				// Names no resource.
				{"deny_size", "more than 5 resources", "", 0, ""},
			},
		},
		{
			name: "scalr wrapped plan",
			opts: Options{Paths: []string{"testdata/scalr/aws/enforce_s3_private/enforce_s3_private.rego"}, Namespaces: []string{"terraform"}, RegoVersion: "v0", PlanInputKey: "tfplan"},
			root: Root{Dir: "testdata/repo/envs/s3", Rel: "envs/s3"},
			plan: "testdata/scalr/aws/enforce_s3_private/enforce_s3_private.invalid.tfplan.json",
			want: []where{
				{"deny", "S3 buckets must not be PUBLIC", "envs/s3/main.tf", 3, "aws_s3_bucket.b"},
			},
		},
		{
			name: "conftest plan example",
			opts: Options{Paths: []string{"testdata/conftest/examples/hcl1/policy/base.rego"}},
			root: Root{Dir: "testdata/conftest/examples/hcl1", Rel: "examples/hcl1"},
			plan: "testdata/conftest/examples/hcl1/gke-show.json",
			want: []where{
				{"deny", "prohibited resources", "", 0, ""},
			},
		},
		{
			name: "UTF-16 plan",
			opts: Options{Paths: []string{"testdata/policies/changes"}, Namespaces: []string{"changes"}},
			root: Root{Dir: "testdata/checkov", Rel: "checkov"},
			plan: "testdata/checkov/EDGE_utf16_encoded.tfplan.json",
			want: []where{
				{"warn", "aws_s3_bucket.s3-bucket changes", "", 0, "aws_s3_bucket.s3-bucket"},
				{"warn", "null_resource.name changes", "", 0, "null_resource.name"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compile(t, tt.opts).CheckPlan(context.Background(), tt.root, readFile(t, tt.plan))
			if err != nil {
				t.Fatal(err)
			}
			assertLocations(t, got, tt.want)
		})
	}
	t.Run("azure avm", func(t *testing.T) {
		e := compile(t, Options{Paths: []string{avmPolicy}, AllNamespaces: true})
		got, err := e.CheckPlan(context.Background(), Root{Dir: "testdata/repo/envs/aks", Rel: "envs/aks"}, avmMock(t, avmMocks, "invalid_disabled"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 9 {
			t.Fatalf("got %d findings, want 9", len(got))
		}
		for _, f := range got {
			if f.File != "envs/aks/main.tf" || f.Line != 3 || f.Address != "azapi_resource.res" {
				t.Errorf("%s at %s:%d (address %q), want envs/aks/main.tf:3 azapi_resource.res", f.Rule, f.File, f.Line, f.Address)
			}
		}
	})
}

// writeFiles writes files (slash-separated names) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A plan's resources may come from several instances of one module: they
// share a block, so naming them without the module still locates them.
func TestPlanLocationsThroughModuleInstances(t *testing.T) {
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{
		"live/main.tf":  "module \"a\" {\n  source = \"../mod\"\n}\n\nmodule \"b\" {\n  source = \"../mod\"\n}\n",
		"mod/main.tf":   "\n\nresource \"aws_sqs_queue\" \"q\" {}\n",
		"policy/p.rego": "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome rc in input.resource_changes\n\tmsg := sprintf(\"%s.%s is not encrypted\", [rc.type, rc.name])\n}\n",
	})
	plan := `{"resource_changes": [
		{"address": "module.a.aws_sqs_queue.q", "mode": "managed", "type": "aws_sqs_queue", "name": "q"},
		{"address": "module.b.aws_sqs_queue.q", "mode": "managed", "type": "aws_sqs_queue", "name": "q"}
	]}`
	e := compile(t, Options{Paths: []string{filepath.Join(repo, "policy")}})
	got, err := e.CheckPlan(context.Background(), Root{Dir: filepath.Join(repo, "live"), Rel: "live"}, []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1 (the two messages are the same)", len(got))
	}
	if f := got[0]; f.File != "mod/main.tf" || f.Line != 3 || f.Address != "" {
		t.Errorf("finding at %s:%d (address %q), want mod/main.tf:3 and no single address", f.File, f.Line, f.Address)
	}
}

// Findings never point outside the repository: a module there is annotated
// at its call, a _loc there is ignored.
func TestLocationsStayInTheRepository(t *testing.T) {
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{
		"live/main.tf":    "# shared\nmodule \"shared\" {\n  source = \"../../outside\"\n}\n",
		"outside/main.tf": "resource \"aws_sqs_queue\" \"q\" {}\n",
		"policy/p.rego": `package main

import rego.v1

deny contains msg if {
	some rc in input.resource_changes
	msg := sprintf("%s is not encrypted", [rc.address])
}

deny_loc contains {"msg": "module shared is shared", "_loc": {"file": "../../../etc/passwd", "line": 3}} if {
	input.module
}
`,
	})
	e := compile(t, Options{Paths: []string{filepath.Join(repo, "policy")}})
	root := Root{Dir: filepath.Join(repo, "live"), Rel: "live"}
	plan := `{"resource_changes": [{"address": "module.shared.aws_sqs_queue.q", "mode": "managed", "type": "aws_sqs_queue", "name": "q"}]}`
	got, err := e.CheckPlan(context.Background(), root, []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	assertLocations(t, got, []where{{"deny", "is not encrypted", "live/main.tf", 2, "module.shared.aws_sqs_queue.q"}})
	got, err = e.CheckHCL(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	assertLocations(t, got, []where{{"deny_loc", "module shared is shared", "live/main.tf", 2, "module.shared"}})
}
