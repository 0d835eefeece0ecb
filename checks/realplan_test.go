package checks

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// runTerraform runs terraform in dir and returns its standard output.
func runTerraform(tb testing.TB, dir string, args ...string) []byte {
	tb.Helper()
	cmd := exec.Command(testkit.TerraformBinary(tb), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// savedPlan writes a root of about n terraform_data instances (see
// testkit.WriteTerraformRoot), plans it offline into dir/tfplan and returns the plan
// file and its `terraform show -json`.
func savedPlan(tb testing.TB, dir string, n int) (planFile string, planJSON []byte) {
	tb.Helper()
	testkit.WriteTerraformRoot(tb, dir, n)
	runTerraform(tb, dir, "init", "-input=false", "-no-color")
	runTerraform(tb, dir, "plan", "-input=false", "-no-color", "-refresh=false", "-lock=false", "-out=tfplan")
	planFile = filepath.Join(dir, "tfplan")
	return planFile, runTerraform(tb, dir, "show", "-json", planFile)
}

// TestRealTerraformPlan renders a plan made by the real terraform from a
// configuration and state with every kind of change, and checks it against a
// golden file, the counts terraform itself reports, and the planted secrets.
func TestRealTerraformPlan(t *testing.T) {
	dir := t.TempDir()
	planFile, planJSON := savedPlan(t, dir, 40)
	p, err := ParsePlan(planJSON)
	if err != nil {
		t.Fatal(err)
	}
	want := PlanCounts{Create: 22, Update: 11, Delete: 3, Replace: 3, NoOp: 1, Moved: 1}
	if p.Counts != want {
		t.Errorf("counts %+v, want %+v", p.Counts, want)
	}
	// terraform counts a replace as one add and one destroy.
	human := string(runTerraform(t, dir, "show", "-no-color", planFile))
	if !strings.Contains(human, "Plan: 25 to add, 11 to change, 6 to destroy.") {
		t.Errorf("terraform show disagrees with the test's expectations:\n%s", human[max(0, len(human)-300):])
	}
	r := Report{
		Roots: []RootResult{{Dir: "envs/real", Steps: []Step{{Name: StepPlan, Status: StepOK}}, Plan: p}},
		// Not p.TerraformVersion: the golden file holds for any terraform
		// that plans the same.
		Versions: map[string]string{"terraform": "under test"},
	}
	out := PlanCheck(r)
	assertWithinLimits(t, out)
	got := describeOutput(out) + "\n--- terminal\n" + RenderText(r, false)
	for _, secret := range []string{"hunter2-not-for-display", "AKIAIOSFODNN7EXAMPLE", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"} {
		if !strings.Contains(string(planJSON), secret) {
			t.Errorf("the plan JSON should carry %q for this test to mean something", secret)
		}
		if strings.Contains(got, secret) {
			t.Errorf("rendered plan shows the secret %q", secret)
		}
	}
	golden(t, "golden/real_terraform_plan", got)
}
