package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks/review"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/wire"
)

// The pull request's two heads: the first adds a public bucket; the second
// makes it private and adds a public cache.
var (
	reviewHead1 = strings.Repeat("a1", 20)
	reviewHead2 = strings.Repeat("b2", 20)
)

// newReviewWorld is a runner world whose default branch opts in to automatic
// reviews and holds a policy against public buckets and a legacy public
// bucket, and whose pull request #1 is at its first head.
func newReviewWorld(t *testing.T) *runnerWorld {
	t.Helper()
	// Runners beat every 5 minutes: no progress update lands on a job's check
	// run, so the calls a job makes are the same from run to run.
	dir := filepath.Join("testdata", "review")
	w := newRunnerWorldTrees(t, map[string]string{"main": filepath.Join(dir, "main"), reviewHead1: filepath.Join(dir, "head1"), reviewHead2: filepath.Join(dir, "head2")},
		nil, map[string]string{"INFRA_AGENT_HEARTBEAT_TIMEOUT": "15m"})
	w.pushPR(reviewHead1)
	return w
}

// pushPR moves pull request #1 to head.
func (w *runnerWorld) pushPR(head string) {
	w.fake.AddPullRequest(e2eOwner, e2eRepo, fakegithub.PullRequest{
		Number: e2ePR, Title: "Add a bucket", User: e2eOwner, HeadRef: "topic", HeadSHA: head, BaseRef: "main", Files: []string{"main.tf"},
	})
}

// prPayload is a real pull_request payload for pull request #1 at head.
func prPayload(t *testing.T, action, head string) []byte {
	return payload(t, "atlantis__githubPullRequestOpenedEvent.json", map[string]any{
		"action": action, "installation.id": 1, "number": e2ePR, "pull_request.number": e2ePR,
		"pull_request.head.sha": head, "pull_request.head.ref": "topic", "pull_request.base.ref": "main",
		"repository.owner.id": fakegithub.UserID(e2eOwner),
	})
}

// dispatched waits for the nth dispatch and returns its job and run.
func (w *runnerWorld) dispatched(t *testing.T, n int) (string, int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("dispatch %d", n), func() bool { return len(w.fake.Dispatches(e2eOwner, e2eRepo)) >= n })
	d := w.fake.Dispatches(e2eOwner, e2eRepo)[n-1]
	return fmt.Sprint(d.Inputs[wire.WorkflowInput]), d.RunID
}

// jobCheckRun returns the job's own check run.
func jobCheckRun(t *testing.T, fake *fakegithub.Server, jobID string) fakegithub.CheckRun {
	t.Helper()
	for _, cr := range checkRunsNamed(fake, wire.KindReview.CheckRunName()) {
		if cr.ExternalID == jobID {
			return cr
		}
	}
	t.Fatalf("no infra-agent/review check run for job %s", jobID)
	return fakegithub.CheckRun{}
}

