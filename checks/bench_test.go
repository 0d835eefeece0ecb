package checks

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// renderChecks is what the runner does with a root's plan: parse the JSON and
// render both check runs.
func renderChecks(tb testing.TB, planJSON []byte) (CheckOutput, CheckOutput) {
	tb.Helper()
	p, err := ParsePlan(planJSON)
	if err != nil {
		tb.Fatal(err)
	}
	r := Report{Roots: []RootResult{{
		Dir:      "envs/prod",
		Steps:    []Step{{Name: StepFmt, Status: StepOK}, {Name: StepValidate, Status: StepOK}, {Name: StepPlan, Status: StepOK}, {Name: StepPolicyPlan, Status: StepFailed}},
		Plan:     p,
		Findings: benchFindings(120),
	}}}
	return PlanCheck(r), PolicyCheck(r)
}

func benchFindings(n int) []Finding {
	fs := make([]Finding, n)
	for i := range fs {
		fs[i] = Finding{Severity: SeverityFailure, Message: fmt.Sprintf("instance %d must not be public", i),
			File: "envs/prod/main.tf", Line: 1 + i, Source: "policy", Namespace: "main", Rule: "deny", Policy: "ec2.rego"}
		if i%3 == 0 {
			fs[i].Severity = SeverityWarning
		}
	}
	return fs
}

// peakHeap runs f while sampling the heap (live and not yet swept objects)
// every half millisecond, and returns the highest sample in bytes. Sampling
// can miss a short spike between samples; the B/op figure bounds the rest.
func peakHeap(f func()) float64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	return float64(peak)
}

// BenchmarkRenderPlan10k renders a generated plan of 10,000 resource changes
// (about 10 MB of JSON) into both check runs' outputs.
func BenchmarkRenderPlan10k(b *testing.B) {
	data := testkit.GeneratePlanJSON(b, testkit.PlanSpec{Resources: 10000, Deletes: 5, Replaces: 5})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	runtime.GC()
	peak := peakHeap(func() {
		for b.Loop() {
			renderChecks(b, data)
		}
	})
	b.ReportMetric(peak/1e6, "peak-heap-MB")
}

// BenchmarkVersusTerraformShow compares, on one saved plan of 10,000
// terraform_data instances planned by the real terraform, `terraform show
// -no-color` (terraform's human rendering) with ParsePlan of `terraform show
// -json` plus PlanCheck and PolicyCheck. It is a partial figure: the JSON is
// already in memory, no policy runs, and the check runs render only what
// fits in GitHub's limits, not all 10,000 resources (what a user waits for
// is BenchmarkSavedPlanToResults in agent/pipeline). The two run alternately
// in each iteration, so load on the machine weighs on both alike; the
// metrics are per iteration, x-terraform-show is render time / terraform
// show time. Planning takes a minute or two, once per run.
func BenchmarkVersusTerraformShow(b *testing.B) {
	dir := b.TempDir()
	planFile, planJSON := savedPlan(b, dir, 10000)
	b.Logf("saved plan of %d bytes of JSON", len(planJSON))
	var show, render time.Duration
	var before, after runtime.MemStats
	var mallocs, bytes uint64
	var peak float64
	for b.Loop() {
		t0 := time.Now()
		runTerraform(b, dir, "show", "-no-color", planFile)
		t1 := time.Now()
		runtime.GC()
		runtime.ReadMemStats(&before)
		t2 := time.Now()
		peak = max(peak, peakHeap(func() { renderChecks(b, planJSON) }))
		t3 := time.Now()
		runtime.ReadMemStats(&after)
		show += t1.Sub(t0)
		render += t3.Sub(t2)
		mallocs += after.Mallocs - before.Mallocs
		bytes += after.TotalAlloc - before.TotalAlloc
	}
	n := float64(b.N)
	b.ReportMetric(float64(show.Milliseconds())/n, "terraform-show-ms")
	b.ReportMetric(float64(render.Milliseconds())/n, "render-ms")
	b.ReportMetric(render.Seconds()/show.Seconds(), "x-terraform-show")
	b.ReportMetric(float64(bytes)/n/1e6, "render-alloc-MB")
	b.ReportMetric(float64(mallocs)/n, "render-allocs")
	b.ReportMetric(peak/1e6, "peak-heap-MB")
}
