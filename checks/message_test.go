package checks

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMessageMarkdown(t *testing.T) {
	tests := []struct{ name, in, md, plain string }{
		{"code span", "bucket `logs` must be private", "bucket `logs` must be private", "bucket logs must be private"},
		{"double backticks", "use ``a ` b`` here", "use ``a ` b`` here", "use a ` b here"},
		{"unclosed backtick", "it's `open", "it's \\`open", "it's `open"},
		{"link", "see [the guide](https://example.com/s3#private)", "see [the guide](https://example.com/s3#private)",
			"see the guide (https://example.com/s3#private)"},
		{"link text escaped", "[a <b>](https://e.com)", "[a \\<b\\>](https://e.com)", "a <b> (https://e.com)"},
		{"no script links", "[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))", "[x](javascript:alert(1))"},
		{"no images", "![pixel](https://tracker.example/p.gif)", "\\![pixel](https://tracker.example/p.gif)", "!pixel (https://tracker.example/p.gif)"},
		{"emphasis", "must **not** be _public_", "must **not** be _public_", "must not be _public_"},
		{"identifiers", "aws_s3_bucket.logs", "aws_s3_bucket.logs", "aws_s3_bucket.logs"},
		{"html and tables", "<img src=x> | # @team", "\\<img src=x\\> \\| \\# \\@team", "<img src=x> | # @team"},
		{"one line", "a\nb", "a b", "a\nb"},
		{"unicode", "bucket « logs » ✓", "bucket « logs » ✓", "bucket « logs » ✓"},
		{"secret", "token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB leaked", "token (redacted) leaked", "token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB leaked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := messageMarkdown(tt.in); got != tt.md {
				t.Errorf("messageMarkdown(%q) = %q, want %q", tt.in, got, tt.md)
			}
			if got := messagePlain(tt.in); got != tt.plain {
				t.Errorf("messagePlain(%q) = %q, want %q", tt.in, got, tt.plain)
			}
		})
	}
}

// A policy finding shows its policy id in the check-run text, the
// annotation and the JSON report; its message's markup renders in the text
// and is taken out of the annotation; its metadata stays, redacted.
func TestFindingPolicyIDAndMarkup(t *testing.T) {
	f := Finding{
		Severity: SeverityFailure, Message: "bucket `logs` is public: see [the guide](https://example.com/s3)",
		File: "envs/prod/main.tf", Line: 3, Source: "policy", Namespace: "main", Rule: "deny", Policy: "s3.rego",
		PolicyID: "S3-001",
		Metadata: map[string]any{"policyId": "S3-001", "severity": "HIGH", "evidence": "key AKIAIOSFODNN7EXAMPLE",
			"links": []any{"https://example.com/s3"}},
	}
	r := Report{Roots: []RootResult{{Dir: "envs/prod", Steps: []Step{{Name: StepPolicyHCL, Status: StepFailed}}, Findings: []Finding{f}}}}
	out := PolicyCheck(r)
	wantText := "- ❌ `envs/prod/main.tf:3` bucket `logs` is public: see [the guide](https://example.com/s3) — `S3-001` · `main.deny` in `s3.rego`"
	if !strings.Contains(out.Text, wantText) {
		t.Errorf("text lacks %q:\n%s", wantText, out.Text)
	}
	if len(out.Annotations) != 1 {
		t.Fatalf("%d annotations", len(out.Annotations))
	}
	a := out.Annotations[0]
	if a.Title != "S3-001: main.deny" || a.Message != "bucket logs is public: see the guide (https://example.com/s3)" ||
		!strings.Contains(a.RawDetails, "policy id: S3-001") {
		t.Errorf("annotation = %+v", a)
	}
	js, err := RenderJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Findings []struct {
			PolicyID string         `json:"policy_id"`
			Metadata map[string]any `json:"metadata"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	got := rep.Findings[0]
	if got.PolicyID != "S3-001" || got.Metadata["severity"] != "HIGH" || got.Metadata["evidence"] != "key (redacted)" {
		t.Errorf("JSON finding = %+v", got)
	}
	if f.Metadata["evidence"] != "key AKIAIOSFODNN7EXAMPLE" {
		t.Error("rendering changed the finding's metadata")
	}
}
