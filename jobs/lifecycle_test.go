package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

const dispatchPath = `/repos/acme/infra/actions/workflows/infra-agent\.yml/dispatches$`

func TestDispatchRetriesThenSucceeds(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.FailNext("POST", dispatchPath, 2, 502, nil)
	id := h.addComment("alice", "/agent fix")
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", id))
	h.svc.Wait()

	// Before each retry, the run an earlier attempt may have started is
	// looked for.
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules, callCheckRun, callReaction(id),
		callDispatch, callRuns, callDispatch, callRuns, callDispatch)
	job := h.onlyJob()
	if job.State != store.JobDispatched || job.DispatchAttempts != 3 {
		t.Errorf("job %s after %d attempts, want dispatched after 3", job.State, job.DispatchAttempts)
	}
	if n := len(h.fake.Dispatches(testOwner, testRepo)); n != 1 {
		t.Errorf("%d dispatches accepted, want 1", n)
	}
	if cr := h.checkRun(job.CheckRunID); cr.Status != "queued" {
		t.Errorf("check run is %s, want queued", cr.Status)
	}
	if got := testutil.ToFloat64(h.svc.metrics.dispatches.WithLabelValues("retry")); got != 2 {
		t.Errorf("dispatch retry metric = %v, want 2", got)
	}
}

func TestDispatchFailsForGood(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		attempts int
		reason   string
	}{
		{name: "server errors", status: 502, attempts: 4, reason: "GitHub answered 502"},
		// A missing workflow will not appear by waiting: no retries.
		{name: "no workflow", status: 404, attempts: 1, reason: "the workflow file is missing on the default branch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.FailNext("POST", dispatchPath, 10, tt.status, nil)
			id := h.addComment("alice", "/agent fix")
			h.submit(commentTask(ActionRun, wire.KindFix, "alice", id))
			h.svc.Wait()

			want := []string{callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules, callCheckRun, callReaction(id)}
			for i := range tt.attempts {
				if i > 0 {
					want = append(want, callRuns)
				}
				want = append(want, callDispatch)
			}
			job := h.onlyJob()
			want = append(want, callPatchCheckRun(job.CheckRunID))
			h.expectCalls(want...)

			if job.State != store.JobFailed || job.DispatchAttempts != tt.attempts || !strings.Contains(job.Detail, tt.reason) {
				t.Errorf("job %s after %d attempts (%q), want failed after %d", job.State, job.DispatchAttempts, job.Detail, tt.attempts)
			}
			cr := h.checkRun(job.CheckRunID)
			if cr.Status != "completed" || cr.Conclusion != "failure" || !strings.Contains(cr.Output.Summary, tt.reason) {
				t.Errorf("check run %s/%s:\n%s\nwant completed/failure naming %q", cr.Status, cr.Conclusion, cr.Output.Summary, tt.reason)
			}
			if n := len(h.fake.Dispatches(testOwner, testRepo)); n != 0 {
				t.Errorf("%d dispatches accepted, want 0", n)
			}
		})
	}
}

// TestDispatchRetryStopsWhenSuperseded: a newer job takes over while the
// older one waits to retry; the older one is not dispatched after all.
func TestDispatchRetryStopsWhenSuperseded(t *testing.T) {
	h := newHarness(t, func(o *ServiceOptions) { o.DispatchBackoff = []time.Duration{time.Hour} })
	waiting, release := make(chan struct{}), make(chan struct{})
	h.svc.sleep = func(ctx context.Context, d time.Duration) error {
		if d != time.Hour {
			t.Errorf("backoff %s, want the configured hour", d)
		}
		close(waiting)
		<-release
		return nil
	}
	h.fake.FailNext("POST", dispatchPath, 1, 503, nil)
	first := h.addComment("alice", "/agent fix")
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", first))
	<-waiting
	older := h.onlyJob()
	second := h.addComment("alice", "/agent fix again")
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", second))
	close(release)
	h.svc.Wait()

	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules, callCheckRun, callReaction(first), callDispatch,
		callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules, callPatchCheckRun(older.CheckRunID), callCheckRun, callReaction(second), callDispatch)
	js := h.jobs()
	if js[0].ID != older.ID || js[0].State != store.JobSuperseded || js[1].State != store.JobDispatched {
		t.Errorf("jobs are %s and %s, want superseded and dispatched", js[0].State, js[1].State)
	}
	if ds := h.fake.Dispatches(testOwner, testRepo); len(ds) != 1 || ds[0].Inputs[wire.WorkflowInput] != js[1].ID {
		t.Errorf("dispatches = %+v, want only the newer job's", ds)
	}
}

