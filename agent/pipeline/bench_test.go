package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// benchResources is the size of the plan the benchmark reads.
const benchResources = 10000

// BenchmarkSavedPlanToResults measures what a user waits for once terraform
// has planned: from the saved plan file to both check runs' outputs and the
// results of the policies on the plan (show -json through terraform-exec,
// one decode, the render model, the policies, the rendering), against
// `terraform show -json` alone on the same plan, which any consumer of the
// plan must run. The two alternate in each iteration, so load on the machine
// weighs on both alike; x-show-json is the ratio of their times. The plan is
// of 10,000 terraform_data instances, planned by the real terraform once per
// run (a minute or two):
//
//	go test -run '^$' -bench SavedPlanToResults -benchtime 5x ./agent/pipeline/
func BenchmarkSavedPlanToResults(b *testing.B) {
	ctx := context.Background()
	dir, planFile := savedPlan(b, benchResources)
	engine, err := policy.Compile(ctx, policy.Options{Paths: []string{filepath.Join("testdata", "policy")}})
	if err != nil {
		b.Fatal(err)
	}
	tfBin := testkit.TerraformBinary(b)
	cli, err := terraform.New(dir, terraform.Options{Binary: tfBin, Environ: os.Environ()})
	if err != nil {
		b.Fatal(err)
	}
	// The secret scanner compiles its rules on first use, once per process.
	checks.Redact("warm up")
	var show, read, pol, render time.Duration
	for b.Loop() {
		t0 := time.Now()
		showJSON(b, tfBin, dir, planFile)
		t1 := time.Now()
		r := &rootRun{repoDir: dir, dir: dir, root: Root{Dir: "."}, opts: Options{Policy: engine}, cli: cli}
		r.result = checks.RootResult{Dir: "."}
		r.record(checks.StepPlan, r.readPlan(ctx, planFile), 0)
		t2 := time.Now()
		r.record(checks.StepPolicyPlan, r.policyPlan(ctx), 0)
		t3 := time.Now()
		rep := checks.Report{Roots: []checks.RootResult{r.result}}
		plan, pc := checks.PlanCheck(rep), checks.PolicyCheck(rep)
		t4 := time.Now()
		if plan.Conclusion != checks.ConclusionSuccess || len(pc.Annotations) == 0 {
			b.Fatalf("plan check %s %q, policy check %d annotations: not the expected results", plan.Conclusion, plan.Title, len(pc.Annotations))
		}
		show += t1.Sub(t0)
		read += t2.Sub(t1)
		pol += t3.Sub(t2)
		render += t4.Sub(t3)
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(ms(show), "show-json-ms")
	b.ReportMetric(ms(read+pol+render), "to-results-ms")
	b.ReportMetric(ms(read), "show-decode-ms")
	b.ReportMetric(ms(pol), "policy-ms")
	b.ReportMetric(ms(render), "render-ms")
	b.ReportMetric(float64(read+pol+render)/float64(show), "x-show-json")
}

// savedPlan writes a root of about n terraform_data instances with every
// kind of change (testkit.WriteTerraformRoot), plans it with the real
// terraform and returns the directory and the saved plan file.
func savedPlan(tb testing.TB, n int) (dir, planFile string) {
	tb.Helper()
	dir = tb.TempDir()
	testkit.WriteTerraformRoot(tb, dir, n)
	bin := testkit.TerraformBinary(tb)
	for _, args := range [][]string{
		{"init", "-input=false", "-no-color"},
		{"plan", "-input=false", "-no-color", "-refresh=false", "-lock=false", "-out=tfplan"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dir, filepath.Join(dir, "tfplan")
}

// showJSON runs `terraform show -json PLANFILE` as a user would, keeping
// the output in memory.
func showJSON(tb testing.TB, bin, dir, planFile string) {
	tb.Helper()
	cmd := exec.Command(bin, "show", "-json", planFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil || out.Len() == 0 {
		tb.Fatalf("terraform show -json: %v", err)
	}
}
