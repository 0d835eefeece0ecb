package main

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/wire"
)

// The other ways a fix starts: a review comment on a line of the diff, a
// fork's pull request, a failing check; and the same trigger twice.

const reviewCommentID = 284312630 // the octokit payload's comment

// reviewCommentPayload is `/agent fix` in a review comment on line 6 of
// envs/prod/main.tf (public = true) of pull request #1.
func reviewCommentPayload(t *testing.T, w *runnerWorld, head string) []byte {
	t.Helper()
	repo := map[string]any{"id": e2eRepoID, "name": e2eRepo, "full_name": e2eOwner + "/" + e2eRepo}
	return payload(t, "octokit__pull_request_review_comment__01-created.json", ourRepository(w, map[string]any{
		"comment.body": "/agent fix", "comment.user.login": e2eOwner, "comment.path": "envs/prod/main.tf", "comment.line": 6,
		"pull_request.number": e2ePR, "pull_request.head.sha": head, "pull_request.head.ref": "topic", "pull_request.head.repo": repo,
		"pull_request.base.ref": "main", "pull_request.base.repo": repo,
	}))
}

// TestFixFromAReviewCommentEndToEnd: `/agent fix` on a line of the diff is
// acknowledged on that comment and answered in its thread: with the pushed
// commit on a protected base, with a one-click suggestion of that line on an
// unprotected one.
func TestFixFromAReviewCommentEndToEnd(t *testing.T) {
	for _, protect := range []bool{true, false} {
		name := map[bool]string{true: "protected", false: "unprotected"}[protect]
		t.Run(name, func(t *testing.T) {
			w := newFixWorld(t, protect, "")
			head, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic")
			w.fake.AddReviewComment(e2eOwner, e2eRepo, e2ePR, fakegithub.ReviewComment{ID: reviewCommentID, User: e2eOwner,
				Body: "/agent fix", Path: "envs/prod/main.tf", Line: 6, CommitID: head})
			jobID, runID := w.trigger(t, "pull_request_review_comment", "delivery-review-comment", reviewCommentPayload(t, w, head))
			if got := w.fake.Reactions(e2eOwner, e2eRepo, reviewCommentID); len(got) != 1 || got[0] != "eyes" {
				t.Errorf("reactions on the review comment = %v", got)
			}
			w.runJob(t, jobID, runID)
			thread := w.fake.ReviewComments(e2eOwner, e2eRepo, e2ePR)
			if len(thread) != 2 || thread[1].InReplyTo != reviewCommentID || thread[1].User != "infra-agent[bot]" {
				t.Fatalf("review comments = %+v, want the answer in the thread", thread)
			}
			commits := w.fake.GitCommits(e2eOwner, e2eRepo)
			switch {
			case protect && (len(commits) != 1 || !strings.HasPrefix(thread[1].Body, "Pushed [")):
				t.Errorf("commits %d, reply %q: want the pushed commit", len(commits), thread[1].Body)
			case !protect && (len(commits) != 0 || !strings.Contains(thread[1].Body, "```suggestion\n  public = false\n```")):
				t.Errorf("commits %d, reply %q: want a suggestion of the line, nothing pushed", len(commits), thread[1].Body)
			}
			if got := appComments(w.fake, e2ePR); len(got) != 0 {
				t.Errorf("pull request comments %q besides the thread", got)
			}
			// The REST calls of a fix asked on a line, server (14) and runner together (the README quotes them).
			if want := map[bool]int{true: 23, false: 20}[protect]; len(w.restCalls()) != want {
				t.Errorf("%d REST calls, want %d:\n  %s", len(w.restCalls()), want, strings.Join(w.restCalls(), "\n  "))
			}
		})
	}
}

// TestFixOnAForkIsSuggested: a fork's pull request gets no push and no
// write token; the fix that needs no model (terraform fmt here) is offered
// on the pull request.
func TestFixOnAForkIsSuggested(t *testing.T) {
	dir := filepath.Join("testdata", "writeback")
	const forkHead = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
	w := newRunnerWorldFrom(t, filepath.Join(dir, "topic"), filepath.Join(dir, "main"), func(f *fakegithub.Server) {
		files := readTree(t, filepath.Join(dir, "topic"))
		files["envs/prod/main.tf"] = []byte(strings.Replace(string(files["envs/prod/main.tf"]), "  name        = \"logs\"", "  name = \"logs\"", 1))
		f.SetFiles(e2eOwner, e2eRepo, forkHead, files)
		f.ProtectBranch(e2eOwner, e2eRepo, "main")
		f.AddPullRequest(e2eOwner, e2eRepo, fakegithub.PullRequest{Number: e2ePR, Title: "Add a bucket", User: "forker",
			HeadOwner: "forker", HeadRepo: e2eRepo, HeadRef: "topic", HeadSHA: forkHead, BaseRef: "main", Files: []string{"envs/prod/main.tf"}})
	}, map[string]string{"INFRA_AGENT_HEARTBEAT_TIMEOUT": "90s"})
	jobID, runID := w.trigger(t, "issue_comment", "delivery-fix", commentPayload(t, "/agent fix"))
	w.runJob(t, jobID, runID)
	if n := len(w.fake.GitCommits(e2eOwner, e2eRepo)); n != 0 {
		t.Errorf("%d commits for a fork", n)
	}
	toks := runnerTokens(w.fake)
	if len(toks) != 1 || !maps.Equal(toks[0].Permissions, wire.KindReview.TokenPermissions()) || !toks[0].Revoked {
		t.Errorf("tokens = %+v, want the review kind's permissions (no contents write), revoked", toks)
	}
	comments := appComments(w.fake, e2ePR)
	if len(comments) != 1 || !strings.Contains(comments[0], "comes from a fork") || !strings.Contains(comments[0], "+  name        = \"logs\"") {
		t.Errorf("comments = %q, want the fmt fix offered", comments)
	}
	if cr := w.jobCheckRun(t, wire.KindFix); cr.Conclusion != "neutral" {
		t.Errorf("check run = %s %q", cr.Conclusion, cr.Output.Title)
	}
}

// TestDuplicateTriggerWhileTheJobRuns: the same comment delivered again
// (GitHub's redelivery, a new delivery id) while its job runs makes no
// second job, dispatch or commit.
func TestDuplicateTriggerWhileTheJobRuns(t *testing.T) {
	w := newFixWorld(t, true, "")
	jobID, runID := w.trigger(t, "issue_comment", "delivery-fix", commentPayload(t, "/agent fix"))
	if got := deliver(t, w.srv.url, "issue_comment", "delivery-fix-again", commentPayload(t, "/agent fix"), e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	w.runJob(t, jobID, runID)
	if got := deliver(t, w.srv.url, "issue_comment", "delivery-fix-third", commentPayload(t, "/agent fix"), e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	if err := w.srv.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(w.fake.Dispatches(e2eOwner, e2eRepo)); n != 1 {
		t.Errorf("%d dispatches, want 1", n)
	}
	if n := len(w.fake.GitCommits(e2eOwner, e2eRepo)); n != 1 {
		t.Errorf("%d commits, want 1", n)
	}
	if n := len(checkRunsNamed(w.fake, wire.KindFix.CheckRunName())); n != 1 {
		t.Errorf("%d fix check runs, want 1", n)
	}
}
