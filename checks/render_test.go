package checks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// golden compares got with testdata/<name>.golden through the package's
// golden helper, creating the subdirectory under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	jobGolden(t, name, got)
}

// assertNoSecrets fails if s shows any of the secrets planted in the fixtures
// and test inputs.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{
		"AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMAAA", "wJalrXUtnFEMI", "hunter2",
		"ghp_0123456789", "BEGIN RSA PRIVATE KEY", "s3cr3t",
	} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the secret %q", what, secret)
		}
	}
}

func assertWithinLimits(t *testing.T, out CheckOutput) {
	t.Helper()
	if len(out.Summary) > MaxOutputChars || len(out.Text) > MaxOutputChars {
		t.Errorf("summary %d and text %d bytes, limit %d", len(out.Summary), len(out.Text), MaxOutputChars)
	}
	if out.Title == "" || out.Summary == "" {
		t.Errorf("title %q and summary %q must not be empty (GitHub requires both)", out.Title, out.Summary)
	}
}

func describeOutput(out CheckOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "conclusion: %s\ntitle: %s\n\n--- summary (%d bytes)\n%s\n--- text (%d bytes)\n%s", out.Conclusion,
		out.Title, len(out.Summary), out.Summary, len(out.Text), out.Text)
	fmt.Fprintf(&b, "\n--- annotations (%d)\n", len(out.Annotations))
	for _, a := range out.Annotations {
		fmt.Fprintf(&b, "%s %s:%d-%d %q %q %q\n", a.Level, a.Path, a.StartLine, a.EndLine, a.Title, a.Message, a.RawDetails)
	}
	return b.String()
}

// TestPlanFixtures renders every plan of testdata/plans (real terraform
// output, Terraform 0.12 to 1.15) and compares with golden files.
func TestPlanFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "plans", "*", "*.json"))
	if err != nil || len(files) < 30 {
		t.Fatalf("found %d plan fixtures (%v), want every one of testdata/plans", len(files), err)
	}
	for _, file := range files {
		rel := strings.TrimPrefix(filepath.ToSlash(file), "testdata/plans/")
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			p, err := ParsePlan(data)
			if err != nil {
				b.WriteString("ParsePlan error: " + err.Error() + "\n")
			} else {
				r := Report{
					Roots:    []RootResult{{Dir: "fixture", Steps: []Step{{Name: StepPlan, Status: StepOK}}, Plan: p}},
					Versions: map[string]string{"terraform": p.TerraformVersion},
				}
				out := PlanCheck(r)
				assertWithinLimits(t, out)
				js, err := RenderJSON(r)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "format %s, terraform %s, counts %+v\n\n", p.FormatVersion, p.TerraformVersion, p.Counts)
				b.WriteString(describeOutput(out))
				b.WriteString("\n--- terminal\n" + RenderText(r, false) + "\n--- json\n" + string(js))
			}
			assertNoSecrets(t, rel, b.String())
			golden(t, "golden/plans/"+strings.TrimSuffix(rel, ".json"), b.String())
		})
	}
}