// TestReviewEndToEnd: a pull request opened in a repository that opts in to
// automatic reviews → a review job → `infra-agent run` → one review of the
// App, event COMMENT, with the policy finding on its line of the diff and the
// finding outside the diff in the body; the job's check run concluded with a
// link to it; the token revoked. Then a push: the fixed finding's comment is
// hidden as resolved, the new finding commented, and the body says what
// changed. Then `/agent review` on the same head: nothing new, no review.
func TestReviewEndToEnd(t *testing.T) {
	w := newReviewWorld(t)
	if got := deliver(t, w.srv.url, "pull_request", "delivery-pr-opened", prPayload(t, "opened", reviewHead1), e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	jobID, runID := w.dispatched(t, 1)
	w.runJob(t, jobID, runID)

	reviews := w.fake.Reviews(e2eOwner, e2eRepo, e2ePR)
	if len(reviews) != 1 {
		t.Fatalf("%d reviews, want 1", len(reviews))
	}
	first := reviews[0]
	if first.Event != review.Event || first.State != "COMMENTED" || first.CommitID != reviewHead1 || first.User != "infra-agent[bot]" {
		t.Errorf("review = %+v, want a COMMENT of the App on the head", first)
	}
	if !strings.Contains(first.Body, "`main.tf:1` terraform\\_data.legacy is public") || !strings.Contains(first.Body, "### Risk in the plan") ||
		!strings.Contains(first.Body, "No model is configured") {
		t.Errorf("the review's body:\n%s", first.Body)
	}
	comments := w.fake.ReviewComments(e2eOwner, e2eRepo, e2ePR)
	if len(comments) != 1 || comments[0].Path != "main.tf" || comments[0].Line != 15 || comments[0].Side != "RIGHT" ||
		!strings.Contains(comments[0].Body, "terraform\\_data.bucket is public") {
		t.Fatalf("comments = %+v, want the bucket's finding on main.tf:15", comments)
	}
	cr := jobCheckRun(t, w.fake, jobID)
	reviewURL := fmt.Sprintf("https://github.com/%s/%s/pull/%d#pullrequestreview-%d", e2eOwner, e2eRepo, e2ePR, first.ID)
	if cr.Status != "completed" || cr.Conclusion != "failure" || !strings.Contains(cr.Output.Summary, reviewURL) ||
		cr.Output.Title != "Review posted: 2 failures, 0 warnings; 1 comment on the diff" {
		t.Errorf("the job's check run: %s/%s %q\n%s", cr.Status, cr.Conclusion, cr.Output.Title, cr.Output.Summary)
	}
	toks := runnerTokens(w.fake)
	if len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("runner tokens = %+v, want one, revoked", toks)
	}
	checkManifest(t, w.fake)

	// A push: the bucket is private now, and a public cache is added.
	w.pushPR(reviewHead2)
	if got := deliver(t, w.srv.url, "pull_request", "delivery-pr-sync", prPayload(t, "synchronize", reviewHead2), e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	jobID2, runID2 := w.dispatched(t, 2)
	// A secondary rate limit on the GraphQL call that hides the fixed finding's comment: waited out, then hidden.
	w.fake.FailNext("POST", `^/graphql$`, 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}})
	w.runJob(t, jobID2, runID2)
	reviews = w.fake.Reviews(e2eOwner, e2eRepo, e2ePR)
	if len(reviews) != 2 {
		t.Fatalf("%d reviews after the push, want 2", len(reviews))
	}
	second := reviews[1]
	if second.Event != review.Event || !strings.Contains(second.Body, "### Since [the last review](") ||
		!strings.Contains(second.Body, "**1 fixed, 1 new, 1 still open.**") {
		t.Errorf("the second review's body does not say what changed:\n%s", second.Body)
	}
	comments = w.fake.ReviewComments(e2eOwner, e2eRepo, e2ePR)
	if len(comments) != 2 || !comments[0].Minimized || comments[0].MinimizedReason != "resolved" ||
		comments[1].Line != 22 || comments[1].Minimized || !strings.Contains(comments[1].Body, "terraform\\_data.cache is public") {
		t.Errorf("comments after the push = %+v, want the bucket's hidden as resolved and the cache's on line 22", comments)
	}

	// `/agent review` on the same head: nothing changed, nothing posted.
	if got := deliver(t, w.srv.url, "issue_comment", "delivery-review-cmd", commentPayload(t, "/agent review"), e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	jobID3, runID3 := w.dispatched(t, 3)
	w.runJob(t, jobID3, runID3)
	if n := len(w.fake.Reviews(e2eOwner, e2eRepo, e2ePR)); n != 2 {
		t.Errorf("%d reviews after a review of the same head, want still 2", n)
	}
	if cr := jobCheckRun(t, w.fake, jobID3); cr.Conclusion == "" || !strings.Contains(cr.Output.Summary, "Nothing changed since [the last review]") {
		t.Errorf("the third job's check run: %s %q\n%s", cr.Conclusion, cr.Output.Title, cr.Output.Summary)
	}
	if n := len(w.fake.ReviewComments(e2eOwner, e2eRepo, e2ePR)); n != 2 {
		t.Errorf("%d review comments in all, want 2: no pile-up", n)
	}
}