func TestRemediationOnIssue(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.SetFile(testOwner, testRepo, "main", ".github/infra-agent.yml", []byte("version: 1\nremediate:\n  enabled: true\n"))
	h.fake.AddIssue(testOwner, testRepo, fakegithub.Issue{Number: 30, Title: "S3 bucket is public", Body: "make it private", User: "alice"})
	task := Task{
		Action: ActionRun, Kind: wire.KindRemediate, Source: SourceIssues, SourceID: 7030, DeliveryID: "delivery-label",
		InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
		Number: 30, Actor: "alice", ActorType: "User", Label: "infra-agent:remediate",
		Instructions: "S3 bucket is public\n\nmake it private",
	}
	h.submit(task)
	h.expectCalls(callConfig, callPermission("alice"), "GET /repos/acme/infra/branches/main", callCheckRun, callDispatch)
	job := h.onlyJob()
	cr := h.checkRun(job.CheckRunID)
	if cr.Name != "infra-agent/remediate" || cr.HeadSHA == "" || cr.HeadSHA != job.HeadSHA {
		t.Errorf("check run %s on %q, want infra-agent/remediate on the default branch head %q", cr.Name, cr.HeadSHA, job.HeadSHA)
	}

	other := task
	other.Label, other.DeliveryID = "bug", "delivery-label-2"
	h.submit(other)
	h.expectCalls(callConfig)
	h.onlyJob()
}

func TestWatchdogTimesOutQueuedJob(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.callsSince()
	job := h.onlyJob()
	ctx := h.ctx("watchdog")

	h.clock.Advance(4 * time.Minute)
	if err := h.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	h.expectCalls() // not yet

	h.clock.Advance(2 * time.Minute)
	if err := h.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	// The run is cancelled too: no runner keeps working for a job that ended.
	h.expectCalls(callCancelRun(job.RunID), callPatchCheckRun(job.CheckRunID), callCommentPR)
	if j := h.onlyJob(); j.State != store.JobTimedOut {
		t.Errorf("job is %s, want timed_out", j.State)
	}
	cr := h.checkRun(job.CheckRunID)
	if cr.Conclusion != "timed_out" {
		t.Errorf("check run conclusion %q, want timed_out", cr.Conclusion)
	}
	got := h.appComments(testPR)
	if len(got) != 1 {
		t.Fatalf("comments = %q, want 1", got)
	}
	for _, want := range []string{"No runner picked up job", "`.github/workflows/infra-agent.yml` exists on the default branch `main`",
		"`workflow_dispatch`", "GitHub Actions is enabled", "a runner is available"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("timeout comment does not say %q:\n%s", want, got[0])
		}
	}

	// A second pass, or a second replica, finds nothing to do.
	if err := h.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	h.expectCalls()
}

