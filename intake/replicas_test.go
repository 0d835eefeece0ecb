package intake_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
)

// pendingCount reads how many deliveries are pending, through the store.
func pendingCount(t *testing.T, st store.Store) int {
	t.Helper()
	ds, err := st.PendingDeliveries(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

// TestTwoReplicasRunEachDeliveryOnce runs two servers' intakes on one
// PostgreSQL database. The second starts while the first still works on what
// it received, recovers, sweeps continuously, and gets GitHub's redeliveries
// of the same ids: every delivery runs once. (The sweep's grace period and
// Recover used to run the first replica's deliveries a second time.)
func TestTwoReplicasRunEachDeliveryOnce(t *testing.T) {
	dsn := testkit.PostgresSchema(t)
	body := fixture(t, "issue_comment-00-created.json")
	slow := func(context.Context, string) { time.Sleep(50 * time.Millisecond) }
	recA, recB := newRecorder("issue_comment"), newRecorder("issue_comment")
	recA.inspect, recB.inspect = slow, slow
	a := newHarness(t, dsn, []githubapp.EventHandler{recA}, intake.WithWorkers(2), intake.WithSweepInterval(5*time.Millisecond))
	var ids []string
	for i := range 12 {
		id := fmt.Sprintf("replicated-%d", i)
		ids = append(ids, id)
		if got := a.postSigned("issue_comment", id, body); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	b := newHarness(t, dsn, []githubapp.EventHandler{recB}, intake.WithWorkers(2), intake.WithSweepInterval(5*time.Millisecond))
	if err := b.sched.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := b.postSigned("issue_comment", id, body); got != http.StatusOK {
				t.Errorf("redelivery of %s to the second replica: status %d", id, got)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every delivery to be processed", func() bool { return pendingCount(t, a.store) == 0 })
	time.Sleep(50 * time.Millisecond) // more sweeps on both
	for _, id := range ids {
		if n := recA.count(id) + recB.count(id); n != 1 {
			t.Errorf("%s ran %d times (first replica %d, second %d), want once", id, n, recA.count(id), recB.count(id))
		}
	}
}

// TestReplicaTakesOverFromADeadOne: a replica that stops renewing its leases
// (it crashed, or lost the database) leaves its deliveries to another once the
// leases lapse, and not before.
func TestReplicaTakesOverFromADeadOne(t *testing.T) {
	dsn := testkit.PostgresSchema(t)
	body := fixture(t, "issue_comment-00-created.json")
	lease := 400 * time.Millisecond
	stuck := newRecorder("issue_comment")
	stuck.release = make(chan struct{}) // the dead replica's handler never finishes
	a := newHarness(t, dsn, []githubapp.EventHandler{stuck}, intake.WithWorkers(1), intake.WithLease(lease), intake.WithSweepInterval(time.Hour))
	for i := range 3 {
		if got := a.postSigned("issue_comment", fmt.Sprintf("orphan-%d", i), body); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	waitFor(t, "the first replica to start", func() bool { return stuck.total() == 1 })
	// The first replica loses its database: it can neither renew nor release.
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	died := time.Now()

	rec := newRecorder("issue_comment")
	b := newHarness(t, dsn, []githubapp.EventHandler{rec}, intake.WithLease(lease), intake.WithSweepInterval(10*time.Millisecond))
	if err := b.sched.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second replica to take over", func() bool { return rec.total() == 3 })
	if took := time.Since(died); took < lease/2 {
		t.Errorf("taken over %s after the first replica died, before its leases could lapse (%s)", took, lease)
	}
	for i := range 3 {
		if n := rec.count(fmt.Sprintf("orphan-%d", i)); n != 1 {
			t.Errorf("orphan-%d ran %d times on the second replica, want 1", i, n)
		}
	}
	a.srv.Close()
	close(stuck.release)
}

// TestTwoReplicasIgnoreADeliveryOnce: GitHub's delivery and its redelivery of
// a comment the pre-filter ignores reach two replicas on one PostgreSQL
// database at once: one records it, the other finds it a duplicate, and
// neither runs it.
func TestTwoReplicasIgnoreADeliveryOnce(t *testing.T) {
	dsn := testkit.PostgresSchema(t)
	body := []byte(`{"action":"created","comment":{"body":"no command"}}`)
	recs := []filteringRecorder{
		{recorder: newRecorder("issue_comment"), marker: []byte(`"no command"`)},
		{recorder: newRecorder("issue_comment"), marker: []byte(`"no command"`)},
	}
	hs := []*harness{
		newHarness(t, dsn, []githubapp.EventHandler{recs[0]}),
		newHarness(t, dsn, []githubapp.EventHandler{recs[1]}),
	}
	for round := range 5 {
		id := fmt.Sprintf("chat-%d", round)
		var wg sync.WaitGroup
		for _, h := range hs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := h.postSigned("issue_comment", id, body); got != http.StatusOK {
					t.Errorf("%s: status %d", id, got)
				}
			}()
		}
		wg.Wait()
	}
	var filtered, duplicate float64
	for i, h := range hs {
		filtered += counter(t, h.reg, "infra_agent_deliveries_filtered_total", "issue_comment")
		duplicate += counter(t, h.reg, "infra_agent_deliveries_duplicate_total", "issue_comment")
		if n := recs[i].total(); n != 0 {
			t.Errorf("replica %d ran %d ignored deliveries", i, n)
		}
	}
	if filtered != 5 || duplicate != 5 {
		t.Errorf("filtered %v, duplicates %v across the replicas; want 5 and 5", filtered, duplicate)
	}
	if n := pendingCount(t, hs[0].store); n != 0 {
		t.Errorf("%d deliveries pending", n)
	}
}
