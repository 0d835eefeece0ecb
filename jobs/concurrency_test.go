package jobs

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// TestSubmitSameTriggerConcurrently: five deliveries of one comment at once
// (a replica whose lease lapsed while another took the delivery over) make
// one job, one check run and one dispatch. Those that find the job being set
// up say so (ErrBusy: the intake retries them), and their retries change
// nothing.
func TestSubmitSameTriggerConcurrently(t *testing.T) {
	h := newHarness(t, nil)
	id := h.addComment("alice", "/agent fix")
	task := commentTask(ActionRun, wire.KindFix, "alice", id)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- h.svc.Submit(h.ctx(task.DeliveryID), task)
		}()
	}
	wg.Wait()
	close(errs)
	busy := 0
	for err := range errs {
		switch {
		case errors.Is(err, ErrBusy):
			busy++
		case err != nil:
			t.Fatal(err)
		}
	}
	for range busy {
		h.submit(task)
	}
	h.onlyJob()
	if n := len(h.fake.CheckRuns(testOwner, testRepo)); n != 1 {
		t.Errorf("%d check runs, want 1", n)
	}
	if n := len(h.fake.Dispatches(testOwner, testRepo)); n != 1 {
		t.Errorf("%d dispatches, want 1", n)
	}
	if got := h.fake.Reactions(testOwner, testRepo, id); len(got) != 1 {
		t.Errorf("reactions = %v, want one", got)
	}
}

// TestSweepTwoReplicas: two servers sharing one database sweep at the same
// time; the stale job is concluded once.
func TestSweepTwoReplicas(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.callsSince()
	job := h.onlyJob()
	other, err := NewService(ServiceOptions{
		Store: h.store, Clients: h.svc.clients, AppID: h.svc.appID, AppSlug: h.svc.appSlug, Now: h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(6 * time.Minute)

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, svc := range []*Service{h.svc, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- svc.Sweep(h.ctx("watchdog"))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	h.expectCalls(callCancelRun(job.RunID), callPatchCheckRun(job.CheckRunID), callCommentPR)
	if j := h.onlyJob(); j.State != store.JobTimedOut {
		t.Errorf("job is %s, want timed_out", j.State)
	}
}
