package intake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
)

func TestWebhookResponses(t *testing.T) {
	comment := fixture(t, "issue_comment-03-created.json")
	star := fixture(t, "star-00-created.json")
	malformed := comment[:len(comment)/2]

	cases := []struct {
		name      string
		event     string
		id        string
		body      []byte
		signature string
		want      int
		stored    bool
		runs      int
	}{
		{"signed delivery", "issue_comment", "d-ok", comment, testkit.Sign(testSecret, comment), http.StatusOK, true, 1},
		{"bad signature", "issue_comment", "d-badsig", comment, testkit.Sign("another secret", comment), http.StatusBadRequest, false, 0},
		{"signature of other bytes", "issue_comment", "d-tampered", comment, testkit.Sign(testSecret, star), http.StatusBadRequest, false, 0},
		{"missing signature", "issue_comment", "d-nosig", comment, "", http.StatusBadRequest, false, 0},
		{"malformed JSON", "issue_comment", "d-malformed", malformed, testkit.Sign(testSecret, malformed), http.StatusBadRequest, false, 0},
		{"missing delivery id", "issue_comment", "", comment, testkit.Sign(testSecret, comment), http.StatusBadRequest, false, 0},
		{"delivery id too long", "issue_comment", strings.Repeat("x", 129), comment, testkit.Sign(testSecret, comment), http.StatusBadRequest, false, 0},
		{"missing event type", "", "d-noevent", comment, testkit.Sign(testSecret, comment), http.StatusBadRequest, false, 0},
		{"unknown event", "star", "d-star", star, testkit.Sign(testSecret, star), http.StatusAccepted, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder("issue_comment", "pull_request")
			h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(time.Hour))
			if got := h.post(tc.event, tc.id, tc.body, tc.signature); got != tc.want {
				t.Fatalf("status = %d, want %d", got, tc.want)
			}
			if tc.runs > 0 {
				waitFor(t, "the handler", func() bool { return rec.total() >= tc.runs })
			}
			if err := h.stop(context.Background()); err != nil {
				t.Fatalf("stopping: %v", err)
			}
			if got := rec.total(); got != tc.runs {
				t.Errorf("handler ran %d times, want %d", got, tc.runs)
			}
			status, _, _, stored := deliveryStatus(t, h.path, tc.id)
			if stored != tc.stored {
				t.Errorf("delivery stored = %v (status %q), want %v", stored, status, tc.stored)
			}
			if tc.stored && status != string(store.DeliveryProcessed) {
				t.Errorf("delivery status = %q, want processed", status)
			}
		})
	}
}

func TestDuplicateDeliveryRunsOnce(t *testing.T) {
	body := fixture(t, "issue_comment-00-created.json")
	cases := []struct {
		name       string
		concurrent bool
	}{
		{"sequential", false},
		{"concurrent", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder("issue_comment")
			h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(time.Hour))
			const id = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
			statuses := make([]int, 5)
			var wg sync.WaitGroup
			for i := range statuses {
				post := func() { statuses[i] = h.postSigned("issue_comment", id, body) }
				if !tc.concurrent {
					post()
					continue
				}
				wg.Add(1)
				go func() { defer wg.Done(); post() }()
			}
			wg.Wait()
			for i, s := range statuses {
				if s != http.StatusOK {
					t.Errorf("delivery %d: status %d, want 200", i, s)
				}
			}
			waitFor(t, "the handler", func() bool { return rec.count(id) >= 1 })
			if err := h.stop(context.Background()); err != nil {
				t.Fatalf("stopping: %v", err)
			}
			if got := rec.count(id); got != 1 {
				t.Errorf("handler ran %d times for one delivery id, want 1", got)
			}
			if got := counter(t, h.reg, "infra_agent_deliveries_duplicate_total", "issue_comment"); got != 4 {
				t.Errorf("duplicate counter = %v, want 4", got)
			}
			if got := counter(t, h.reg, "infra_agent_deliveries_received_total", "issue_comment"); got != 5 {
				t.Errorf("received counter = %v, want 5", got)
			}
		})
	}
}