// TestReviewCalls pins the calls of an automatic review, server and runner
// together, from the pull_request webhook to the job's check run concluded
// (the README quotes them): a first review, and a review after a push that
// hides a comment.
func TestReviewCalls(t *testing.T) {
	w := newReviewWorld(t)
	deliver(t, w.srv.url, "pull_request", "delivery-calls-1", prPayload(t, "opened", reviewHead1), e2eSecret)
	jobID, runID := w.dispatched(t, 1)
	w.runJob(t, jobID, runID)
	eventually(t, "the job's check run concluded", func() bool { return jobCheckRun(t, w.fake, jobID).Status == "completed" })
	firstCalls := appCalls(w.fake)

	w.pushPR(reviewHead2)
	deliver(t, w.srv.url, "pull_request", "delivery-calls-2", prPayload(t, "synchronize", reviewHead2), e2eSecret)
	jobID2, runID2 := w.dispatched(t, 2)
	w.runJob(t, jobID2, runID2)
	eventually(t, "the job's check run concluded", func() bool { return jobCheckRun(t, w.fake, jobID2).Status == "completed" })
	secondCalls := appCalls(w.fake)[len(firstCalls):]

	repo := "/repos/" + e2eOwner + "/" + e2eRepo
	run := func(n int) string { return fmt.Sprintf("%s/check-runs/%d", repo, 4_000_000_000+n) }
	job := func(first int, head string, more ...string) []string {
		calls := []string{
			// server, the webhook: configuration, changed paths, the job's check run, dispatch
			"GET " + repo + "/contents/.github/infra-agent.yml", "GET " + repo + "/pulls/1/files",
			"POST " + repo + "/check-runs", "POST " + repo + "/actions/workflows/infra-agent.yml/dispatches",
			// server, the claim: configuration, the job's check run in progress
			"GET " + repo + "/contents/.github/infra-agent.yml", "PATCH " + run(first),
			// runner: source, policies, plan and policy check runs
			"GET " + repo + "/tarball/" + head, "GET " + repo + "/tarball/refs/heads/main",
			"POST " + repo + "/check-runs", "POST " + repo + "/check-runs", "PATCH " + run(first+1), "PATCH " + run(first+2),
			// runner: the review
			"GET " + repo + "/pulls/1/files", "GET " + repo + "/pulls/1/reviews",
		}
		calls = append(calls, more...)
		// server, the complete: revocation, the job's check run concluded
		return append(calls, "POST "+repo+"/pulls/1/reviews", "DELETE /installation/token", "PATCH "+run(first))
	}
	if want := job(1, reviewHead1); !slices.Equal(firstCalls, want) {
		t.Errorf("calls of a first review (%d):\n  %s\nwant (%d):\n  %s", len(firstCalls), strings.Join(firstCalls, "\n  "), len(want), strings.Join(want, "\n  "))
	}
	if want := job(4, reviewHead2, "GET "+repo+"/pulls/1/comments", "POST /graphql"); !slices.Equal(secondCalls, want) {
		t.Errorf("calls of a review after a push (%d):\n  %s\nwant (%d):\n  %s", len(secondCalls), strings.Join(secondCalls, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

// appCalls are the calls the server and runners made, without the server's
// start (GET /app) and its look at the App's deliveries.
func appCalls(fake *fakegithub.Server) []string {
	var out []string
	for _, c := range fake.Calls() {
		if c != "GET /app" && c != "GET /app/hook/deliveries" {
			out = append(out, c)
		}
	}
	return out
}

// TestReviewForkStatic: a pull request from a fork gets the static review:
// no terraform init or plan, no model, and the body says so.
func TestReviewForkStatic(t *testing.T) {
	w := newReviewWorld(t)
	w.fake.AddPullRequest(e2eOwner, e2eRepo, fakegithub.PullRequest{
		Number: e2ePR, Title: "Add a bucket", User: "forker", HeadOwner: "forker", HeadRepo: e2eRepo, HeadRef: "topic",
		HeadSHA: reviewHead1, BaseRef: "main", Files: []string{"main.tf"},
	})
	body := payload(t, "atlantis__githubPullRequestOpenedEvent.json", map[string]any{
		"action": "opened", "installation.id": 1, "number": e2ePR, "pull_request.number": e2ePR,
		"pull_request.head.sha": reviewHead1, "pull_request.head.ref": "topic", "pull_request.base.ref": "main",
		"pull_request.head.repo.id": 4242, "pull_request.head.repo.full_name": "forker/" + e2eRepo,
		"repository.owner.id": fakegithub.UserID(e2eOwner),
	})
	if got := deliver(t, w.srv.url, "pull_request", "delivery-fork", body, e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	jobID, runID := w.dispatched(t, 1)
	dump := t.TempDir() + "/env.dump"
	env := w.actionsEnv(t, runID)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"run", "--job", jobID, "--terraform", fakeTerraform(t, w.tf, dump)},
		func(k string) string { return env[k] }, stdio{out: &out, err: &errOut})
	if code := exitCode(err, &errOut); code != 0 {
		t.Fatalf("infra-agent run exited %d\n%s\n%s", code, out.String(), errOut.String())
	}
	reviews := w.fake.Reviews(e2eOwner, e2eRepo, e2ePR)
	if len(reviews) != 1 || reviews[0].Event != review.Event ||
		!strings.Contains(reviews[0].Body, "A fork's pull request gets static checks only") || !strings.Contains(reviews[0].Body, "No plan ran") {
		t.Fatalf("reviews = %+v", reviews)
	}
	data, _ := os.ReadFile(dump)
	if !strings.Contains(string(data), "--- fmt") {
		t.Fatalf("terraform fmt did not run:\n%s", data)
	}
	for _, step := range []string{"--- init", "--- plan"} {
		if strings.Contains(string(data), step) {
			t.Errorf("terraform ran %q for a fork", step)
		}
	}
	if cr := jobCheckRun(t, w.fake, jobID); cr.Status != "completed" || !strings.Contains(cr.Output.Summary, "#pullrequestreview-") {
		t.Errorf("the job's check run: %s\n%s", cr.Status, cr.Output.Summary)
	}
}

// TestReviewNotPosted: a review GitHub will not take ends the job visibly:
// its check run is a failure that says why, and the token is revoked.
func TestReviewNotPosted(t *testing.T) {
	w := newReviewWorld(t)
	w.fake.FailNext("POST", `/pulls/1/reviews$`, 10, http.StatusInternalServerError, nil)
	deliver(t, w.srv.url, "pull_request", "delivery-pr-fail", prPayload(t, "opened", reviewHead1), e2eSecret)
	jobID, runID := w.dispatched(t, 1)
	w.runJob(t, jobID, runID)
	eventually(t, "the job's check run concluded", func() bool { return jobCheckRun(t, w.fake, jobID).Status == "completed" })
	cr := jobCheckRun(t, w.fake, jobID)
	if cr.Conclusion != "failure" || cr.Output.Title != "The review could not be posted" ||
		!strings.Contains(cr.Output.Summary, "**Review**: not posted: posting the review of pull request #1") {
		t.Errorf("check run: %s %q\n%s", cr.Conclusion, cr.Output.Title, cr.Output.Summary)
	}
	if n := len(w.fake.Reviews(e2eOwner, e2eRepo, e2ePR)); n != 0 {
		t.Errorf("%d reviews", n)
	}
	if toks := runnerTokens(w.fake); len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("tokens = %+v", toks)
	}
}

// TestReviewAppliedThen502: GitHub makes the review and the answer is lost (a
// 502 after applying it). The runner looks before it retries: one review,
// posted once, and the job's check run links to it.
func TestReviewAppliedThen502(t *testing.T) {
	w := newReviewWorld(t)
	w.fake.FailNextAfterApplying("POST", `/pulls/1/reviews$`, 1, http.StatusBadGateway)
	deliver(t, w.srv.url, "pull_request", "delivery-pr-502", prPayload(t, "opened", reviewHead1), e2eSecret)
	jobID, runID := w.dispatched(t, 1)
	w.runJob(t, jobID, runID)
	eventually(t, "the job's check run concluded", func() bool { return jobCheckRun(t, w.fake, jobID).Status == "completed" })

	reviews := w.fake.Reviews(e2eOwner, e2eRepo, e2ePR)
	if len(reviews) != 1 {
		t.Fatalf("%d reviews, want 1", len(reviews))
	}
	if f := w.fake.InjectedFaults(); len(f) != 1 || f[0].Method != "POST" {
		t.Errorf("injected faults = %+v, want the one 502", f)
	}
	posts, looks := 0, 0
	for _, c := range appCalls(w.fake) {
		switch c {
		case "POST /repos/" + e2eOwner + "/" + e2eRepo + "/pulls/1/reviews":
			posts++
		case "GET /repos/" + e2eOwner + "/" + e2eRepo + "/pulls/1/reviews":
			looks++
		}
	}
	if posts != 1 || looks != 2 {
		t.Errorf("%d review posts and %d looks, want 1 post and 2 looks (the earlier reviews, then the lost one)", posts, looks)
	}
	url := fmt.Sprintf("#pullrequestreview-%d", reviews[0].ID)
	if cr := jobCheckRun(t, w.fake, jobID); !strings.Contains(cr.Output.Summary, url) || strings.Contains(cr.Output.Title, "could not") {
		t.Errorf("the job's check run: %q\n%s", cr.Output.Title, cr.Output.Summary)
	}
}

// TestReviewSuggestsDeterministicFixes: a pull request whose new block is
// not formatted → the review, without a model, offers terraform fmt's fix
// as a one-click suggestion on the lines of the diff, and nothing is
// committed.
func TestReviewSuggestsDeterministicFixes(t *testing.T) {
	head := strings.Repeat("c3", 20)
	dir := filepath.Join("testdata", "review")
	w := newRunnerWorldTrees(t, map[string]string{"main": filepath.Join(dir, "main"), head: filepath.Join(dir, "head3")},
		nil, map[string]string{"INFRA_AGENT_HEARTBEAT_TIMEOUT": "15m"})
	w.pushPR(head)
	if got := deliver(t, w.srv.url, "pull_request", "delivery-pr-opened", prPayload(t, "opened", head), e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	jobID, runID := w.dispatched(t, 1)
	w.runJob(t, jobID, runID)

	if reviews := w.fake.Reviews(e2eOwner, e2eRepo, e2ePR); len(reviews) != 1 {
		t.Fatalf("%d reviews, want 1", len(reviews))
	}
	var suggestion string
	for _, c := range w.fake.ReviewComments(e2eOwner, e2eRepo, e2ePR) {
		if c.Path == "main.tf" && strings.Contains(c.Body, "```suggestion") {
			suggestion = c.Body
		}
	}
	if !strings.Contains(suggestion, "    name   = \"logs\"\n    public = false") {
		t.Fatalf("no terraform fmt suggestion on main.tf; comments: %+v", w.fake.ReviewComments(e2eOwner, e2eRepo, e2ePR))
	}
	for _, c := range w.restCalls() {
		if strings.Contains(c, "/git/") {
			t.Errorf("a review wrote to the repository: %s", c)
		}
	}
}
