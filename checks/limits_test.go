package checks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// TestGeneratedPlanWithinLimits renders a generated 10,000-resource plan
// whose few deletes and replaces come last: the outputs fit GitHub's limits,
// keep the counts, list every delete and replace first, and say what they
// left out.
func TestGeneratedPlanWithinLimits(t *testing.T) {
	spec := testkit.PlanSpec{Resources: 10000, Deletes: 4, Replaces: 3}
	data := testkit.GeneratePlanJSON(t, spec)
	if len(data) < 8<<20 {
		t.Fatalf("generated plan is %d bytes, want about 10 MB", len(data))
	}
	planOut, policyOut := renderChecks(t, data)
	for _, out := range []CheckOutput{planOut, policyOut} {
		assertWithinLimits(t, out)
		assertNoSecrets(t, out.Title, out.Summary+out.Text)
	}
	p, err := ParsePlan(data)
	if err != nil {
		t.Fatal(err)
	}
	want := PlanCounts{Create: 5997, Update: 2997, Delete: 4, Replace: 3, NoOp: 999}
	if p.Counts != want {
		t.Fatalf("counts %+v, want %+v", p.Counts, want)
	}
	if !strings.Contains(planOut.Summary, "| `envs/prod` | ✅ planned | 5997 | 2997 | **4** ⚠ | **3** ⚠ |") {
		t.Errorf("summary lacks the counts row:\n%s", planOut.Summary)
	}
	for i := spec.Resources - spec.Deletes - spec.Replaces; i < spec.Resources; i++ {
		addr := fmt.Sprintf("aws_instance.web_%d[%d]", i/100, i%100)
		if !strings.Contains(planOut.Summary, "`"+addr+"`") {
			t.Errorf("summary does not list %s", addr)
		}
		if at := strings.Index(planOut.Text, addr+" will be"); at < 0 || at > strings.Index(planOut.Text, " will be created") {
			t.Errorf("text does not list %s before the creates", addr)
		}
	}
	// The cut notice accounts for every change not shown.
	shown := strings.Count(planOut.Text, " will be ")
	m := regexp.MustCompile(`_… ([0-9,]+) more changes not shown \(([^)]*)\)`).FindStringSubmatch(planOut.Text)
	if m == nil {
		t.Fatalf("text does not say what it left out:\n%s", planOut.Text[len(planOut.Text)-600:])
	}
	cut, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if total := len(p.Changes); shown+cut != total {
		t.Errorf("%d changes shown + %d cut, want %d", shown, cut, total)
	}
	if !strings.HasSuffix(planOut.Text, truncatedFooter) {
		t.Error("text does not end with the truncation footer")
	}
	if len(policyOut.Annotations) != 120 || len(BatchAnnotations(policyOut.Annotations)) != 3 {
		t.Errorf("%d policy annotations, want 120 in 3 batches", len(policyOut.Annotations))
	}
}

// TestManyDeletesWithinLimits: when the deletes and replaces alone do not fit,
// the summary lists as many as fit and says how many of each it cut.
func TestManyDeletesWithinLimits(t *testing.T) {
	spec := testkit.PlanSpec{Resources: 4000, Deletes: 2500, Replaces: 1000}
	planOut, _ := renderChecks(t, testkit.GeneratePlanJSON(t, spec))
	assertWithinLimits(t, planOut)
	listed := strings.Count(planOut.Summary, "\n- ⚠ ")
	m := regexp.MustCompile(`_… ([0-9,]+) more deletes and replaces not shown \(([0-9,]+) delete(?:, ([0-9,]+) replace)?\)`).FindStringSubmatch(planOut.Summary)
	if m == nil {
		t.Fatalf("summary does not say how many deletes and replaces it cut:\n%s", planOut.Summary[len(planOut.Summary)-500:])
	}
	cut := atoiComma(m[1])
	if listed == 0 || listed+cut != 3500 || atoiComma(m[2])+atoiComma(m[3]) != cut {
		t.Errorf("%d listed + %d cut (%s), want 3500 in all", listed, cut, m[0])
	}
	if !strings.Contains(planOut.Summary, "Deletes and replaces: 3500") || !strings.Contains(planOut.Summary, "**2500** ⚠ | **1000** ⚠") {
		t.Error("summary lost the counts")
	}
}

