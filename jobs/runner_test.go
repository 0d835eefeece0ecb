package jobs

import (
	"context"
	"fmt"
	"testing"

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// TestReconcileStarted: after a restart, a job whose workflow run completed
// while the server was down is closed; one whose run goes on is left to its
// heartbeats.
func TestReconcileStarted(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(commentTask(ActionRun, wire.KindPlan, "alice", h.addComment("alice", "/agent plan")))
	job := h.onlyJob()
	if job.RunID == 0 {
		t.Fatal("no run id at dispatch")
	}
	h.fake.SetRunStatus(testOwner, testRepo, job.RunID, "in_progress", "")
	h.callsSince()
	if err := h.svc.ReconcileStarted(h.ctx("start")); err != nil {
		t.Fatal(err)
	}
	h.expectCalls(fmt.Sprintf("GET /repos/acme/infra/actions/runs/%d", job.RunID))
	if got := h.onlyJob(); got.State != store.JobDispatched {
		t.Fatalf("a job whose run goes on is %s", got.State)
	}

	h.fake.SetRunStatus(testOwner, testRepo, job.RunID, "completed", "failure")
	if err := h.svc.ReconcileStarted(h.ctx("start")); err != nil {
		t.Fatal(err)
	}
	got := h.onlyJob()
	if got.State != store.JobFailed || !got.CheckRunDone {
		t.Errorf("job = %s, check run done %v; want failed and concluded", got.State, got.CheckRunDone)
	}
	if cr := h.checkRun(job.CheckRunID); cr.Conclusion != "failure" {
		t.Errorf("check run = %s", cr.Conclusion)
	}
	ended, err := h.store.ListJobs(context.Background(), store.JobFilter{States: []store.JobState{store.JobDispatched, store.JobRunning}})
	if err != nil || len(ended) != 0 {
		t.Errorf("jobs left to reconcile: %v %v", ended, err)
	}
}