func TestWatchdogRunningWithoutHeartbeat(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(commentTask(ActionRun, wire.KindPlan, "alice", h.addComment("alice", "/agent plan")))
	h.callsSince()
	job := h.onlyJob()
	running, beat := store.JobRunning, h.clock.Now()
	if _, err := h.store.UpdateJob(context.Background(), job.ID, nil, store.JobUpdate{State: &running, HeartbeatAt: &beat}); err != nil {
		t.Fatal(err)
	}
	// Heartbeats keep it alive past the queued limit: three missed ones
	// (90 s) end it, not the 15 minutes a job without heartbeats would get.
	for range 12 {
		h.clock.Advance(30 * time.Second)
		beat := h.clock.Now()
		if _, err := h.store.UpdateJob(context.Background(), job.ID, nil, store.JobUpdate{HeartbeatAt: &beat}); err != nil {
			t.Fatal(err)
		}
	}
	h.clock.Advance(90 * time.Second)
	if err := h.svc.Sweep(h.ctx("watchdog")); err != nil {
		t.Fatal(err)
	}
	h.expectCalls()

	h.clock.Advance(time.Second)
	if err := h.svc.Sweep(h.ctx("watchdog")); err != nil {
		t.Fatal(err)
	}
	h.expectCalls(callCancelRun(job.RunID), callPatchCheckRun(job.CheckRunID), callCommentPR)
	if got := h.appComments(testPR); len(got) != 1 || !strings.Contains(got[0], "no heartbeat for 1m30s") {
		t.Errorf("comments = %q", got)
	}
}

func TestReconcileRun(t *testing.T) {
	tests := []struct {
		name       string
		conclusion string
		byTitle    bool
		state      store.JobState
		checkRun   string
		note       string
	}{
		{name: "failure", conclusion: "failure", state: store.JobFailed, checkRun: "failure", note: "ended with `failure`"},
		{name: "cancelled by title", conclusion: "cancelled", byTitle: true, state: store.JobCancelled, checkRun: "cancelled", note: "was cancelled"},
		{name: "timed out", conclusion: "timed_out", state: store.JobTimedOut, checkRun: "timed_out", note: "hit its time limit"},
		{name: "success without report", conclusion: "success", state: store.JobFailed, checkRun: "failure", note: "the runner ended without reporting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
			h.callsSince()
			job := h.onlyJob()
			runID := job.RunID
			if tt.byTitle || runID == 0 {
				// As after a 204 from an older GitHub Enterprise Server: no run id.
				zero := int64(0)
				if _, err := h.store.UpdateJob(context.Background(), job.ID, nil, store.JobUpdate{RunID: &zero}); err != nil {
					t.Fatal(err)
				}
				runID = 777
			}
			ev := RunEvent{
				InstallationID: 1, Owner: testOwner, Repo: testRepo, RunID: runID,
				WorkflowPath: ".github/workflows/infra-agent.yml", DisplayTitle: RunTitlePrefix + job.ID,
				HeadBranch: "main", Conclusion: tt.conclusion, Event: "workflow_dispatch", RepoID: 1001, HeadRepoID: 1001,
			}
			if err := h.svc.ReconcileRun(h.ctx("delivery-run"), ev); err != nil {
				t.Fatal(err)
			}
			h.expectCalls(callPatchCheckRun(job.CheckRunID))
			got := h.onlyJob()
			if got.State != tt.state || got.RunID != runID {
				t.Errorf("job %s run %d, want %s run %d", got.State, got.RunID, tt.state, runID)
			}
			cr := h.checkRun(job.CheckRunID)
			if cr.Conclusion != tt.checkRun || !strings.Contains(cr.Output.Summary, tt.note) ||
				!strings.Contains(cr.Output.Summary, "/acme/infra/actions/runs/") {
				t.Errorf("check run %s:\n%s\nwant %s with %q and a link to the run", cr.Conclusion, cr.Output.Summary, tt.checkRun, tt.note)
			}

			// The same event again: the job is no longer active.
			if err := h.svc.ReconcileRun(h.ctx("delivery-run"), ev); err != nil {
				t.Fatal(err)
			}
			h.expectCalls()
		})
	}
}

