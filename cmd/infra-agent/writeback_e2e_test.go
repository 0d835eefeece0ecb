package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// The write-back end to end: a signed webhook → the job → `infra-agent run`
// with the Actions runtime's OIDC token → the agent on the pull request's
// head (the default branch's policy declares the fix: no model) → a commit
// on the branch, a pull request, suggestions or a comment → complete → the
// check run concluded and the token revoked.

const (
	publicBucket = "  public = true\n"
	privateFix   = "  public = false\n"
)

// newFixWorld is the server and a fake GitHub whose pull request's head has
// a public prod bucket, the default branch's policy declaring the fix.
// protect turns branch protection on for main.
func newFixWorld(t *testing.T, protect bool, config string) *runnerWorld {
	t.Helper()
	dir := filepath.Join("testdata", "writeback")
	return newRunnerWorldFrom(t, filepath.Join(dir, "topic"), filepath.Join(dir, "main"), func(f *fakegithub.Server) {
		if protect {
			f.ProtectBranch(e2eOwner, e2eRepo, "main")
		}
		if config != "" {
			f.SetFile(e2eOwner, e2eRepo, "main", ".github/infra-agent.yml", []byte(config))
		}
	}, map[string]string{
		// Heartbeats every 30 s: none during these jobs, so the calls are the same every run.
		"INFRA_AGENT_HEARTBEAT_TIMEOUT": "90s",
	})
}

// trigger delivers a signed webhook and returns the job it dispatched.
func (w *runnerWorld) trigger(t *testing.T, event, delivery string, body []byte) (string, int64) {
	t.Helper()
	before := len(w.fake.Dispatches(e2eOwner, e2eRepo))
	if got := deliver(t, w.srv.url, event, delivery, body, e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	eventually(t, "the workflow dispatch", func() bool { return len(w.fake.Dispatches(e2eOwner, e2eRepo)) > before })
	d := w.fake.Dispatches(e2eOwner, e2eRepo)[before]
	return fmt.Sprint(d.Inputs[wire.WorkflowInput]), d.RunID
}

// runJob runs `infra-agent run` for the job in process, as the action does,
// and returns its output; the run must report the job (exit 0, or 1 for a
// job that failed: its check run says how).
func (w *runnerWorld) runJob(t *testing.T, jobID string, runID int64) string {
	t.Helper()
	env := w.actionsEnv(t, runID)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"run", "--job", jobID, "--terraform", w.tf},
		func(k string) string { return env[k] }, stdio{out: &out, err: &errOut})
	if code := exitCode(err, &errOut); code != 0 && code != 1 {
		t.Fatalf("infra-agent run exited %d\nstdout:\n%s\nstderr:\n%s\nserver:\n%s", code, out.String(), errOut.String(), w.srv.logs)
	}
	return out.String() + errOut.String()
}

// jobCheckRun is the job's own check run.
func (w *runnerWorld) jobCheckRun(t *testing.T, kind wire.Kind) fakegithub.CheckRun {
	t.Helper()
	runs := checkRunsNamed(w.fake, kind.CheckRunName())
	if len(runs) != 1 {
		t.Fatalf("%d %s check runs, want 1: %+v", len(runs), kind.CheckRunName(), runs)
	}
	return runs[0]
}

// restCalls are the REST calls made, without the App's own start-up calls.
func (w *runnerWorld) restCalls() []string {
	var calls []string
	for _, c := range w.fake.Calls() {
		if c != "GET /app" && c != "GET /app/hook/deliveries" {
			calls = append(calls, c)
		}
	}
	return calls
}

