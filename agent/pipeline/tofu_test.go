package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// TestRunOpenTofu runs the pipeline with the real OpenTofu binary on the
// same roots as TestRun and TestRunWithPolicy, and expects what terraform
// gives: the same steps, plan counts and policy findings.
func TestRunOpenTofu(t *testing.T) {
	ctx := context.Background()
	repo := testRepo(t)
	roots, err := DiscoverRoots(repo, config.TerraformConfig{Roots: config.Roots{Auto: true},
		RootSettings: map[string]config.RootSettings{
			"envs/prod":   {VarFiles: []string{"envs/prod/prod.tfvars"}},
			"envs/staged": {Workspace: "staging"},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.Compile(ctx, policy.Options{Paths: []string{filepath.Join("testdata", "policy")}})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	rep, err := Run(ctx, repo, roots, Options{
		Terraform: terraform.Options{Binary: testkit.TofuBinary(t), Environ: env},
		Policy:    engine,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Versions["tofu"] == "" {
		t.Errorf("versions = %v, want tofu's", rep.Versions)
	}
	const planned = "fmt:ok init:ok validate:ok policy-hcl:ok plan:ok "
	tests := []struct {
		dir, statuses string
		counts        checks.PlanCounts
		findings      int
	}{
		{"envs/dev", planned + "policy-plan:ok", checks.PlanCounts{Create: 2}, 2},
		{"envs/prod", "fmt:ok init:ok validate:ok policy-hcl:failed plan:ok policy-plan:ok", checks.PlanCounts{Create: 3}, 3},
		{"envs/changes", planned + "policy-plan:failed", checks.PlanCounts{Create: 2, Update: 1, Replace: 1, Delete: 1, Moved: 1}, 2},
		{"envs/staged", planned + "policy-plan:ok", checks.PlanCounts{Update: 1}, 0},
		{"envs/ugly", "fmt:failed init:ok validate:ok policy-hcl:ok plan:ok policy-plan:ok", checks.PlanCounts{Create: 1}, 1},
		{"envs/broken", "fmt:ok init:ok validate:error policy-hcl:ok plan:skipped policy-plan:skipped", checks.PlanCounts{}, 1},
		{"envs/legacy", "fmt:failed init:error validate:skipped policy-hcl:failed plan:skipped policy-plan:skipped", checks.PlanCounts{}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			r := rootOf(t, rep, tt.dir)
			if got := statuses(r); got != tt.statuses {
				t.Errorf("steps = %s\nwant    %s\n%+v", got, tt.statuses, r.Steps)
			}
			if r.Plan != nil {
				got := r.Plan.Counts
				got.NoOp = 0
				if got != tt.counts {
					t.Errorf("counts %+v, want %+v", got, tt.counts)
				}
			}
			if len(r.Findings) != tt.findings {
				t.Errorf("%d findings, want %d: %+v", len(r.Findings), tt.findings, r.Findings)
			}
		})
	}
}