func TestReconcileRunIgnoresUnknownRuns(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.callsSince()
	job := h.onlyJob()
	events := map[string]RunEvent{
		"other run":           {InstallationID: 1, Owner: testOwner, Repo: testRepo, RunID: 424299, DisplayTitle: "CI", Conclusion: "failure"},
		"unknown job id":      {InstallationID: 1, Owner: testOwner, Repo: testRepo, RunID: 424299, DisplayTitle: RunTitlePrefix + "nope", Conclusion: "failure"},
		"same id, other repo": {InstallationID: 1, Owner: testOwner, Repo: "other", RunID: 424299, DisplayTitle: RunTitlePrefix + job.ID, Conclusion: "failure"},
		"same id, other flow": {InstallationID: 1, Owner: testOwner, Repo: testRepo, RunID: 424299, WorkflowPath: ".github/workflows/ci.yml", DisplayTitle: RunTitlePrefix + job.ID, Conclusion: "failure"},
		"not completed":       {InstallationID: 1, Owner: testOwner, Repo: testRepo, RunID: job.RunID, DisplayTitle: RunTitlePrefix + job.ID},
	}
	for name, ev := range events {
		t.Run(name, func(t *testing.T) {
			if err := h.svc.ReconcileRun(h.ctx("delivery-run"), ev); err != nil {
				t.Fatal(err)
			}
			h.expectCalls()
			if j := h.onlyJob(); j.State != store.JobDispatched {
				t.Errorf("job is %s, want still dispatched", j.State)
			}
		})
	}
}

// TestCheckRunCreationRefused: a check run GitHub refuses for good (422: the
// head commit is gone) fails the job before dispatch, and the failure is
// explained in a comment; a redelivery finds the job and stays quiet.
func TestCheckRunCreationRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.FailNext("POST", `/repos/acme/infra/check-runs$`, 1, 422, nil)
	id := h.addComment("alice", "/agent fix")
	task := commentTask(ActionRun, wire.KindFix, "alice", id)
	if err := h.svc.Submit(h.ctx(task.DeliveryID), task); err == nil {
		t.Error("Submit hid the check run failure")
	}
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules, callCheckRun, callCommentPR)
	if j := h.onlyJob(); j.State != store.JobFailed || j.CheckRunID != 0 {
		t.Errorf("job %s with check run %d, want failed without one", j.State, j.CheckRunID)
	}
	if got := h.appComments(testPR); len(got) != 1 || !strings.Contains(got[0], "could not create its check run") {
		t.Errorf("comments = %q", got)
	}
	if n := len(h.fake.Dispatches(testOwner, testRepo)); n != 0 {
		t.Errorf("%d dispatches, want none", n)
	}

	// The redelivery finds the job and stays quiet.
	if err := h.svc.Submit(h.ctx(task.DeliveryID), task); err != nil {
		t.Fatal(err)
	}
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules)
}

