package checks

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/infra-agent/infra-agent/wire"
)

func fixResult() WriteResult {
	return WriteResult{
		Job: JobInfo{ID: "j-0001", Kind: wire.KindFix, Actor: "octocat", Source: "issue_comment", Workflow: "infra-agent.yml",
			DefaultBranch: "main"},
		Number:  7,
		Subject: "fix: 1 finding (s3_encryption)",
		Summary: "Turned on server-side encryption for `aws_s3_bucket.logs`.\n<!-- hidden --> @someone",
		Files: []FileStat{{Path: "envs/prod/main.tf", Added: 6, Removed: 1}, {Path: "envs/prod/kms.tf", Added: 4, Created: true},
			{Path: "old.tf", Deleted: true}},
		Diff:          "--- a/envs/prod/main.tf\n+++ b/envs/prod/main.tf\n@@ -1,3 +1,8 @@\n resource \"aws_s3_bucket\" \"logs\" {\n+  # ```\n }\n",
		Passed:        true,
		Deterministic: 1, Iterations: 2, MaxIterations: 5, ModelCalls: 4, Tokens: 18250, Model: "anthropic/claude-sonnet-4-5",
		Duration: 83 * time.Second,
		Commit:   "0123456789abcdef0123456789abcdef01234567", CommitURL: "https://github.com/acme/infra/commit/0123456789abcdef0123456789abcdef01234567",
		Branch: "topic", Head: "89abcdef0123456789abcdef0123456789abcdef",
	}
}

func TestWriteTextsGolden(t *testing.T) {
	needs := func(r WriteResult) WriteResult {
		r.Passed = false
		r.NeedsReview = []string{"the plan still fails policy `s3_public` on aws_s3_bucket.logs", "IAM change: aws_iam_policy.x"}
		return r
	}
	opened := fixResult()
	opened.Job.Kind, opened.Job.Source, opened.Job.TriggerDetail = wire.KindRemediate, "issues", "infra-agent:remediate"
	opened.Outcome, opened.Number, opened.PullRequest, opened.Branch = WriteOpened, 4, 12, "agent/remediate/issue-4-j0001"
	opened.PullRequestURL = "https://github.com/acme/infra/pull/12"
	unprotected := fixResult()
	unprotected.Outcome, unprotected.Commit = WriteSuggested, ""
	unprotected.MissingProtection = []string{"`main` has no branch protection and no ruleset that requires a pull request review"}
	unprotected.SuggestionsURL = "https://github.com/acme/infra/pull/7#pullrequestreview-1"
	unprotected.DiffOmittedFromSuggestions = true
	fork := fixResult()
	fork.Job.Static, fork.Outcome, fork.Commit = true, WriteSuggested, ""
	moved := fixResult()
	moved.Outcome, moved.MovedTo = WriteMoved, "fedcba9876543210fedcba9876543210fedcba98"
	failed := fixResult()
	failed.Outcome, failed.Reason, failed.Files, failed.Summary = WriteFailed, "creating the tree: 500 Internal Server Error", nil, ""
	failed.MaxIterations = 0 // it failed before the agent ran
	clean := WriteResult{Job: fixResult().Job, Outcome: WriteUnchanged, Passed: true, MaxIterations: 5, Duration: time.Second}

	checkRuns := map[string]WriteResult{
		"pushed": withOutcome(fixResult(), WritePushed), "pushed_needs_review": needs(withOutcome(fixResult(), WritePushed)),
		"opened": opened, "opened_needs_review": needs(opened), "suggested_unprotected": unprotected, "suggested_fork": fork,
		"commented": needs(withOutcome(fixResult(), WriteCommented)), "moved": moved, "failed": failed, "clean": clean,
		"unchanged_needs_review": needs(withOutcome(clean, WriteUnchanged)),
	}
	wantConclusion := map[string]string{"pushed": "success", "opened": "success", "clean": "success", "failed": "failure"}
	for name, r := range checkRuns {
		t.Run("check run "+name, func(t *testing.T) {
			conclusion, out := WriteCheckRun(r)
			want := wantConclusion[name]
			if want == "" {
				want = "neutral"
			}
			if conclusion != want {
				t.Errorf("conclusion %q, want %q", conclusion, want)
			}
			jobGolden(t, "write_checkrun_"+name, out.Title+"\n---\n"+out.Summary)
		})
	}
	line := &Suggestion{Path: "envs/prod/main.tf", StartLine: 3, EndLine: 3, Replacement: "  acl = \"private\"\n"}
	texts := map[string]string{
		"review_unprotected":   SuggestionsReview(unprotected),
		"review_fork":          SuggestionsReview(fork),
		"diff_comment":         DiffComment(needs(withOutcome(fixResult(), WriteCommented))),
		"moved_comment":        MovedComment(moved),
		"reply_pushed":         ThreadReply(withOutcome(fixResult(), WritePushed), nil),
		"reply_suggestion":     ThreadReply(unprotected, line),
		"reply_needs_review":   ThreadReply(needs(withOutcome(fixResult(), WriteCommented)), nil),
		"reply_failed":         ThreadReply(failed, nil),
		"reply_diff":           ThreadReply(unprotected, nil),
		"pr_title":             RemediationTitle("S3 bucket `logs` is public <!-- x -->", false) + "\n" + RemediationTitle("S3 bucket logs is public", true),
		"pr_body":              RemediationBody(opened, "## Summary\n\nEncrypted the bucket.\n\n## Changes\n\n- `main.tf` (+6 −1)\n"),
		"pr_body_needs_review": RemediationBody(needs(opened), "## Summary\n\nPartial.\n"),
		"issue_working":        IssueWorking(opened.Job, "https://github.com/acme/infra/runs/9"),
		"issue_opened":         IssueDone(opened),
		"issue_suggested":      IssueDone(remediation(unprotected)),
		"issue_failed":         IssueDone(failed),
		"autofix_cap":          AutofixCapComment("ci/terraform", 3, 2),
	}
	for name, got := range texts {
		t.Run(name, func(t *testing.T) { jobGolden(t, "write_"+name, got) })
	}
}