// sampleReport is a pipeline run over three roots: one planned with every kind
// of change and policy findings, one that failed validation, one checked
// statically (no plan).
func sampleReport(t *testing.T) Report {
	t.Helper()
	plan, err := ParsePlan(planWith(
		`{"address":"aws_s3_bucket.logs","change":{"actions":["create"],"after":{"bucket":"logs","acl":"public-read"},"after_unknown":{"id":true}}}`,
		`{"address":"aws_db_instance.main","change":{"actions":["update"],"before":{"password":"hunter2","instance_class":"db.t3.micro","tags":{"env":"prod"}},"after":{"password":"hunter3","instance_class":"db.t3.small","tags":{"env":"prod","team":"data"}},"after_unknown":{}}}`,
		`{"address":"aws_instance.old","change":{"actions":["delete"],"before":{"id":"i-0abc","ami":"ami-1"}},"action_reason":"delete_because_no_resource_config"}`,
		`{"address":"aws_instance.web[\"a\"]","change":{"actions":["delete","create"],"before":{"id":"i-1","ami":"ami-1"},"after":{"ami":"ami-2"},"after_unknown":{"id":true},"replace_paths":[["ami"]]},"action_reason":"replace_because_cannot_update"}`,
		`{"address":"aws_iam_role.ci","previous_address":"aws_iam_role.deploy","change":{"actions":["no-op"],"before":{"name":"ci"},"after":{"name":"ci"}}}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	return Report{
		Roots: []RootResult{
			{
				Dir: "envs/prod",
				Steps: []Step{
					{Name: StepFmt, Status: StepOK, Duration: 40 * time.Millisecond},
					{Name: StepValidate, Status: StepOK, Duration: 1200 * time.Millisecond},
					{Name: StepPolicyHCL, Status: StepOK},
					{Name: StepPlan, Status: StepOK, Duration: 9 * time.Second},
					{Name: StepPolicyPlan, Status: StepFailed, Detail: "2 failures"},
				},
				Plan: plan,
				Findings: []Finding{
					{Severity: SeverityWarning, Message: "bucket `logs` has no lifecycle | rule", Source: "policy", Namespace: "main", Rule: "warn", Policy: "s3.rego"},
					{Severity: SeverityFailure, Message: "S3 bucket logs must not be public-read", File: "envs/prod/main.tf", Line: 12, EndLine: 15,
						Source: "policy", Namespace: "main", Rule: "deny", Policy: "s3.rego", Address: "aws_s3_bucket.logs"},
					{Severity: SeverityFailure, Message: "plan deletes aws_instance.old <script>", Source: "policy", Namespace: "main", Rule: "deny", Policy: "destroy.rego"},
				},
			},
			{
				Dir: "envs/dev",
				Steps: []Step{
					{Name: StepFmt, Status: StepFailed, Detail: "main.tf"},
					{Name: StepValidate, Status: StepError, Detail: "Error: Unsupported argument\n\n  on main.tf line 3, in provider \"aws\":\n   3:   secret_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n\nAn argument named \"secret_key\" is not expected here."},
					{Name: StepPolicyHCL, Status: StepSkipped},
					{Name: StepPlan, Status: StepSkipped},
					{Name: StepPolicyPlan, Status: StepSkipped},
				},
				Findings: []Finding{
					{Severity: SeverityFailure, Message: "Unsupported argument: An argument named \"secret_key\" is not expected here.", File: "envs/dev/main.tf", Line: 3, Source: "validate"},
					{Severity: SeverityWarning, Message: "file is not formatted", File: "envs/dev/main.tf", Source: "fmt"},
				},
			},
			{
				Dir: "envs/fork",
				Steps: []Step{
					{Name: StepFmt, Status: StepOK}, {Name: StepValidate, Status: StepOK}, {Name: StepPolicyHCL, Status: StepOK},
					{Name: StepPlan, Status: StepSkipped, Detail: "fork pull request: static checks only"},
					{Name: StepPolicyPlan, Status: StepSkipped},
				},
			},
		},
		Versions: map[string]string{"terraform": "1.5.7", "conftest": "0.71.1", "opa": "1.21.1"},
	}
}

func TestRenderReport(t *testing.T) {
	r := sampleReport(t)
	js, err := RenderJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"plan_check":   describeOutput(PlanCheck(r)),
		"policy_check": describeOutput(PolicyCheck(r)),
		"text":         RenderText(r, false),
		"text_color":   RenderText(r, true),
		"markdown":     RenderMarkdown(r),
		"json":         string(js),
	}
	for name, got := range outputs {
		t.Run(name, func(t *testing.T) {
			assertNoSecrets(t, name, got)
			golden(t, "golden/report_"+name, got)
		})
	}
	if strings.Contains(outputs["text"], "\x1b[") || !strings.Contains(outputs["text_color"], "\x1b[31m") {
		t.Error("colour codes must appear in the coloured text and only there")
	}
}

// TestRenderJSONContract checks the fields other tools rely on (DESIGN.md).
func TestRenderJSONContract(t *testing.T) {
	js, err := RenderJSON(sampleReport(t))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Roots []struct {
			Dir  string
			Plan *struct{ Create, Update, Delete, Replace *int }
		}
		Findings []struct {
			Message, File, Severity *string
			Line                    int
		}
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Roots) != 3 || got.Roots[0].Dir != "envs/prod" || got.Roots[1].Plan != nil {
		t.Fatalf("roots %+v", got.Roots)
	}
	p := got.Roots[0].Plan
	if p == nil || p.Create == nil || *p.Create != 1 || *p.Update != 1 || *p.Delete != 1 || *p.Replace != 1 {
		t.Errorf("plan counts %+v", p)
	}
	if len(got.Findings) != 5 {
		t.Fatalf("%d findings, want 5", len(got.Findings))
	}
	f := got.Findings[0]
	if f.Message == nil || f.Severity == nil || *f.Severity != "failure" || f.File == nil || *f.File != "envs/prod/main.tf" || f.Line != 12 {
		t.Errorf("first finding %+v, want the failure at envs/prod/main.tf:12", f)
	}
	// Every finding carries the four keys, with or without a location.
	var raw struct{ Findings []map[string]any }
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	for i, f := range raw.Findings {
		for _, k := range []string{"message", "file", "line", "severity"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %d lacks %q: %v", i, k, f)
			}
		}
	}
	// Every text of a finding is redacted, not only its message.
	token := "ghp_" + strings.Repeat("a1B2", 9)
	leaky := Report{Roots: []RootResult{{Dir: "envs/" + token, Findings: []Finding{{
		Severity: SeverityFailure, Message: "m", Source: "policy", Address: `aws_s3_bucket.b["` + token + `"]`,
		Policy: token + ".rego", Rule: token, Namespace: token, File: token + ".tf", Line: 1,
	}}}}}
	if js, err := RenderJSON(leaky); err != nil || strings.Contains(string(js), token) {
		t.Errorf("JSON report leaks a token (%v):\n%s", err, js)
	}
	empty, err := RenderJSON(Report{})
	if err != nil || string(empty) != "{\n  \"roots\": [],\n  \"findings\": [],\n  \"versions\": {}\n}\n" {
		t.Errorf("empty report renders %q (%v)", empty, err)
	}
}

func TestConclusions(t *testing.T) {
	ok := []Step{{Name: StepFmt, Status: StepOK}, {Name: StepValidate, Status: StepOK}, {Name: StepPlan, Status: StepOK}, {Name: StepPolicyPlan, Status: StepOK}}
	noPlan := []Step{{Name: StepFmt, Status: StepOK}, {Name: StepPlan, Status: StepSkipped}}
	plan := &Plan{}
	tests := []struct {
		name           string
		r              Report
		plan, policy   string
		planTitle      string
		policyTitleHas string
	}{
		{"no roots", Report{}, ConclusionNeutral, ConclusionNeutral, "Nothing to plan", "No policy evaluated"},
		{"static checks only", Report{Roots: []RootResult{{Dir: "a", Steps: noPlan}}}, ConclusionNeutral, ConclusionNeutral, "Not planned (static checks only)", "No policy evaluated"},
		{"clean", Report{Roots: []RootResult{{Dir: "a", Steps: ok, Plan: plan}}}, ConclusionSuccess, ConclusionSuccess, "No changes", "No policy findings"},
		{"warnings only", Report{Roots: []RootResult{{Dir: "a", Steps: ok, Plan: plan, Findings: []Finding{{Severity: SeverityWarning, Message: "w"}}}}},
			ConclusionSuccess, ConclusionSuccess, "No changes", "0 failures, 1 warning"},
		{"policy failure", Report{Roots: []RootResult{{Dir: "a", Steps: ok, Plan: plan, Findings: []Finding{{Severity: SeverityFailure, Message: "f", Source: "policy"}}}}},
			ConclusionSuccess, ConclusionFailure, "No changes", "1 failure, 0 warnings"},
		{"policy engine error", Report{Roots: []RootResult{{Dir: "a", Steps: []Step{{Name: StepPolicyHCL, Status: StepError, Detail: "rego_parse_error"}}}}},
			ConclusionNeutral, ConclusionFailure, "Not planned (static checks only)", "Policy evaluation failed"},
		{"plan error", Report{Roots: []RootResult{{Dir: "a", Steps: ok, Plan: plan}, {Dir: "b", Steps: []Step{{Name: StepPlan, Status: StepError}}}}},
			ConclusionFailure, ConclusionSuccess, "Failed in 1 of 2 roots", "No policy findings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, po := PlanCheck(tt.r), PolicyCheck(tt.r)
			if pc.Conclusion != tt.plan || pc.Title != tt.planTitle {
				t.Errorf("plan check %s %q, want %s %q", pc.Conclusion, pc.Title, tt.plan, tt.planTitle)
			}
			if po.Conclusion != tt.policy || !strings.Contains(po.Title, tt.policyTitleHas) {
				t.Errorf("policy check %s %q, want %s %q", po.Conclusion, po.Title, tt.policy, tt.policyTitleHas)
			}
			assertWithinLimits(t, pc)
			assertWithinLimits(t, po)
		})
	}
}

// TestNewChangeKinds renders the plans of the change kinds terraform 1.7 to
// 1.16 added (generated with terraform, or written from its documented JSON
// format, in testdata/corpus) and compares with golden files.
func TestNewChangeKinds(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "corpus", "*", "*.plan.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("found %d plans (%v)", len(files), err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".plan.json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePlan(data)
			if err != nil {
				t.Fatal(err)
			}
			r := Report{Roots: []RootResult{{Dir: name, Steps: []Step{{Name: StepPlan, Status: StepOK}}, Plan: p}},
				Versions: map[string]string{"terraform": p.TerraformVersion}}
			out := PlanCheck(r)
			assertWithinLimits(t, out)
			js, err := RenderJSON(r)
			if err != nil {
				t.Fatal(err)
			}
			got := describeOutput(out) + "\n--- terminal\n" + RenderText(r, false) + "\n--- json\n" + string(js)
			assertNoSecrets(t, name, got)
			if strings.Contains(got, "hunter2-action-secret") || strings.Contains(got, "unchanged-value") {
				t.Error("a sensitive value is shown")
			}
			golden(t, "golden/kinds/"+name, got)
		})
	}
}

// A report in which no root planned says so, not "0 to create".
func TestNothingPlanned(t *testing.T) {
	r := Report{Roots: []RootResult{{Dir: "envs/a", Steps: []Step{
		{Name: StepFmt, Status: StepFailed}, {Name: StepInit, Status: StepError, Detail: "terraform init failed: 1 error"},
		{Name: StepPolicyHCL, Status: StepOK}, {Name: StepPlan, Status: StepSkipped},
	}}}}
	text := RenderText(r, false)
	if !strings.HasPrefix(text, "infra-agent check · 1 root · not planned ·") {
		t.Errorf("text header: %q", strings.SplitN(text, "\n", 2)[0])
	}
	out := PlanCheck(r)
	if strings.Contains(out.Summary, "0 to create") || !strings.Contains(out.Summary, "· not planned") {
		t.Errorf("summary:\n%s", out.Summary)
	}
	// init is what blocked the root, not the formatting.
	if !strings.Contains(out.Summary, "❌ init error") {
		t.Errorf("summary does not name init:\n%s", out.Summary)
	}
}