// TestCheckRunCreationResumes: when the check run's creation fails without
// saying whether GitHub made it (a 5xx, a timeout), the job keeps its place
// and the trigger's retry carries on from that step: it looks for the check
// run by its external id, creates it only if absent, and dispatches. One job,
// one check run, one dispatch, whichever way the 5xx went. (A retry used to
// find the job and stop there, leaving no dispatch and, when GitHub had made
// it, a check run queued forever.)
func TestCheckRunCreationResumes(t *testing.T) {
	for _, applied := range []bool{false, true} {
		t.Run(map[bool]string{false: "not created", true: "created, then 502"}[applied], func(t *testing.T) {
			h := newHarness(t, nil)
			if applied {
				h.fake.FailNextAfterApplying("POST", `/repos/acme/infra/check-runs$`, 1, 502)
			} else {
				h.fake.FailNext("POST", `/repos/acme/infra/check-runs$`, 1, 500, nil)
			}
			id := h.addComment("alice", "/agent fix")
			task := commentTask(ActionRun, wire.KindFix, "alice", id)
			err := h.svc.Submit(h.ctx(task.DeliveryID), task)
			if applied {
				// The look after the 502 finds it: no error, nothing left.
				if err != nil {
					t.Fatalf("Submit: %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("Submit hid the failure: the trigger would not be retried")
				}
				if j := h.onlyJob(); j.State != store.JobQueued || j.CheckRunID != 0 || len(h.appComments(testPR)) != 0 {
					t.Fatalf("after the failed attempt: job %s with check run %d, comments %q; want queued, none, none", j.State, j.CheckRunID, h.appComments(testPR))
				}
				h.submit(task) // the intake's retry
			}
			job := h.onlyJob()
			if crs := h.fake.CheckRuns(testOwner, testRepo); len(crs) != 1 || crs[0].ID != job.CheckRunID || crs[0].ExternalID != job.ID {
				t.Errorf("check runs = %+v, want exactly the job's (%d)", crs, job.CheckRunID)
			}
			if ds := h.fake.Dispatches(testOwner, testRepo); len(ds) != 1 || job.State != store.JobDispatched {
				t.Errorf("job %s with %d dispatches, want dispatched once", job.State, len(ds))
			}
			if got := h.fake.Reactions(testOwner, testRepo, id); len(got) != 1 {
				t.Errorf("reactions = %v, want one", got)
			}
		})
	}
}

// TestShutdownEndsDispatchRetries: a retry that would wait past the shutdown
// deadline fails its job at once, with a reason on the check run, instead of
// holding the server's exit or leaving the check run queued.
func TestShutdownEndsDispatchRetries(t *testing.T) {
	h := newHarness(t, func(o *ServiceOptions) { o.DispatchBackoff = []time.Duration{time.Hour} })
	h.fake.FailNext("POST", dispatchPath, 1, 503, nil)
	id := h.addComment("alice", "/agent fix")
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", id))

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.svc.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want the deadline's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown waited for the hour-long backoff")
	}
	job := h.onlyJob()
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules, callCheckRun, callReaction(id),
		callDispatch, callPatchCheckRun(job.CheckRunID))
	if job.State != store.JobFailed || !strings.Contains(job.Detail, "server shut down") {
		t.Errorf("job %s (%q), want failed because the server shut down", job.State, job.Detail)
	}
	if cr := h.checkRun(job.CheckRunID); cr.Status != "completed" || cr.Conclusion != "failure" || !strings.Contains(cr.Output.Summary, "server shut down") {
		t.Errorf("check run %s/%s:\n%s", cr.Status, cr.Conclusion, cr.Output.Summary)
	}
	// Nothing left to wait for: a second Shutdown returns at once.
	if err := h.svc.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}

	// A webhook still running after shutdown began starts no retry that
	// nobody would wait for: its job fails at once.
	h.fake.FailNext("POST", dispatchPath, 1, 503, nil)
	late := h.addComment("alice", "/agent fix later")
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", late))
	js := h.jobs()
	if last := js[len(js)-1]; last.State != store.JobFailed || !strings.Contains(last.Detail, "server shut down") {
		t.Errorf("late job %s (%q), want failed because the server shut down", last.State, last.Detail)
	}
}

// TestFailDispatchOutlivesItsCaller: the dispatch that gave up may have done
// so because its context ended; failing the job must not depend on it.
func TestFailDispatchOutlivesItsCaller(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.FailNext("POST", dispatchPath, 1, 404, nil)
	id := h.addComment("alice", "/agent fix")
	task := commentTask(ActionRun, wire.KindFix, "alice", id)
	h.submit(task)
	h.callsSince()
	// Back to queued, as a job whose last dispatch attempt was cut short.
	job := h.onlyJob()
	queued := store.JobQueued
	if _, err := h.store.UpdateJob(context.Background(), job.ID, nil, store.JobUpdate{State: &queued}); err != nil {
		t.Fatal(err)
	}
	client, err := h.svc.clients.NewInstallationClient(1)
	if err != nil {
		t.Fatal(err)
	}

	ended, cancel := context.WithCancel(h.ctx(task.DeliveryID))
	cancel()
	if err := h.svc.failDispatch(ended, client, job, 2, context.Canceled); err != nil {
		t.Fatalf("failDispatch: %v", err)
	}
	h.expectCalls(callPatchCheckRun(job.CheckRunID))
	if j := h.onlyJob(); j.State != store.JobFailed || j.DispatchAttempts != 2 {
		t.Errorf("job %s after %d attempts, want failed after 2", j.State, j.DispatchAttempts)
	}
}

