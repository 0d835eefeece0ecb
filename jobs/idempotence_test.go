package jobs

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// TestRepliesArePostedOnce: a comment GitHub created before answering 502 is
// found by its hidden marker instead of being posted again, by the same
// attempt or, when that attempt could not look, by the trigger's retry.
func TestRepliesArePostedOnce(t *testing.T) {
	t.Run("found by the attempt that got the 502", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.FailNextAfterApplying("POST", `/issues/12/comments$`, 1, http.StatusBadGateway)
		task := commentTask(ActionHelp, "", "alice", h.addComment("alice", "/agent help"))
		h.submit(task)
		h.submit(task) // redelivered
		if got := h.appComments(testPR); len(got) != 1 {
			t.Errorf("%d help replies, want 1", len(got))
		}
	})
	t.Run("found by the retry", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.FailNextAfterApplying("POST", `/issues/12/comments$`, 1, http.StatusBadGateway)
		h.fake.FailNext("GET", `/issues/12/comments$`, 1, http.StatusInternalServerError, nil)
		task := commentTask(ActionUnknown, "", "alice", h.addComment("alice", "/agent frobnicate"))
		task.Command = "frobnicate"
		if err := h.svc.Submit(h.ctx(task.DeliveryID), task); err == nil {
			t.Fatal("Submit returned no error although it could not tell whether its reply was posted")
		}
		h.clock.Advance(time.Minute) // the intake retries a minute later at the earliest
		h.submit(task)
		got := h.appComments(testPR)
		if len(got) != 1 || !strings.Contains(got[0], "frobnicate") {
			t.Errorf("replies = %q, want one", got)
		}
	})
}

// TestDispatchAppliedThen502DispatchesOnce: GitHub starts the run and answers
// 502; the retry looks for the run by the job id in its title before
// dispatching again, and binds the job to it.
func TestDispatchAppliedThen502DispatchesOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.FailNextAfterApplying("POST", dispatchPath, 1, http.StatusBadGateway)
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.svc.Wait()
	ds := h.fake.Dispatches(testOwner, testRepo)
	job := h.onlyJob()
	if len(ds) != 1 {
		t.Fatalf("%d dispatches, want 1", len(ds))
	}
	if job.State != store.JobDispatched || job.RunID != ds[0].RunID {
		t.Errorf("job %s bound to run %d, want dispatched and bound to %d", job.State, job.RunID, ds[0].RunID)
	}
}

// TestSupersedeWhenTheRunIsGone: cancelling the older job's run, which GitHub
// answers 404 (deleted) or 409 (completed), leaves nothing to do: the newer
// job is created and the handler succeeds instead of being retried.
func TestSupersedeWhenTheRunIsGone(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusConflict} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t, nil)
			h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
			older := h.onlyJob()
			if status == http.StatusConflict {
				h.fake.SetRunStatus(testOwner, testRepo, older.RunID, "completed", "failure")
			} else {
				h.fake.FailNext("POST", `/actions/runs/\d+/cancel$`, 1, status, nil)
			}
			h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix again")))
			js := h.jobs()
			if len(js) != 2 || js[0].State != store.JobSuperseded || !js[0].CheckRunDone || js[1].State != store.JobDispatched {
				t.Errorf("jobs = %s (check run done %v) and %s, want superseded and concluded, then dispatched",
					js[0].State, js[0].CheckRunDone, js[len(js)-1].State)
			}
		})
	}
}

// TestAutofixCapHoldsUnderConcurrentChecks: failing checks that arrive
// together create no more automatic fixes than autofix.max_attempts (the cap
// is counted in the transaction that creates the job); the others are told.
func TestAutofixCapHoldsUnderConcurrentChecks(t *testing.T) {
	h := newHarness(t, nil)
	h.setConfig("main", "version: 1\nautofix:\n  checks: [ci/test]\n  max_attempts: 1\n")
	check := func(id int64) Task { return checkTask(id, "github-actions[bot]") }
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := check(int64(600 + i))
			if err := h.svc.Submit(h.ctx(task.DeliveryID), task); err != nil && !errors.Is(err, ErrBusy) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	h.svc.Wait()
	if js := h.jobs(); len(js) != 1 {
		t.Errorf("%d automatic fixes, want 1 (autofix.max_attempts)", len(js))
	}
	// Three checks were refused; the pull request is told once.
	if got := h.appComments(testPR); len(got) != 1 || !strings.Contains(got[0], "stopped fixing this pull request automatically") {
		t.Errorf("replies about the cap = %q, want one", got)
	}
}
