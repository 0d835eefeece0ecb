package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/wire"
)

const (
	remediationIssue = 4
	issueTitle       = "The prod logs bucket is public"
)

// newRemediationWorld is a repository whose default branch has the public
// prod bucket, remediation on, and issue #4 about it.
func newRemediationWorld(t *testing.T, protect bool) *runnerWorld {
	t.Helper()
	dir := filepath.Join("testdata", "writeback")
	return newRunnerWorldFrom(t, filepath.Join(dir, "topic"), filepath.Join(dir, "main"), func(f *fakegithub.Server) {
		f.SetFiles(e2eOwner, e2eRepo, "main", readTree(t, filepath.Join(dir, "topic")))
		f.SetFile(e2eOwner, e2eRepo, "main", ".github/infra-agent.yml", []byte("version: 1\nremediate:\n  enabled: true\n"))
		f.AddIssue(e2eOwner, e2eRepo, fakegithub.Issue{Number: remediationIssue, Title: issueTitle, Body: "Found in the audit.", User: e2eOwner})
		if protect {
			f.ProtectBranch(e2eOwner, e2eRepo, "main")
		}
	}, map[string]string{"INFRA_AGENT_HEARTBEAT_TIMEOUT": "90s"})
}

// labelPayload is the issue labelled with the remediation label.
func labelPayload(t *testing.T, w *runnerWorld) []byte {
	t.Helper()
	return payload(t, "octokit__issues__09-labeled.json", ourRepository(w, map[string]any{
		"issue.number": remediationIssue, "issue.title": issueTitle, "issue.body": "Found in the audit.",
		"label.name": "infra-agent:remediate",
	}))
}

// TestRemediationEndToEnd: the remediation label on an issue → a branch
// agent/remediate/issue-4-<id> from the default branch, the commit, a pull
// request titled after the issue with the guide's body and "Fixes #4" → the
// issue's one comment edited to link it → the check run concluded with it →
// the token revoked.
func TestRemediationEndToEnd(t *testing.T) {
	w := newRemediationWorld(t, true)
	base, _ := w.fake.Branch(e2eOwner, e2eRepo, "main")
	jobID, runID := w.trigger(t, "issues", "delivery-label", labelPayload(t, w))
	w.runJob(t, jobID, runID)

	prs := w.fake.PullRequests(e2eOwner, e2eRepo)
	pr := prs[len(prs)-1]
	wantBranch := "agent/remediate/issue-4-" + strings.ReplaceAll(jobID, "-", "")[24:]
	if pr.Number == e2ePR || pr.HeadRef != wantBranch || pr.BaseRef != "main" || pr.Draft || pr.Title != "fix: "+issueTitle {
		t.Fatalf("pull request = #%d %q from %s into %s (draft %v), want %q from %s", pr.Number, pr.Title, pr.HeadRef, pr.BaseRef, pr.Draft,
			"fix: "+issueTitle, wantBranch)
	}
	for _, section := range []string{"## Summary", "## Changes", "## Validation", "Iterations: ", "## Plan Output", "## Finding Details",
		"Fixes #4"} {
		if !strings.Contains(pr.Body, section) {
			t.Errorf("the pull request body lacks %q:\n%s", section, pr.Body)
		}
	}
	commits := w.fake.GitCommits(e2eOwner, e2eRepo)
	if len(commits) != 1 || !slices.Equal(commits[0].Parents, []string{base}) || pr.HeadSHA != commits[0].SHA ||
		!strings.Contains(string(commits[0].Files["envs/prod/main.tf"]), privateFix) {
		t.Errorf("commits = %+v, want one on main's head %s", commits, base)
	}
	if now, _ := w.fake.Branch(e2eOwner, e2eRepo, "main"); now != base {
		t.Error("the default branch moved")
	}
	comments := appComments(w.fake, remediationIssue)
	if len(comments) != 1 || !strings.Contains(comments[0], fmt.Sprintf("opened #%d", pr.Number)) {
		t.Errorf("issue comments = %q, want one linking the pull request", comments)
	}
	if id := w.fake.Comments(e2eOwner, e2eRepo, remediationIssue)[0].ID; w.fake.CommentEdits(e2eOwner, e2eRepo, id) != 1 {
		t.Error("the issue's progress comment was not edited once")
	}
	cr := w.jobCheckRun(t, wire.KindRemediate)
	if cr.Conclusion != "success" || !strings.HasPrefix(cr.Output.Title, fmt.Sprintf("Opened #%d", pr.Number)) {
		t.Errorf("check run = %s %q", cr.Conclusion, cr.Output.Title)
	}
	toks := runnerTokens(w.fake)
	if len(toks) != 1 || toks[0].Permissions["issues"] != wire.Write || !toks[0].Revoked {
		t.Errorf("tokens = %+v", toks)
	}
	// The REST calls of a remediation, server (9) and runner (10) together (the README quotes the count).
	if got := w.restCalls(); len(got) != 19 {
		t.Errorf("%d REST calls, want 19:\n  %s", len(got), strings.Join(got, "\n  "))
	}
	checkManifest(t, w.fake)
}

// TestRemediationOnAnUnprotectedDefaultBranch: no branch and no pull request;
// the issue's comment holds the change and what protection is missing.
func TestRemediationOnAnUnprotectedDefaultBranch(t *testing.T) {
	w := newRemediationWorld(t, false)
	jobID, runID := w.trigger(t, "issues", "delivery-label", labelPayload(t, w))
	w.runJob(t, jobID, runID)
	if n := len(w.fake.PullRequests(e2eOwner, e2eRepo)); n != 1 {
		t.Errorf("%d pull requests, want only the seeded one", n)
	}
	for b := range w.fake.Branches(e2eOwner, e2eRepo) {
		if strings.HasPrefix(b, "agent/") {
			t.Errorf("branch %s left", b)
		}
	}
	comments := appComments(w.fake, remediationIssue)
	if len(comments) != 1 || !strings.Contains(comments[0], "did not open a pull request") || !strings.Contains(comments[0], "+  public = false") {
		t.Errorf("issue comments = %q", comments)
	}
	if cr := w.jobCheckRun(t, wire.KindRemediate); cr.Conclusion != "neutral" {
		t.Errorf("check run = %s", cr.Conclusion)
	}
}
