package redact_test

import (
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/checks/redact"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// BenchmarkRedactPlan10k measures what redaction costs on the generated
// 10,000-resource plan (about 10 MB of JSON): the full markdown report of
// every change (what `infra-agent check --format markdown` prints, the most
// text infra-agent renders from one plan) is redacted line by line, as
// rendering redacts it, once with infra-agent's own patterns alone ("own")
// and once with gitleaks' rules too ("with-gitleaks", what String does), in
// the same iteration. render-ms is the whole rendering of that report, for
// scale; it includes redaction.
//
//	go test -run '^$' -bench RedactPlan10k -benchtime 5x ./checks/redact/
func BenchmarkRedactPlan10k(b *testing.B) {
	data := testkit.GeneratePlanJSON(b, testkit.PlanSpec{Resources: 10000, Deletes: 5, Replaces: 5})
	p, err := checks.ParsePlan(data)
	if err != nil {
		b.Fatal(err)
	}
	report := checks.Report{Roots: []checks.RootResult{{Dir: "envs/prod", Steps: []checks.Step{{Name: checks.StepPlan, Status: checks.StepOK}}, Plan: p}}}
	redact.String("") // builds the scanner: once per process, measured by BenchmarkScannerBuild
	var render, own, all time.Duration
	var lines []string
	for b.Loop() {
		t0 := time.Now()
		text := checks.RenderMarkdown(report)
		t1 := time.Now()
		lines = strings.Split(text, "\n")
		t2 := time.Now()
		for _, l := range lines {
			redact.Own(l)
		}
		t3 := time.Now()
		for _, l := range lines {
			redact.String(l)
		}
		t4 := time.Now()
		render += t1.Sub(t0)
		own += t3.Sub(t2)
		all += t4.Sub(t3)
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(float64(len(lines)), "lines")
	b.ReportMetric(ms(render), "render-ms")
	b.ReportMetric(ms(own), "own-ms")
	b.ReportMetric(ms(all), "with-gitleaks-ms")
}

// BenchmarkScannerBuild measures loading and compiling gitleaks' rule set,
// which String does once per process, on first use. Run it alone with
// -benchtime 1x: that one build is the first of the process, the one a user
// waits for (later ones find caches warm).
func BenchmarkScannerBuild(b *testing.B) {
	for b.Loop() {
		redact.NewScanner()
	}
}
