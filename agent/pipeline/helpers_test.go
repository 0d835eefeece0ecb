package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// testRepo copies testdata/repo into a temporary directory and puts the
// hand-written states where terraform reads them.
func testRepo(t *testing.T) string {
	t.Helper()
	src := filepath.Join("testdata", "repo")
	dst := t.TempDir()
	testkit.CopyTree(t, src, dst)
	moves := map[string]string{
		"envs/changes/state.json":        "envs/changes/terraform.tfstate",
		"envs/staged/staging.state.json": "envs/staged/terraform.tfstate.d/staging/terraform.tfstate",
	}
	for from, to := range moves {
		to = filepath.Join(dst, filepath.FromSlash(to))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dst, filepath.FromSlash(from)), to); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// tfOptions runs the real terraform with a small, private environment.
func tfOptions(t *testing.T) terraform.Options {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if v, ok := os.LookupEnv("TF_CLI_CONFIG_FILE"); ok {
		env = append(env, "TF_CLI_CONFIG_FILE="+v)
	}
	return terraform.Options{Binary: testkit.TerraformBinary(t), Environ: env}
}

func stepOf(t *testing.T, r checks.RootResult, name checks.StepName) checks.Step {
	t.Helper()
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("root %s has no %s step: %+v", r.Dir, name, r.Steps)
	return checks.Step{}
}

func rootOf(t *testing.T, rep checks.Report, dir string) checks.RootResult {
	t.Helper()
	for _, r := range rep.Roots {
		if r.Dir == dir {
			return r
		}
	}
	t.Fatalf("report has no root %s", dir)
	return checks.RootResult{}
}

// statuses lists a root's step statuses in order, e.g. "fmt:ok init:ok ...".
func statuses(r checks.RootResult) string {
	var s string
	for i, st := range r.Steps {
		if i > 0 {
			s += " "
		}
		s += string(st.Name) + ":" + string(st.Status)
	}
	return s
}
