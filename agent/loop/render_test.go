package loop

import (
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/fixes"
	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/checks"
)

func TestRenderings(t *testing.T) {
	target := checks.Finding{Severity: checks.SeverityFailure, File: "main.tf", Line: 3, Rule: "deny_public_acl", Namespace: "main", Address: "aws_s3_bucket.b", Message: "aws_s3_bucket.b is public"}
	left := checks.Finding{Severity: checks.SeverityFailure, File: "main.tf", Line: 9, Rule: "deny_logging", Namespace: "main", Message: "no logs"}
	r := Result{
		Kind: "fix", JobID: "job-1", RunID: "run-2", Status: StatusNeedsReview, NeedsReview: []string{"1 targeted finding(s) remain"},
		Iterations: 2, MaxIterations: 5, ModelCalls: 3, Tokens: model.Usage{Input: 1000, Output: 200}, Model: "anthropic/m",
		Targets: []checks.Finding{target, left}, Remaining: []checks.Finding{left},
		Deterministic: []fixes.Applied{{Kind: fixes.KindPolicy, Finding: target, Description: `set acl = "private" on aws_s3_bucket.b`}},
		Files:         []FileChange{{Path: "main.tf", Original: []byte("a\nacl = \"public-read\"\nc\n"), Content: []byte("a\nacl = \"private\"\nc\nd\n")}},
		IAM:           []string{"aws_iam_role.r (.): create → create"},
		Plan:          guard.PlanVerdict{OutOfScope: []guard.PlanChange{{Root: ".", Address: "aws_iam_role.r", Before: "create", After: "create"}}},
	}
	msg := r.CommitMessage("alice")
	for _, want := range []string{
		"fix: 2 findings (deny_public_acl, deny_logging)\n", `- set acl = "private" on aws_s3_bucket.b (deterministic, policy)`,
		"- fixes main.tf:3 aws_s3_bucket.b (main.deny_public_acl)", "Needs review:\n- 1 targeted finding(s) remain",
		"Infra-Agent-Job: job-1\n", "Infra-Agent-Run: run-2\n", "Requested-by: @alice\n", "Infra-Agent-Iterations: 2/5\n",
		"Infra-Agent-Validation: needs review\n", "Infra-Agent-Model: anthropic/m\n", "Infra-Agent-Tokens: 1200\n",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	body := r.PullRequestBody()
	for _, want := range []string{"## Summary", "## Changes", "`main.tf` (+2 −1)", "## Validation", "**NEEDS REVIEW**",
		"Targeted findings remaining: 1 of 2", "Iterations: 2 of 5; model calls: 3; tokens: 1200", "## Plan Output",
		"! aws_iam_role.r (.): create → create", "## Finding Details", "- fixed — failure — main.tf:3", "- remains — failure — main.tf:9",
		"## Needs Review", "IAM change for a human to check"} {
		if !strings.Contains(body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, body)
		}
	}
	s := r.Suggestions()
	if len(s) != 2 || s[0] != (Suggestion{Path: "main.tf", StartLine: 2, EndLine: 2, Replacement: "acl = \"private\"\n"}) ||
		s[1] != (Suggestion{Path: "main.tf", StartLine: 3, EndLine: 3, Replacement: "c\nd\n"}) {
		t.Errorf("suggestions = %+v", s)
	}
}
