package intake_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/store"
)

// filteringRecorder is a recorder whose pre-filter ignores payloads that
// hold marker.
type filteringRecorder struct {
	*recorder
	marker []byte
}

func (f filteringRecorder) Ignorable(_ string, payload []byte) (string, bool) {
	return "marked", bytes.Contains(payload, f.marker)
}

var _ intake.Prefilter = filteringRecorder{}

// TestIgnorableDeliveryKeepsOnlyItsID: a delivery the handler's pre-filter
// ignores is committed before its 200 as processed, with its id (a
// redelivery is a duplicate) and without its payload, and never runs, not
// even after a restart; the others run as before.
func TestIgnorableDeliveryKeepsOnlyItsID(t *testing.T) {
	ignored := []byte(`{"action":"created","comment":{"body":"no command"}}`)
	other := fixture(t, "issue_comment-00-created.json")
	rec := filteringRecorder{recorder: newRecorder("issue_comment"), marker: []byte(`"no command"`)}
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(10*time.Millisecond))
	for _, post := range []struct {
		id   string
		body []byte
	}{{"ignored", ignored}, {"ignored", ignored}, {"run", other}} {
		if got := h.postSigned("issue_comment", post.id, post.body); got != http.StatusOK {
			t.Fatalf("posting %s: status %d, want 200", post.id, got)
		}
		// Committed before the 200, not later.
		if _, _, _, ok := deliveryStatus(t, h.path, post.id); !ok {
			t.Fatalf("%s was acknowledged before it was stored", post.id)
		}
	}
	waitFor(t, "the other delivery", func() bool { return rec.count("run") == 1 })
	time.Sleep(50 * time.Millisecond) // several sweeps: none may take the ignored delivery
	if err := h.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := rec.count("ignored"); n != 0 {
		t.Errorf("the ignored delivery ran %d times", n)
	}
	for metric, want := range map[string]float64{
		"infra_agent_deliveries_received_total":  3,
		"infra_agent_deliveries_filtered_total":  1,
		"infra_agent_deliveries_duplicate_total": 1,
		"infra_agent_deliveries_processed_total": 1,
	} {
		if got := counter(t, h.reg, metric, "issue_comment"); got != want {
			t.Errorf("%s = %v, want %v", metric, got, want)
		}
	}
	row := readDelivery(t, h.path, "ignored")
	if row.status != string(store.DeliveryProcessed) || row.attempts != 0 || row.payload != 0 || row.finished != row.received || row.received == 0 {
		t.Errorf("ignored delivery row = %+v; want processed, no attempt, no payload, finished when received", row)
	}
	if row := readDelivery(t, h.path, "run"); row.payload != len(other) {
		t.Errorf("the other delivery kept %d bytes of its %d-byte payload", row.payload, len(other))
	}

	// A restart on the same database finds nothing to recover.
	again := newHarness(t, h.path, []githubapp.EventHandler{rec})
	if err := again.sched.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := again.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := rec.total(); n != 1 {
		t.Errorf("%d handler runs after a restart, want the 1 from before", n)
	}
}

// deliveryRow is a delivery's row read straight from the SQLite file.
type deliveryRow struct {
	status             string
	attempts, payload  int
	received, finished int64
}

func readDelivery(t *testing.T, path, id string) deliveryRow {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var r deliveryRow
	err = db.QueryRow(`SELECT status, attempts, length(payload), received_at, finished_at FROM deliveries WHERE id = $1`, id).
		Scan(&r.status, &r.attempts, &r.payload, &r.received, &r.finished)
	if err != nil {
		t.Fatalf("reading delivery %s: %v", id, err)
	}
	return r
}

// TestFailedDeliveryComesBackIgnorable: a delivery that failed for good
// (here under a handler without a pre-filter, as before an upgrade) and that
// GitHub delivers again to a handler whose pre-filter ignores it is recorded
// afresh as processed, its id only, and not run; the redelivery sweep then
// counts it as handled, and a further redelivery is a duplicate.
func TestFailedDeliveryComesBackIgnorable(t *testing.T) {
	body := []byte(`{"action":"created","comment":{"body":"no command"}}`)
	failing := newRecorder("issue_comment")
	failing.fail = errors.New("GitHub: 503 Service Unavailable")
	h := newHarness(t, "", []githubapp.EventHandler{failing}, intake.WithSweepInterval(time.Hour),
		intake.WithRetries(intake.RetryPolicy{Backoff: time.Hour, MaxBackoff: time.Hour})) // no retry fits
	if got := h.postSigned("issue_comment", "outage", body); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	waitFor(t, "the delivery to fail", func() bool {
		status, _, _, _ := deliveryStatus(t, h.path, "outage")
		return status == string(store.DeliveryFailed)
	})
	if err := h.stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	rec := filteringRecorder{recorder: newRecorder("issue_comment"), marker: []byte(`"no command"`)}
	again := newHarness(t, h.path, []githubapp.EventHandler{rec}, intake.WithSweepInterval(10*time.Millisecond))
	for range 2 {
		if got := again.postSigned("issue_comment", "outage", body); got != http.StatusOK {
			t.Fatalf("redelivery: status %d", got)
		}
	}
	handled, err := again.store.HandledDeliveries(context.Background(), []string{"outage"})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	row := readDelivery(t, h.path, "outage")
	if row.status != string(store.DeliveryProcessed) || row.attempts != 0 || row.payload != 0 || row.finished != row.received {
		t.Errorf("row after the redelivery = %+v; want processed afresh on arrival, its id only", row)
	}
	if !handled["outage"] {
		t.Error("the redelivery sweep would still ask GitHub for the delivery")
	}
	if n := rec.total(); n != 0 {
		t.Errorf("the ignored redelivery ran %d times", n)
	}
	for metric, want := range map[string]float64{
		"infra_agent_deliveries_filtered_total":  1,
		"infra_agent_deliveries_duplicate_total": 1,
	} {
		if got := counter(t, again.reg, metric, "issue_comment"); got != want {
			t.Errorf("%s = %v, want %v", metric, got, want)
		}
	}
}