func atoiComma(s string) int {
	n, _ := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	return n
}

// TestManyFindingsWithinLimits: thousands of findings fit, failures without a
// file first, annotations bounded.
func TestManyFindingsWithinLimits(t *testing.T) {
	var fs []Finding
	for i := range 3000 {
		f := Finding{Severity: SeverityWarning, Message: strings.Repeat("long message ", 20) + strconv.Itoa(i), Source: "policy",
			File: "main.tf", Line: i + 1}
		if i%2 == 0 {
			f.Severity = SeverityFailure
		}
		if i%500 == 0 {
			f.File, f.Message = "", "no file "+strconv.Itoa(i)
		}
		fs = append(fs, f)
	}
	r := Report{Roots: []RootResult{{Dir: "a", Steps: []Step{{Name: StepPolicyHCL, Status: StepFailed}}, Findings: fs}}}
	out := PolicyCheck(r)
	assertWithinLimits(t, out)
	if out.Conclusion != ConclusionFailure || len(out.Annotations) != MaxAnnotations {
		t.Errorf("conclusion %s, %d annotations; want failure and %d", out.Conclusion, len(out.Annotations), MaxAnnotations)
	}
	for _, a := range out.Annotations[:10] {
		if a.Level != "failure" {
			t.Fatalf("annotations must list failures first, got %+v", a)
		}
	}
	for i := 0; i < 3000; i += 500 {
		if !strings.Contains(out.Text, "no file "+strconv.Itoa(i)) {
			t.Errorf("text lacks finding %d, which has no file and so no annotation", i)
		}
	}
	if !strings.Contains(out.Summary, "first 1,000 of 2,994 findings on files") {
		t.Errorf("summary does not say annotations were capped:\n%s", out.Summary)
	}
	if !strings.Contains(out.Text, "more findings not shown") {
		t.Error("text does not say findings were left out")
	}
}

func TestBatchAnnotations(t *testing.T) {
	for _, tt := range []struct{ n, batches, last int }{{0, 0, 0}, {1, 1, 1}, {50, 1, 50}, {51, 2, 1}, {120, 3, 20}, {1000, 20, 50}} {
		t.Run(strconv.Itoa(tt.n), func(t *testing.T) {
			a := make([]Annotation, tt.n)
			for i := range a {
				a[i].StartLine = i
			}
			b := BatchAnnotations(a)
			if len(b) != tt.batches || (tt.n > 0 && len(b[len(b)-1]) != tt.last) {
				t.Fatalf("%d batches, want %d with %d in the last", len(b), tt.batches, tt.last)
			}
			seen := 0
			for _, batch := range b {
				if len(batch) > MaxAnnotationsPerRequest {
					t.Errorf("batch of %d", len(batch))
				}
				for _, x := range batch {
					if x.StartLine != seen {
						t.Fatalf("annotation %d out of order", x.StartLine)
					}
					seen++
				}
			}
		})
	}
}

// TestClamp checks the last line of defence of the limit with multi-byte text.
func TestClamp(t *testing.T) {
	long := strings.Repeat("日本語のテキスト\n", 10000)
	got := clamp(long, MaxOutputChars)
	if len(got) > MaxOutputChars || !strings.HasSuffix(got, "65,535 characters._\n") || !strings.HasPrefix(long, strings.TrimSuffix(got[:len(got)-100], "\n")[:1000]) {
		t.Errorf("clamp returned %d bytes ending %q", len(got), got[len(got)-80:])
	}
	if s := "short"; clamp(s, MaxOutputChars) != s {
		t.Error("clamp changed a short text")
	}
}
