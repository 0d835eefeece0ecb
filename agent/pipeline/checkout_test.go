package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/checks"
)

// TestRunKeepsLockFiles: terraform init writes .terraform.lock.hcl into the
// root itself, whatever TF_DATA_DIR says. A run must leave the checkout as it
// found it: no lock file where there was none, an existing one unchanged.
// The provider comes from a local filesystem mirror (no network); it is a
// stub that cannot start, which init does not notice and validate does.
func TestRunKeepsLockFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stub provider is a shell script")
	}
	mirror := t.TempDir()
	plugin := filepath.Join(mirror, "registry.terraform.io", "hashicorp", "null", "3.2.0",
		runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-null_v3.2.0")
	if err := os.MkdirAll(filepath.Dir(plugin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(t.TempDir(), "terraformrc")
	rc := "provider_installation {\n  filesystem_mirror {\n    path = \"" + filepath.ToSlash(mirror) + "\"\n  }\n}\n"
	if err := os.WriteFile(cliConfig, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}

	const config = "terraform {\n  required_providers {\n    null = {\n      source  = \"hashicorp/null\"\n      version = \"3.2.0\"\n    }\n  }\n}\n"
	const staleLock = "provider \"registry.terraform.io/hashicorp/random\" {\n  version = \"3.6.0\"\n}\n"
	repo := writeTree(t, map[string]string{
		"fresh/main.tf":              config,
		"locked/main.tf":             config,
		"locked/.terraform.lock.hcl": staleLock,
	})
	opts := tfOptions(t)
	opts.Environ = append(opts.Environ[:len(opts.Environ):len(opts.Environ)], "TF_CLI_CONFIG_FILE="+cliConfig)
	rep, err := Run(context.Background(), repo, []Root{{Dir: "fresh"}, {Dir: "locked"}}, Options{Terraform: opts, NoPlan: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	tests := []struct {
		dir      string
		wantLock string // "" for no lock file
	}{
		{dir: "fresh"},
		{dir: "locked", wantLock: staleLock},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			if s := stepOf(t, rootOf(t, rep, tt.dir), checks.StepInit); s.Status != checks.StepOK {
				t.Fatalf("init = %s (%s), want ok: the test needs init to install the provider", s.Status, s.Detail)
			}
			got, err := os.ReadFile(filepath.Join(repo, tt.dir, lockFileName))
			switch {
			case tt.wantLock == "" && err == nil:
				t.Errorf("the run left a lock file in the checkout:\n%s", got)
			case tt.wantLock == "" && !os.IsNotExist(err):
				t.Errorf("reading the lock file: %v", err)
			case tt.wantLock != "" && string(got) != tt.wantLock:
				t.Errorf("lock file = %q (%v), want it unchanged: %q", got, err, tt.wantLock)
			}
		})
	}
}

// TestPolicyMessagesMaskSensitiveValues: `terraform show -json` writes
// sensitive values in clear text next to their markers; a policy that quotes
// its input must not carry them into a finding. The real plan of
// envs/changes holds a sensitive variable that does not look like a secret.
func TestPolicyMessagesMaskSensitiveValues(t *testing.T) {
	const secret = "hunter2-not-a-real-password"
	policyDir := t.TempDir()
	rego := `package main

import rego.v1

warn contains sprintf("variable %s is %v", [name, v.value]) if {
	some name, v in input.variables
}

warn contains sprintf("%s will hold %v", [rc.address, rc.change.after]) if {
	some rc in input.resource_changes
	rc.address == "terraform_data.secret"
}

warn contains sprintf("planned %v", [r.values]) if {
	some r in input.planned_values.root_module.resources
	r.address == "terraform_data.secret"
}
`
	if err := os.WriteFile(filepath.Join(policyDir, "echo.rego"), []byte(rego), 0o644); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.Compile(context.Background(), policy.Options{Paths: []string{policyDir}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), testRepo(t), []Root{{Dir: "envs/changes"}}, Options{Terraform: tfOptions(t), Policy: engine})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := rootOf(t, rep, "envs/changes")
	if s := stepOf(t, r, checks.StepPolicyPlan); s.Status != checks.StepOK {
		t.Fatalf("policy-plan = %s (%s), want ok", s.Status, s.Detail)
	}
	var plans int
	for _, f := range r.Findings {
		if strings.Contains(f.Message, secret) {
			t.Errorf("finding shows a sensitive value: %q", f.Message)
		}
		if strings.Contains(f.Message, "(sensitive value)") {
			plans++
		}
	}
	if plans != 3 {
		t.Errorf("%d findings mask the value, want 3: %+v", plans, r.Findings)
	}
}
