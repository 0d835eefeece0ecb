package checks

import (
	"strings"
	"testing"
)

// TestFixDeclaredIsShown: a finding whose policy declares a fix says so in
// the text and markdown reports, so `infra-agent check` users know
// `infra-agent fix` applies it without a model.
func TestFixDeclaredIsShown(t *testing.T) {
	withFix := Finding{Severity: SeverityFailure, Message: "bucket is public", File: "main.tf", Line: 3, Rule: "deny_public", Namespace: "main",
		Metadata: map[string]any{"fix": map[string]any{"set": map[string]any{"acl": "private"}}}}
	without := withFix
	without.Metadata = map[string]any{"id": "S3-1"}
	r := Report{Roots: []RootResult{{Dir: ".", Findings: []Finding{withFix}}}}
	if !strings.Contains(RenderText(r, false), "(fix declared: infra-agent fix applies it)") {
		t.Errorf("text:\n%s", RenderText(r, false))
	}
	if !strings.Contains(findingMarkdown(withFix), "fix declared: `infra-agent fix` applies it") || strings.Contains(findingMarkdown(without), "fix declared") {
		t.Errorf("markdown: %q / %q", findingMarkdown(withFix), findingMarkdown(without))
	}
}