// notModified are the REST calls GitHub answered 304 Not Modified: a
// conditional request whose cached answer still held, which GitHub does not
// count against the rate limit.
func (w *runnerWorld) notModified() []string {
	var out []string
	for _, r := range w.fake.Requests() {
		if r.Status == http.StatusNotModified {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// TestFixEndToEnd: `/agent fix` on a pull request whose base branch is
// protected → one commit on the pull request's branch, made with the job's
// token, parent the job's head, fast-forward, with the trailers → the fix
// check run concluded success with the commit → the token revoked.
func TestFixEndToEnd(t *testing.T) {
	w := newFixWorld(t, true, "")
	head, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic")
	jobID, runID := w.trigger(t, "issue_comment", "delivery-fix", commentPayload(t, "/agent fix"))
	w.runJob(t, jobID, runID)

	commits := w.fake.GitCommits(e2eOwner, e2eRepo)
	if len(commits) != 1 {
		t.Fatalf("%d commits, want 1", len(commits))
	}
	c := commits[0]
	if now, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic"); now != c.SHA || !slices.Equal(c.Parents, []string{head}) {
		t.Errorf("topic at %s, commit %s with parents %v: want the commit on the job's head %s", now, c.SHA, c.Parents, head)
	}
	if w.fake.ForcePushes(e2eOwner, e2eRepo) != 0 {
		t.Error("a force push")
	}
	main := string(c.Files["envs/prod/main.tf"])
	headFiles := readTree(t, filepath.Join("testdata", "writeback", "topic"))
	if !strings.Contains(main, privateFix) || strings.Contains(main, publicBucket) || len(c.Files) != len(headFiles) ||
		!bytes.Equal(c.Files["modules/bucket/main.tf"], headFiles["modules/bucket/main.tf"]) {
		t.Errorf("the commit's files = %v, envs/prod/main.tf:\n%s", slices.Sorted(maps.Keys(c.Files)), main)
	}
	for _, trailer := range []string{"Infra-Agent-Job: " + jobID, "Requested-by: @" + e2eOwner, "Infra-Agent-Iterations: ",
		"Infra-Agent-Validation: passed", "Infra-Agent-Model: none (deterministic)", "Infra-Agent-Tokens: 0"} {
		if !strings.Contains(c.Message, "\n"+trailer) {
			t.Errorf("the commit message lacks %q:\n%s", trailer, c.Message)
		}
	}
	toks := runnerTokens(w.fake)
	if len(toks) != 1 || !maps.Equal(toks[0].Permissions, wire.KindFix.TokenPermissions()) || !toks[0].Revoked {
		t.Fatalf("runner tokens = %+v, want the fix kind's, revoked", toks)
	}
	for _, r := range w.fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/git/commits") || r.Method == "PATCH" && strings.Contains(r.Path, "/git/refs/") {
			if got := r.Header.Get("Authorization"); got != "Bearer "+toks[0].Token && got != "token "+toks[0].Token {
				t.Errorf("%s %s was not made with the job's token", r.Method, r.Path)
			}
		}
	}
	cr := w.jobCheckRun(t, wire.KindFix)
	if cr.Status != "completed" || cr.Conclusion != "success" || !strings.HasPrefix(cr.Output.Title, "Pushed "+c.SHA[:7]) ||
		!strings.Contains(cr.Output.Summary, "/commit/"+c.SHA) {
		t.Errorf("the fix check run = %s %s %q\n%s", cr.Status, cr.Conclusion, cr.Output.Title, cr.Output.Summary)
	}
	if err := w.srv.stop(); err != nil {
		t.Fatal(err)
	}
	if job, _ := jobState(t, w.db, jobID); job.State != store.JobSucceeded {
		t.Errorf("job = %s", job.State)
	}
	// The REST calls of a `/agent fix` that changes one file, server and
	// runner together, from the webhook to the revocation (the README quotes
	// the count). No configuration: each read falls back to the organisation's.
	r := "/repos/" + e2eOwner + "/" + e2eRepo
	want := fixCalls(head, cr.ID, "GET "+r+"/contents/.github/infra-agent.yml", "GET /repos/"+e2eOwner+"/.github")
	if got := w.restCalls(); !slices.Equal(got, want) {
		t.Errorf("REST calls of /agent fix (%d):\n  %s\nwant (%d):\n  %s", len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
	// Without a configuration every read is a 404, which no cache holds: all count against the rate limit.
	if got := w.notModified(); len(got) != 0 {
		t.Errorf("calls answered 304: %q, want none", got)
	}
	checkManifest(t, w.fake)
}

// fixCalls are the REST calls of a `/agent fix` that pushes one file, from
// the webhook to the check run's conclusion, given the calls of one read of
// the configuration.
func fixCalls(head string, checkRun int64, config ...string) []string {
	r := "/repos/" + e2eOwner + "/" + e2eRepo
	run := "PATCH " + r + fmt.Sprintf("/check-runs/%d", checkRun)
	// server, the webhook: configuration, permission, pull request, the head branch's protection (no push to a
	// protected head), check run, 👀, dispatch
	calls := append(slices.Clone(config), "GET "+r+"/collaborators/"+e2eOwner+"/permission", "GET "+r+"/pulls/1",
		"GET "+r+"/branches/topic", "GET "+r+"/rules/branches/topic", "POST "+r+"/check-runs",
		"POST "+r+"/issues/comments/396926483/reactions", "POST "+r+"/actions/workflows/infra-agent.yml/dispatches")
	// server, the claim: configuration, the check run in progress (the repository's ids came with the webhook)
	calls = append(append(calls, config...), run)
	// runner: source at the head, the default branch's policies, the base branch's protection, the head (moved?
	// its tree), the tree with the file's content inline, commit, fast-forward
	calls = append(calls, "GET "+r+"/tarball/"+head, "GET "+r+"/tarball/refs/heads/main", "GET "+r+"/branches/main",
		"GET "+r+"/branches/topic", "POST "+r+"/git/trees", "POST "+r+"/git/commits", "PATCH "+r+"/git/refs/heads/topic")
	// server, the complete: revocation, the check run concluded
	return append(calls, "DELETE /installation/token", run)
}

// TestFixCallsWithTheRepositorysConfiguration: the same `/agent fix` in a
// repository that has its own configuration, the usual case: no organisation
// fallback, and the claim's read of the configuration is a conditional
// request that GitHub answers 304 (not counted against the rate limit).
func TestFixCallsWithTheRepositorysConfiguration(t *testing.T) {
	w := newFixWorld(t, true, "version: 1\n")
	head, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic")
	jobID, runID := w.trigger(t, "issue_comment", "delivery-fix", commentPayload(t, "/agent fix"))
	w.runJob(t, jobID, runID)
	if commits := w.fake.GitCommits(e2eOwner, e2eRepo); len(commits) != 1 {
		t.Fatalf("%d commits, want 1", len(commits))
	}
	cr := w.jobCheckRun(t, wire.KindFix)
	config := "GET /repos/" + e2eOwner + "/" + e2eRepo + "/contents/.github/infra-agent.yml"
	want := fixCalls(head, cr.ID, config)
	if got := w.restCalls(); !slices.Equal(got, want) {
		t.Errorf("REST calls of /agent fix (%d):\n  %s\nwant (%d):\n  %s", len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
	if got := w.notModified(); !slices.Equal(got, []string{config}) {
		t.Errorf("calls answered 304: %q, want the claim's read of the configuration alone", got)
	}
}

// ourRepository are the edits that move an octokit payload to the test
// repository and installation.
func ourRepository(w *runnerWorld, edits map[string]any) map[string]any {
	out := map[string]any{
		"installation.id": 1, "repository.id": e2eRepoID, "repository.name": e2eRepo,
		"repository.full_name": e2eOwner + "/" + e2eRepo, "repository.owner.login": e2eOwner,
		"repository.owner.id": w.fake.UserID(e2eOwner), "repository.default_branch": "main",
		"sender.login": e2eOwner, "sender.type": "User",
	}
	maps.Copy(out, edits)
	return out
}

// TestFixOnAnUnprotectedBaseIsNotPushed: nothing would stop an unreviewed
// merge into main, so the job drops to suggestions: no commit, a comment
// with the change that says what protection is missing, the check run
// neutral.
func TestFixOnAnUnprotectedBaseIsNotPushed(t *testing.T) {
	w := newFixWorld(t, false, "")
	head, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic")
	jobID, runID := w.trigger(t, "issue_comment", "delivery-fix", commentPayload(t, "/agent fix"))
	w.runJob(t, jobID, runID)
	if now, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic"); now != head || len(w.fake.GitCommits(e2eOwner, e2eRepo)) != 0 {
		t.Errorf("topic at %s, %d commits: something was pushed", now, len(w.fake.GitCommits(e2eOwner, e2eRepo)))
	}
	comments := appComments(w.fake, e2ePR)
	if len(comments) != 1 || !strings.Contains(comments[0], "`main` has no branch protection and no ruleset") ||
		!strings.Contains(comments[0], "+  public = false") {
		t.Errorf("comments = %q, want one with the missing protection and the change", comments)
	}
	cr := w.jobCheckRun(t, wire.KindFix)
	if cr.Conclusion != "neutral" || cr.Output.Title != "Suggested, not pushed" {
		t.Errorf("check run = %s %q", cr.Conclusion, cr.Output.Title)
	}
	if toks := runnerTokens(w.fake); len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("tokens = %+v", toks)
	}
}

// TestFixWhenTheBranchMoved: someone pushed to the branch after the job
// started: nothing is pushed, the pull request is told, and the check run
// offers to run again.
func TestFixWhenTheBranchMoved(t *testing.T) {
	w := newFixWorld(t, true, "")
	jobID, runID := w.trigger(t, "issue_comment", "delivery-fix", commentPayload(t, "/agent fix"))
	head, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic")
	files := readTree(t, filepath.Join("testdata", "writeback", "topic"))
	moved := strings.Repeat("9", 40)
	w.fake.SetFiles(e2eOwner, e2eRepo, head, files) // the job's head keeps its files
	w.fake.SetFiles(e2eOwner, e2eRepo, moved, files)
	w.fake.AddBranch(e2eOwner, e2eRepo, "topic", moved)
	w.runJob(t, jobID, runID)
	if now, _ := w.fake.Branch(e2eOwner, e2eRepo, "topic"); now != moved || w.fake.ForcePushes(e2eOwner, e2eRepo) != 0 {
		t.Errorf("topic at %s: the other push was overwritten", now)
	}
	if n := len(w.fake.GitCommits(e2eOwner, e2eRepo)); n != 0 {
		t.Errorf("%d commits made for a branch that moved", n)
	}
	cr := w.jobCheckRun(t, wire.KindFix)
	if cr.Conclusion != "neutral" || !strings.Contains(cr.Output.Summary, "moved to 9999999") ||
		!strings.Contains(cr.Output.Summary, "Comment `/agent fix` to run again") {
		t.Errorf("check run = %s %q\n%s", cr.Conclusion, cr.Output.Title, cr.Output.Summary)
	}
	if got := appComments(w.fake, e2ePR); len(got) != 1 || !strings.Contains(got[0], "nothing pushed") {
		t.Errorf("comments = %q", got)
	}
}

// TestFixNeedingReview: a change that does not pass every check (here: the
// instructions ask for more than the policy's fix, and no model is
// configured) is not pushed, its diff is posted instead; with
// fix.push_needs_review it is pushed, marked in its commit.
func TestFixNeedingReview(t *testing.T) {
	for _, push := range []bool{false, true} {
		t.Run(fmt.Sprintf("push_needs_review=%v", push), func(t *testing.T) {
			config := ""
			if push {
				config = "version: 1\nfix:\n  push_needs_review: true\n"
			}
			w := newFixWorld(t, true, config)
			jobID, runID := w.trigger(t, "issue_comment", "delivery-fix", commentPayload(t, "/agent fix and rename the bucket"))
			w.runJob(t, jobID, runID)
			cr := w.jobCheckRun(t, wire.KindFix)
			commits := w.fake.GitCommits(e2eOwner, e2eRepo)
			comments := appComments(w.fake, e2ePR)
			if cr.Conclusion != "neutral" || !strings.Contains(cr.Output.Summary, "needs review") {
				t.Errorf("check run = %s %q\n%s", cr.Conclusion, cr.Output.Title, cr.Output.Summary)
			}
			switch {
			case !push && (len(commits) != 0 || len(comments) != 1 || !strings.Contains(comments[0], "+  public = false")):
				t.Errorf("%d commits, comments %q: want the diff in one comment, nothing pushed", len(commits), comments)
			case push && (len(commits) != 1 || !strings.Contains(commits[0].Message, "Infra-Agent-Validation: needs review") || len(comments) != 0):
				t.Errorf("commits %+v, comments %q: want one pushed commit marked needs review", commits, comments)
			}
		})
	}
}

// appComments are the App's comments on an issue or pull request.
func appComments(fake *fakegithub.Server, number int) []string {
	var out []string
	for _, c := range fake.Comments(e2eOwner, e2eRepo, number) {
		if c.User == "infra-agent[bot]" {
			out = append(out, c.Body)
		}
	}
	return out
}
