package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
)

// TestRun runs the real terraform over every root of testdata/repo: creates
// through a local module chain, a var file, a workspace, updates, deletes,
// replaces, moves and sensitive values from a hand-written state, an invalid
// root and an unformatted file.
func TestRun(t *testing.T) {
	repo := testRepo(t)
	cfg := config.TerraformConfig{
		Roots: config.Roots{Auto: true},
		RootSettings: map[string]config.RootSettings{
			"envs/prod":   {VarFiles: []string{"envs/prod/prod.tfvars"}},
			"envs/staged": {Workspace: "staging"},
		},
	}
	roots, err := DiscoverRoots(repo, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"envs/broken", "envs/changes", "envs/dev", "envs/legacy", "envs/prod", "envs/staged", "envs/ugly"}
	if got := rootDirs(roots); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("roots = %v, want %v", got, want)
	}

	var mu sync.Mutex
	progress := map[string]int{}
	rep, err := Run(context.Background(), repo, roots, Options{
		Terraform: tfOptions(t),
		Progress: func(root string, step checks.StepName, status checks.StepStatus) {
			mu.Lock()
			defer mu.Unlock()
			progress[root+" "+string(step)]++
		},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Versions["terraform"] == "" {
		t.Errorf("versions = %v, want the terraform version", rep.Versions)
	}
	if len(progress) != 6*len(roots) {
		t.Errorf("progress saw %d root steps, want %d: %v", len(progress), 6*len(roots), progress)
	}

	const clean = "fmt:ok init:ok validate:ok policy-hcl:skipped plan:ok policy-plan:skipped"
	tests := []struct {
		dir      string
		statuses string
		counts   checks.PlanCounts
		noPlan   bool
	}{
		{dir: "envs/dev", statuses: clean, counts: checks.PlanCounts{Create: 2}},
		{dir: "envs/prod", statuses: clean, counts: checks.PlanCounts{Create: 3}},
		{dir: "envs/changes", statuses: clean, counts: checks.PlanCounts{Create: 2, Update: 1, Replace: 1, Delete: 1, Moved: 1}},
		{dir: "envs/staged", statuses: clean, counts: checks.PlanCounts{Update: 1}},
		{dir: "envs/ugly", statuses: "fmt:failed init:ok validate:ok policy-hcl:skipped plan:ok policy-plan:skipped", counts: checks.PlanCounts{Create: 1}},
		{dir: "envs/broken", statuses: "fmt:ok init:ok validate:error policy-hcl:skipped plan:skipped policy-plan:skipped", noPlan: true},
		{dir: "envs/legacy", statuses: "fmt:failed init:error validate:skipped policy-hcl:skipped plan:skipped policy-plan:skipped", noPlan: true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			r := rootOf(t, rep, tt.dir)
			if got := statuses(r); got != tt.statuses {
				t.Errorf("steps = %s\nwant    %s\n%+v", got, tt.statuses, r.Steps)
			}
			if tt.noPlan {
				if r.Plan != nil {
					t.Errorf("plan = %+v, want none", r.Plan)
				}
				return
			}
			if r.Plan == nil {
				t.Fatalf("no plan: %+v", r.Steps)
			}
			got := r.Plan.Counts
			got.NoOp = 0
			if got != tt.counts {
				t.Errorf("plan counts = %+v, want %+v", got, tt.counts)
			}
			for _, s := range r.Steps {
				if s.Status != checks.StepSkipped && s.Duration <= 0 {
					t.Errorf("step %s has no duration", s.Name)
				}
			}
		})
	}

	t.Run("var file", func(t *testing.T) {
		assertAttribute(t, rootOf(t, rep, "envs/prod").Plan, "terraform_data.scale", "input", "3")
	})
	t.Run("sensitive value", func(t *testing.T) {
		r := rootOf(t, rep, "envs/changes")
		assertAttribute(t, r.Plan, "terraform_data.secret", "input", "(sensitive value)")
		one := checks.Report{Roots: []checks.RootResult{r}}
		js, err := checks.RenderJSON(one)
		if err != nil {
			t.Fatal(err)
		}
		attrs := ""
		for _, c := range r.Plan.Changes {
			a, _ := c.Attributes()
			attrs += fmt.Sprint(a)
		}
		all := string(js) + checks.RenderText(one, false) + checks.RenderMarkdown(one) + stepDetails(r) + attrs
		if !strings.Contains(all, "terraform_data.secret") || strings.Contains(all, "hunter2") {
			t.Error("the sensitive value appears in the result, or the result lacks the resource")
		}
	})
	t.Run("decoded plan", func(t *testing.T) {
		// The agent compares plans from the report: the decoded document is
		// there, as terraform wrote it.
		doc := rootOf(t, rep, "envs/changes").Plan.Document()
		rcs, _ := doc["resource_changes"].([]any)
		if len(rcs) == 0 || doc["terraform_version"] != rep.Versions["terraform"] {
			t.Errorf("plan document has %d resource changes, terraform_version %v", len(rcs), doc["terraform_version"])
		}
	})
	t.Run("plan detail", func(t *testing.T) {
		got := stepOf(t, rootOf(t, rep, "envs/changes"), checks.StepPlan).Detail
		if got != "2 to create, 1 to update, 1 to delete, 1 to replace, 1 moved" {
			t.Errorf("plan detail = %q", got)
		}
	})
	t.Run("validation findings", func(t *testing.T) {
		r := rootOf(t, rep, "envs/broken")
		want := checks.Finding{
			Severity: checks.SeverityFailure, File: "envs/broken/main.tf", Line: 2,
			Source: "validate", Root: "envs/broken",
		}
		if len(r.Findings) != 1 {
			t.Fatalf("findings = %+v, want one", r.Findings)
		}
		f := r.Findings[0]
		if !strings.HasPrefix(f.Message, "Reference to undeclared input variable: ") {
			t.Errorf("message = %q", f.Message)
		}
		f.Message = ""
		if !reflect.DeepEqual(f, want) {
			t.Errorf("finding = %+v, want %+v", f, want)
		}
		if d := stepOf(t, r, checks.StepValidate).Detail; d != "invalid configuration: 1 error" {
			t.Errorf("validate detail = %q", d)
		}
	})
	t.Run("fmt findings", func(t *testing.T) {
		r := rootOf(t, rep, "envs/ugly")
		want := []checks.Finding{{
			Severity: checks.SeverityFailure, Message: "not formatted: run terraform fmt",
			File: "envs/ugly/main.tf", Line: 2, Source: "fmt", Root: "envs/ugly",
		}}
		if !reflect.DeepEqual(r.Findings, want) {
			t.Errorf("findings = %+v, want %+v", r.Findings, want)
		}
	})
	t.Run("checkout untouched", func(t *testing.T) {
		err := filepath.WalkDir(repo, func(p string, d os.DirEntry, err error) error {
			if err == nil && (d.Name() == ".terraform" || strings.HasSuffix(d.Name(), ".tfplan")) {
				t.Errorf("the run left %s in the checkout", p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	if !Failed(rep) {
		t.Error("Failed(report) = false for a report with an invalid root")
	}
}

func TestRunNoPlan(t *testing.T) {
	repo := testRepo(t)
	roots := []Root{{Dir: "envs/dev"}, {Dir: "envs/broken"}, {Dir: "envs/staged", Workspace: "staging"}}
	rep, err := Run(context.Background(), repo, roots, Options{Terraform: tfOptions(t), NoPlan: true, Concurrency: 1})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	tests := map[string]string{
		"envs/dev":    "fmt:ok init:ok validate:ok policy-hcl:skipped plan:skipped policy-plan:skipped",
		"envs/staged": "fmt:ok init:ok validate:ok policy-hcl:skipped plan:skipped policy-plan:skipped",
		"envs/broken": "fmt:ok init:ok validate:error policy-hcl:skipped plan:skipped policy-plan:skipped",
	}
	for dir, want := range tests {
		t.Run(dir, func(t *testing.T) {
			r := rootOf(t, rep, dir)
			if got := statuses(r); got != want {
				t.Errorf("steps = %s, want %s", got, want)
			}
			if r.Plan != nil {
				t.Error("a plan ran with NoPlan")
			}
			if d := stepOf(t, r, checks.StepInit).Detail; !strings.Contains(d, "-backend=false") {
				t.Errorf("init detail = %q, want it to say -backend=false", d)
			}
			if d := stepOf(t, r, checks.StepPlan).Detail; !strings.Contains(d, "planning is off") && r.Dir != "envs/broken" {
				t.Errorf("plan detail = %q", d)
			}
		})
	}
	if Failed(checks.Report{Roots: []checks.RootResult{rootOf(t, rep, "envs/dev")}}) {
		t.Error("Failed = true for a clean root")
	}
}

func TestRunRootErrors(t *testing.T) {
	repo := testRepo(t)
	roots := []Root{
		{Dir: "envs/dev", Workspace: "missing"},
		{Dir: "envs/prod", VarFiles: []string{"envs/prod/nope.tfvars"}},
		{Dir: "envs/gone"},
	}
	rep, err := Run(context.Background(), repo, roots, Options{Terraform: tfOptions(t)})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	tests := []struct {
		dir, statuses string
		step          checks.StepName
		detail        string
	}{
		{"envs/dev", "fmt:ok init:error validate:skipped policy-hcl:skipped plan:skipped policy-plan:skipped", checks.StepInit, "terraform workspace select: "},
		{"envs/prod", "fmt:ok init:ok validate:ok policy-hcl:skipped plan:error policy-plan:skipped", checks.StepPlan, "var file envs/prod/nope.tfvars (terraform.root_settings) does not exist"},
		{"envs/gone", "fmt:error init:skipped validate:skipped policy-hcl:skipped plan:skipped policy-plan:skipped", checks.StepFmt, "root envs/gone is not a directory in the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			r := rootOf(t, rep, tt.dir)
			if got := statuses(r); got != tt.statuses {
				t.Errorf("steps = %s\nwant    %s", got, tt.statuses)
			}
			d := stepOf(t, r, tt.step).Detail
			if !strings.HasPrefix(d, tt.detail) {
				t.Errorf("%s detail = %q, want it to start with %q", tt.step, d, tt.detail)
			}
			if strings.Contains(d, repo) || strings.Contains(d, os.TempDir()) {
				t.Errorf("detail names a machine path: %q", d)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	repo := testRepo(t)
	t.Run("no terraform", func(t *testing.T) {
		opts := tfOptions(t)
		opts.Binary = "no-such-terraform"
		_, err := Run(context.Background(), repo, []Root{{Dir: "envs/dev"}}, Options{Terraform: opts})
		if err == nil || !strings.Contains(err.Error(), "no-such-terraform") {
			t.Errorf("Run = %v, want an error naming the binary", err)
		}
	})
	t.Run("no repository", func(t *testing.T) {
		_, err := Run(context.Background(), filepath.Join(repo, "nope"), nil, Options{Terraform: tfOptions(t)})
		if err == nil {
			t.Error("Run on a missing directory succeeded")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		opts := Options{Terraform: tfOptions(t)}
		opts.Progress = func(string, checks.StepName, checks.StepStatus) { cancel() }
		rep, err := Run(ctx, repo, []Root{{Dir: "envs/dev"}}, opts)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
		if got := statuses(rep.Roots[0]); !strings.HasPrefix(got, "fmt:ok init:skipped") {
			t.Errorf("steps after cancel = %s", got)
		}
	})
}

func assertAttribute(t *testing.T, p *checks.Plan, address, attr, after string) {
	t.Helper()
	if p == nil {
		t.Fatal("no plan")
	}
	for _, c := range p.Changes {
		if c.Address != address {
			continue
		}
		attrs, _ := c.Attributes()
		for _, a := range attrs {
			if a.Path == attr {
				if a.After != after {
					t.Errorf("%s.%s = %s, want %s", address, attr, a.After, after)
				}
				return
			}
		}
		t.Fatalf("%s has no attribute %s: %+v", address, attr, attrs)
	}
	t.Fatalf("plan has no change for %s", address)
}

func stepDetails(r checks.RootResult) string {
	var b strings.Builder
	for _, s := range r.Steps {
		b.WriteString(s.Detail + "\n")
	}
	for _, f := range r.Findings {
		b.WriteString(f.Message + "\n")
	}
	return b.String()
}

// TestRunStatic checks what a fork pull request gets: terraform is asked
// for fmt only (and its version) — no init, so no provider plugin runs.
func TestRunStatic(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake terraform is a shell script")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "terraform")
	script := `#!/bin/sh
echo "$1" >> "$(dirname "$0")/calls.txt"
if [ "$1" = version ]; then
  echo '{"terraform_version":"1.5.7","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}'
fi
exit 0
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.Compile(context.Background(), policy.Options{Paths: []string{filepath.Join("testdata", "policy")}})
	if err != nil {
		t.Fatal(err)
	}
	repo := testRepo(t)
	opts := Options{Terraform: terraform.Options{Binary: bin, Environ: []string{"PATH=" + os.Getenv("PATH")}}, Policy: engine, Static: true}
	rep, err := Run(context.Background(), repo, []Root{{Dir: "envs/prod"}, {Dir: "envs/dev"}}, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	tests := map[string]string{
		"envs/prod": "fmt:ok init:skipped validate:skipped policy-hcl:failed plan:skipped policy-plan:skipped",
		"envs/dev":  "fmt:ok init:skipped validate:skipped policy-hcl:ok plan:skipped policy-plan:skipped",
	}
	for dir, want := range tests {
		if got := statuses(rootOf(t, rep, dir)); got != want {
			t.Errorf("%s steps = %s, want %s", dir, got, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "calls.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range strings.Fields(string(b)) {
		if call != "version" && call != "fmt" {
			t.Errorf("static run called terraform %s", call)
		}
	}
	if d := stepOf(t, rootOf(t, rep, "envs/dev"), checks.StepInit).Detail; !strings.Contains(d, "static checks only") {
		t.Errorf("init detail = %q", d)
	}
}