func remediation(r WriteResult) WriteResult {
	r.Job.Kind, r.Job.Source = wire.KindRemediate, "issues"
	return r
}

func withOutcome(r WriteResult, o WriteOutcome) WriteResult {
	r.Outcome = o
	return r
}

// TestWriteTextsAreBoundedAndInert: a huge diff and hostile agent text stay
// within GitHub's limits, their fences hold, and no secret gets through.
func TestWriteTextsAreBoundedAndInert(t *testing.T) {
	secret := "AKIA" + "ABCDEFGHIJKLMNOP"
	r := fixResult()
	r.Diff = strings.Repeat("+ line with ``` fences and "+secret+"\n", 20000)
	r.Summary = strings.Repeat("summary "+secret+" ", 5000)
	r.NeedsReview = []string{"reason\n\n# heading " + secret}
	if !strings.Contains(r.Diff, secret) {
		t.Fatal("the planted secret is not in the input")
	}
	outs := map[string]string{"diff": DiffComment(r), "review": SuggestionsReview(withOutcome(r, WriteSuggested)),
		"body": RemediationBody(r, r.Diff), "issue": IssueDone(withOutcome(r, WriteCommented))}
	_, cr := WriteCheckRun(withOutcome(r, WritePushed))
	outs["check run"] = cr.Summary
	for name, s := range outs {
		if n := utf8.RuneCountInString(s); n > maxComment {
			t.Errorf("%s: %d characters, over %d", name, n, maxComment)
		}
		if strings.Contains(s, secret) {
			t.Errorf("%s: the secret got through", name)
		}
	}
	if s := SuggestionBody("", Suggestion{Replacement: "a ```` b\n"}); !strings.HasPrefix(s, "`````suggestion\n") {
		t.Errorf("a suggestion with a backtick run is not fenced past it: %q", s)
	}
	// Deleting the lines is an empty block; one blank line is a block of one empty line.
	if del, blank := SuggestionBody("", Suggestion{}), SuggestionBody("", Suggestion{Replacement: "\n"}); del != "```suggestion\n```\n" || blank != "```suggestion\n\n```\n" {
		t.Errorf("deletion %q, blank line %q", del, blank)
	}
}