// TestRestartRunsPendingOnce acknowledges deliveries, stops the server before
// their handlers finish, and starts again on the same database.
func TestRestartRunsPendingOnce(t *testing.T) {
	body := fixture(t, "issue_comment-01-created.json")
	stuck := newRecorder("issue_comment")
	stuck.release = make(chan struct{}) // never closed: the first process never finishes
	// A short lease: what the first process leaves leased is taken over soon.
	lease := intake.WithLease(300 * time.Millisecond)
	first := newHarness(t, "", []githubapp.EventHandler{stuck}, intake.WithWorkers(1), intake.WithSweepInterval(time.Hour), lease)
	ids := []string{"restart-1", "restart-2", "restart-3"}
	for _, id := range ids {
		if got := first.postSigned("issue_comment", id, body); got != http.StatusOK {
			t.Fatalf("posting %s: status %d", id, got)
		}
	}
	waitFor(t, "the first handler to start", func() bool { return stuck.total() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := first.stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stopping with a stuck handler: error = %v, want the deadline", err)
	}
	for _, id := range ids {
		if status, _, _, _ := deliveryStatus(t, first.path, id); status != string(store.DeliveryPending) {
			t.Fatalf("after the first process, %s is %q, want pending", id, status)
		}
	}

	// The queue holds one: Recover and the sweeper claim them as the first
	// process's leases end, one at a time.
	rec := newRecorder("issue_comment")
	second := newHarness(t, first.path, []githubapp.EventHandler{rec},
		intake.WithWorkers(1), intake.WithQueueSize(1), intake.WithSweepInterval(10*time.Millisecond), lease)
	if err := second.sched.Recover(context.Background()); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	waitFor(t, "recovered deliveries", func() bool { return rec.total() >= len(ids) })
	time.Sleep(50 * time.Millisecond) // several sweeps: none may run a delivery again
	// Redelivery by GitHub after the restart is still a duplicate.
	if got := second.postSigned("issue_comment", ids[0], body); got != http.StatusOK {
		t.Errorf("redelivery: status %d", got)
	}
	if err := second.stop(context.Background()); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	for _, id := range ids {
		if got := rec.count(id); got != 1 {
			t.Errorf("after restart %s ran %d times, want 1", id, got)
		}
		if status, _, attempts, _ := deliveryStatus(t, first.path, id); status != string(store.DeliveryProcessed) || attempts != 1 {
			t.Errorf("%s is %q after %d attempts, want processed after 1", id, status, attempts)
		}
	}
}

// TestSweeperClaimsOnlyLapsedLeases stores deliveries as other replicas
// would: the sweeper takes those whose lease lapsed (their replica died) or
// that have none, and leaves the one a live replica holds.
func TestSweeperClaimsOnlyLapsedLeases(t *testing.T) {
	rec := newRecorder("issue_comment")
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(5*time.Millisecond))
	body := fixture(t, "issue_comment-00-created.json")
	now := time.Now()
	if _, err := h.store.InsertDeliveries(context.Background(), []store.Delivery{
		{ID: "held", Event: "issue_comment", Payload: body, ReceivedAt: now.Add(-time.Hour), LeaseOwner: "alive", LeaseUntil: now.Add(time.Hour)},
		{ID: "lapsed", Event: "issue_comment", Payload: body, ReceivedAt: now, LeaseOwner: "dead", LeaseUntil: now.Add(-time.Second)},
		{ID: "unleased", Event: "issue_comment", Payload: body, ReceivedAt: now},
	}); err != nil {
		t.Fatalf("InsertDeliveries: %v", err)
	}
	waitFor(t, "the abandoned deliveries", func() bool { return rec.count("lapsed") == 1 && rec.count("unleased") == 1 })
	time.Sleep(50 * time.Millisecond) // more sweeps
	if got := rec.count("held"); got != 0 {
		t.Errorf("the delivery a live replica holds ran %d times here, want 0", got)
	}
	if status, _, _, _ := deliveryStatus(t, h.path, "held"); status != string(store.DeliveryPending) {
		t.Errorf("held delivery is %q, want pending", status)
	}
}

