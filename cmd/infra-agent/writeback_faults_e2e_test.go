package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/wire"
)

// GitHub failing during the write-back: whatever it does, the job ends with
// its check run concluded, at most one commit on the branch, no branch
// without a pull request, and the token revoked.

// onBranch counts the commits created through the Git Data API that the
// branch points at or descends from (one per fix at most).
func onBranch(fake *fakegithub.Server, branch string) int {
	sha, _ := fake.Branch(e2eOwner, e2eRepo, branch)
	n := 0
	for _, c := range fake.GitCommits(e2eOwner, e2eRepo) {
		if c.SHA == sha {
			n++
		}
	}
	return n
}

// ended checks that the job's check run is concluded and the token revoked.
func ended(t *testing.T, w *runnerWorld, kind wire.Kind, conclusion string) {
	t.Helper()
	cr := w.jobCheckRun(t, kind)
	if cr.Status != "completed" || cr.Conclusion != conclusion {
		t.Errorf("check run %s %s %q, want completed %s\n%s", cr.Status, cr.Conclusion, cr.Output.Title, conclusion, cr.Output.Summary)
	}
	for _, c := range w.fake.CheckRuns(e2eOwner, e2eRepo) {
		if c.Status != "completed" {
			t.Errorf("check run %s left %s", c.Name, c.Status)
		}
	}
	if toks := runnerTokens(w.fake); len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("tokens = %+v, want the job's revoked", toks)
	}
}

func TestFixWriteBackFaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      func(f *fakegithub.Server)
		pushed     bool
		conclusion string
		summary    string
	}{
		{name: "422 on the ref update", pushed: false, conclusion: "failure", summary: "updating branch topic",
			fault: func(f *fakegithub.Server) {
				f.FailNext("PATCH", "/git/refs/heads/topic$", 1, http.StatusUnprocessableEntity, nil)
			}},
		{name: "502 before GitHub applied the ref update", pushed: true, conclusion: "success",
			fault: func(f *fakegithub.Server) {
				f.FailNext("PATCH", "/git/refs/heads/topic$", 1, http.StatusBadGateway, nil)
			}},
		{name: "502 after GitHub applied the ref update", pushed: true, conclusion: "success",
			fault: func(f *fakegithub.Server) {
				f.FailNextAfterApplying("PATCH", "/git/refs/heads/topic$", 1, http.StatusBadGateway)
			}},
		{name: "502 after GitHub applied the commit", pushed: true, conclusion: "success",
			fault: func(f *fakegithub.Server) { f.FailNextAfterApplying("POST", "/git/commits$", 1, http.StatusBadGateway) }},
		{name: "secondary rate limit on the tree", pushed: true, conclusion: "success",
			fault: func(f *fakegithub.Server) {
				f.FailNext("POST", "/git/trees$", 1, http.StatusForbidden, http.Header{"Retry-After": {"1"}})
			}},
		{name: "5xx on every tree", pushed: false, conclusion: "failure", summary: "creating the tree",
			fault: func(f *fakegithub.Server) { f.FailNext("POST", "/git/trees$", 10, http.StatusInternalServerError, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newFixWorld(t, true, "")
			head, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic")
			jobID, runID := w.trigger(t, "issue_comment", "delivery-fix", commentPayload(t, "/agent fix"))
			tc.fault(w.fake)
			w.runJob(t, jobID, runID)
			now, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic")
			switch {
			case tc.pushed && onBranch(w.fake, "topic") != 1:
				t.Errorf("topic at %s: want exactly one new commit on it", now)
			case !tc.pushed && now != head:
				t.Errorf("topic moved to %s although the write-back failed", now)
			}
			if w.fake.ForcePushes(e2eOwner, e2eRepo) != 0 {
				t.Error("a force push")
			}
			ended(t, w, wire.KindFix, tc.conclusion)
			if tc.summary != "" && !strings.Contains(w.jobCheckRun(t, wire.KindFix).Output.Summary, tc.summary) {
				t.Errorf("the check run does not say why: %s", w.jobCheckRun(t, wire.KindFix).Output.Summary)
			}
		})
	}
}

func TestRemediationWriteBackFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  func(f *fakegithub.Server)
		opened bool
	}{
		{name: "pull request refused for good", opened: false,
			fault: func(f *fakegithub.Server) { f.FailNext("POST", "/pulls$", 10, http.StatusInternalServerError, nil) }},
		{name: "502 after GitHub opened the pull request", opened: true,
			fault: func(f *fakegithub.Server) { f.FailNextAfterApplying("POST", "/pulls$", 1, http.StatusBadGateway) }},
		{name: "502 after GitHub created the branch", opened: true,
			fault: func(f *fakegithub.Server) { f.FailNextAfterApplying("POST", "/git/refs$", 1, http.StatusBadGateway) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newRemediationWorld(t, true)
			jobID, runID := w.trigger(t, "issues", "delivery-label", labelPayload(t, w))
			tc.fault(w.fake)
			w.runJob(t, jobID, runID)
			prs := w.fake.PullRequests(e2eOwner, e2eRepo)
			var agentBranches []string
			for b := range w.fake.Branches(e2eOwner, e2eRepo) {
				if strings.HasPrefix(b, "agent/") {
					agentBranches = append(agentBranches, b)
				}
			}
			comments := appComments(w.fake, remediationIssue)
			if tc.opened {
				if len(prs) != 2 || len(agentBranches) != 1 || prs[1].HeadRef != agentBranches[0] {
					t.Errorf("pull requests %+v, branches %v: want one pull request from one branch", prs, agentBranches)
				}
				ended(t, w, wire.KindRemediate, "success")
				return
			}
			if len(prs) != 1 || len(agentBranches) != 0 {
				t.Errorf("pull requests %d, branches %v: want none, no branch left behind", len(prs), agentBranches)
			}
			if len(comments) != 1 || !strings.Contains(comments[0], "could not fix this issue") || !strings.Contains(comments[0], "no branch was left behind") {
				t.Errorf("issue comments = %q", comments)
			}
			ended(t, w, wire.KindRemediate, "failure")
		})
	}
}