// TestWatchdogConcludesCheckRunsGitHubRefused cancels a job while GitHub
// refuses the check-run update: the job ends in the database with its check
// run still queued on GitHub, and the next watchdog pass concludes it.
func TestWatchdogConcludesCheckRunsGitHubRefused(t *testing.T) {
	h := newHarness(t, func(o *ServiceOptions) { o.ConcludeGrace = time.Nanosecond })
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.callsSince()
	job := h.onlyJob()

	h.fake.FailNext(http.MethodPatch, `/check-runs/`, 1, http.StatusBadGateway, nil)
	err := h.svc.Submit(h.ctx("cancel"), commentTask(ActionCancel, "", "alice", h.addComment("alice", "/agent cancel")))
	if err == nil {
		t.Fatal("Submit returned no error although GitHub refused the check-run update")
	}
	h.callsSince()
	if cr := h.checkRun(job.CheckRunID); cr.Status == "completed" {
		t.Fatalf("check run completed although GitHub refused the update: %+v", cr)
	}
	if j := h.onlyJob(); j.State != store.JobCancelled || j.CheckRunDone {
		t.Fatalf("job is %s (check run done %v), want cancelled with its check run open", j.State, j.CheckRunDone)
	}

	if err := h.svc.Sweep(h.ctx("watchdog")); err != nil {
		t.Fatal(err)
	}
	h.expectCalls(callPatchCheckRun(job.CheckRunID))
	cr := h.checkRun(job.CheckRunID)
	if cr.Status != "completed" || cr.Conclusion != "cancelled" || !strings.Contains(cr.Output.Summary, "concluded late") {
		t.Errorf("check run %s/%s, want completed/cancelled, concluded late:\n%s", cr.Status, cr.Conclusion, cr.Output.Summary)
	}
	if j := h.onlyJob(); !j.CheckRunDone {
		t.Error("the late conclusion was not recorded")
	}

	// Done once: the next pass leaves it alone.
	if err := h.svc.Sweep(h.ctx("watchdog")); err != nil {
		t.Fatal(err)
	}
	h.expectCalls()
}

// TestFixFromAReviewComment: `/agent fix` in a review comment on a line of
// the diff makes a fix job keyed by that comment, acknowledged with 👀 on it;
// the same comment delivered again makes no second job.
func TestFixFromAReviewComment(t *testing.T) {
	h := newHarness(t, nil)
	id := h.fake.AddReviewComment(testOwner, testRepo, testPR, fakegithub.ReviewComment{User: "alice", Body: "/agent fix", Path: "main.tf", Line: 3})
	task := commentTask(ActionRun, wire.KindFix, "alice", id)
	task.Source = SourceReviewComment
	h.submit(task)
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules, callCheckRun,
		fmt.Sprintf("POST /repos/acme/infra/pulls/comments/%d/reactions", id), callDispatch)
	job := h.onlyJob()
	if job.TriggerSource != string(SourceReviewComment) || job.TriggerID != id || job.Kind != wire.KindFix {
		t.Errorf("job = %+v", job)
	}
	if got := h.fake.Reactions(testOwner, testRepo, id); !slices.Equal(got, []string{"eyes"}) {
		t.Errorf("reactions on the review comment = %v", got)
	}
	task.DeliveryID = "redelivered"
	h.submit(task)
	h.onlyJob()
}