func TestQueueFullOverflowIsSwept(t *testing.T) {
	body := fixture(t, "issue_comment-00-created.json")
	rec := newRecorder("issue_comment")
	rec.release = make(chan struct{})
	rec.started = make(chan string, 16)
	// One worker, room for one queued delivery, and a sweeper tick too slow to
	// matter: the overflow must come back through the kick.
	h := newHarness(t, "", []githubapp.EventHandler{rec},
		intake.WithWorkers(1), intake.WithQueueSize(1), intake.WithSweepInterval(time.Hour))
	var ids []string
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("overflow-%d", i)
		ids = append(ids, id)
		if got := h.postSigned("issue_comment", id, body); got != http.StatusOK {
			t.Fatalf("posting %s: status %d, want 200 (the delivery is stored)", id, got)
		}
		if i == 0 {
			<-rec.started // the worker holds the first; the queue is empty again
		}
	}
	if got := counter(t, h.reg, "infra_agent_deliveries_deferred_total", "issue_comment"); got != 4 {
		t.Errorf("deferred counter = %v, want 4 (one running, one queued)", got)
	}
	close(rec.release)
	waitFor(t, "every delivery", func() bool { return rec.total() >= len(ids) })
	if err := h.stop(context.Background()); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	for _, id := range ids {
		if got := rec.count(id); got != 1 {
			t.Errorf("%s ran %d times, want 1", id, got)
		}
		if status, _, _, _ := deliveryStatus(t, h.path, id); status != string(store.DeliveryProcessed) {
			t.Errorf("%s is %q, want processed", id, status)
		}
	}
}

func TestShutdownDrains(t *testing.T) {
	body := fixture(t, "issue_comment-00-created.json")
	rec := newRecorder("issue_comment")
	rec.inspect = func(context.Context, string) { time.Sleep(20 * time.Millisecond) }
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithWorkers(1), intake.WithSweepInterval(time.Hour))
	for i := 0; i < 5; i++ {
		if got := h.postSigned("issue_comment", fmt.Sprintf("drain-%d", i), body); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	h.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.sched.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := rec.total(); got != 5 {
		t.Errorf("Shutdown returned after %d of 5 deliveries ran", got)
	}
	for i := 0; i < 5; i++ {
		if status, _, _, _ := deliveryStatus(t, h.path, fmt.Sprintf("drain-%d", i)); status != string(store.DeliveryProcessed) {
			t.Errorf("drain-%d is %q after Shutdown, want processed", i, status)
		}
	}
	err := h.sched.Schedule(context.Background(), githubapp.Dispatch{Handler: rec, EventType: "issue_comment", DeliveryID: "late", Payload: body})
	if !errors.Is(err, intake.ErrShuttingDown) || !errors.Is(err, githubapp.ErrCapacityExceeded) {
		t.Errorf("Schedule after Shutdown: error = %v, want ErrShuttingDown (a 503)", err)
	}
	if err := h.sched.Recover(context.Background()); !errors.Is(err, intake.ErrShuttingDown) {
		t.Errorf("Recover after Shutdown: error = %v, want ErrShuttingDown", err)
	}
	if err := h.stop(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// TestShutdownRefusesOverHTTP checks the status GitHub sees while draining.
func TestShutdownRefusesOverHTTP(t *testing.T) {
	body := fixture(t, "issue_comment-00-created.json")
	rec := newRecorder("issue_comment")
	h := newHarness(t, "", []githubapp.EventHandler{rec})
	if err := h.sched.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := h.postSigned("issue_comment", "after-shutdown", body); got != http.StatusServiceUnavailable {
		t.Errorf("status while shut down = %d, want 503", got)
	}
	if _, _, _, stored := deliveryStatus(t, h.path, "after-shutdown"); stored {
		t.Errorf("a refused delivery was stored")
	}
}

// TestShutdownReleasesLeases: a delivery left pending by a shutdown whose
// deadline passed is released, so the next replica (or this one restarted)
// takes it at once instead of waiting for the lease to lapse.
func TestShutdownReleasesLeases(t *testing.T) {
	body := fixture(t, "issue_comment-00-created.json")
	rec := newRecorder("issue_comment")
	rec.release = make(chan struct{}) // never closed: the handler is cut short
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithWorkers(1), intake.WithSweepInterval(time.Hour))
	if got := h.postSigned("issue_comment", "cut-short", body); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	waitFor(t, "the handler to start", func() bool { return rec.total() == 1 })
	h.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.sched.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	if err := h.sched.Shutdown(context.Background()); err != nil { // waits for the drain to end
		t.Fatal(err)
	}
	ds, err := h.store.PendingDeliveries(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || !ds[0].LeaseUntil.IsZero() {
		t.Errorf("pending after shutdown = %+v, want the delivery with its lease released", ds)
	}
}
