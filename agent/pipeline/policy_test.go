package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/checks"
)

// TestRunWithPolicy runs the pipeline with one compiled policy engine over
// three roots: failures on the HCL and on the plan, warnings on the plan,
// each at the file and line of the block it is about.
func TestRunWithPolicy(t *testing.T) {
	ctx := context.Background()
	engine, err := policy.Compile(ctx, policy.Options{Paths: []string{filepath.Join("testdata", "policy")}})
	if err != nil {
		t.Fatalf("compiling policies: %v", err)
	}
	repo := testRepo(t)
	roots := []Root{{Dir: "envs/dev"}, {Dir: "envs/prod"}, {Dir: "envs/changes"}, {Dir: "envs/broken"}, {Dir: "envs/legacy"}}
	rep, err := Run(ctx, repo, roots, Options{Terraform: tfOptions(t), Policy: engine, Concurrency: 3})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, k := range []string{"terraform", "conftest", "opa"} {
		if rep.Versions[k] == "" {
			t.Errorf("versions %v lack %s", rep.Versions, k)
		}
	}
	tests := []struct {
		dir      string
		statuses string
		findings []string
	}{
		{
			dir:      "envs/dev",
			statuses: "fmt:ok init:ok validate:ok policy-hcl:ok plan:ok policy-plan:ok",
			findings: []string{
				"warning modules/app/main.tf:15 module.app.terraform_data.app is created by a module",
				"warning modules/label/main.tf:5 module.app.module.label.terraform_data.label is created by a module",
			},
		},
		{
			dir:      "envs/prod",
			statuses: "fmt:ok init:ok validate:ok policy-hcl:failed plan:ok policy-plan:ok",
			findings: []string{
				"failure envs/prod/main.tf:6 module.app must set tags",
				"warning modules/app/main.tf:15 module.app.terraform_data.app is created by a module",
				"warning modules/label/main.tf:5 module.app.module.label.terraform_data.label is created by a module",
			},
		},
		{
			dir:      "envs/changes",
			statuses: "fmt:ok init:ok validate:ok policy-hcl:ok plan:ok policy-plan:failed",
			findings: []string{
				"failure :0 terraform_data.deleted would be destroyed",
				"failure envs/changes/main.tf:18 terraform_data.replaced would be destroyed",
			},
		},
		{
			// The HCL policies run whatever validate says.
			dir:      "envs/broken",
			statuses: "fmt:ok init:ok validate:error policy-hcl:ok plan:skipped policy-plan:skipped",
			findings: []string{"failure envs/broken/main.tf:2 Reference to undeclared input variable"},
		},
		{
			// ... and whatever init says: it refuses 0.11 syntax (which
			// terraform fmt rewrites).
			dir:      "envs/legacy",
			statuses: "fmt:failed init:error validate:skipped policy-hcl:failed plan:skipped policy-plan:skipped",
			findings: []string{
				"failure envs/legacy/main.tf:4 not formatted",
				"failure envs/legacy/main.tf:4 Invalid quoted type constraints",
				"failure envs/legacy/main.tf:8 module.app must set tags",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			r := rootOf(t, rep, tt.dir)
			if got := statuses(r); got != tt.statuses {
				t.Errorf("steps = %s\nwant    %s", got, tt.statuses)
			}
			var got []string
			for _, f := range r.Findings {
				msg, _, _ := strings.Cut(f.Message, ":")
				if f.Source == "policy" {
					msg = f.Message
				}
				got = append(got, fmt.Sprintf("%s %s:%d %s", f.Severity, f.File, f.Line, msg))
				if f.Root != tt.dir {
					t.Errorf("finding %q has root %q", f.Message, f.Root)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.findings, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.findings, "\n"))
			}
		})
	}
	legacy := rootOf(t, rep, "envs/legacy")
	for _, f := range legacy.Findings {
		if f.Source == "validate" {
			t.Errorf("init's diagnostic is tagged validate: %+v", f)
		}
	}
	if d := stepOf(t, legacy, checks.StepInit).Detail; d != "terraform init failed: 1 error (listed with the findings)" {
		t.Errorf("init detail = %q: it should count the errors the findings list, not repeat them", d)
	}
	if d := stepOf(t, legacy, checks.StepPlan).Detail; d != "not run: init did not complete" {
		t.Errorf("plan detail = %q", d)
	}
	if d := stepOf(t, rootOf(t, rep, "envs/prod"), checks.StepPolicyPlan).Detail; d != "2 warnings" {
		t.Errorf("policy-plan detail = %q, want 2 warnings", d)
	}
}
