package intake_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/store"
)

// TestRedeliver seeds GitHub's delivery log (two pages of it) with every kind
// of attempt and checks that only deliveries that never reached the server
// are redelivered, through the App's real JWT-authenticated client.
func TestRedeliver(t *testing.T) {
	fake, st := redeliveryWorld(t)
	now := time.Now().UTC()
	since := now.Add(-time.Hour)
	add := func(guid string, code int, at time.Time) int64 {
		return fake.AddHookDelivery(fakegithub.HookDelivery{
			GUID: guid, Event: "issue_comment", Action: "created", StatusCode: code,
			Status: fmt.Sprint(code), DeliveredAt: at, InstallationID: 1,
		})
	}
	// Enough answered deliveries to need a second page of the log.
	for i := 0; i < 120; i++ {
		add(fmt.Sprintf("ok-%03d", i), 200, now.Add(-time.Duration(i)*time.Second))
	}
	down := add("server-down", 502, now.Add(-30*time.Minute))
	add("retried-then-ok", 503, now.Add(-40*time.Minute))
	add("retried-then-ok", 200, now.Add(-20*time.Minute))
	firstTimeout := add("timed-out-twice", 504, now.Add(-50*time.Minute))
	lastTimeout := add("timed-out-twice", 504, now.Add(-45*time.Minute))
	add("bad-signature", 400, now.Add(-10*time.Minute))
	add("stored-but-slow", 504, now.Add(-5*time.Minute))
	add("too-old", 502, now.Add(-2*time.Hour))
	// Stored once, then failed for good: it is not handled, so it is asked for
	// again (and runs when it comes: a failed delivery is revived).
	failedHere := add("failed-here", 502, now.Add(-15*time.Minute))
	if _, err := st.InsertDeliveries(context.Background(), []store.Delivery{
		{ID: "stored-but-slow", Event: "issue_comment", Payload: []byte(`{}`), ReceivedAt: now, Status: store.DeliveryPending},
		{ID: "failed-here", Event: "issue_comment", Payload: []byte(`{}`), ReceivedAt: now, Status: store.DeliveryFailed},
	}); err != nil {
		t.Fatal(err)
	}

	n, err := intake.Redeliver(context.Background(), fake.AppClient(t).Apps, st, since)
	if err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	got := fake.Redeliveries()
	slices.Sort(got)
	want := []int64{down, lastTimeout, failedHere}
	slices.Sort(want)
	if n != 3 || !slices.Equal(got, want) {
		t.Errorf("redelivered %d: attempts %v, want %v (the newest attempt of server-down, timed-out-twice and failed-here, not %d)",
			n, got, want, firstTimeout)
	}
}

// TestRedeliveryLooksBackFurtherAtStart: the first pass reads GitHub's log
// back to the start-up window, later passes only the short one.
func TestRedeliveryLooksBackFurtherAtStart(t *testing.T) {
	fake, st := redeliveryWorld(t)
	now := time.Now().UTC()
	fake.AddHookDelivery(fakegithub.HookDelivery{GUID: "missed-at-night", Event: "issues", StatusCode: 502,
		DeliveredAt: now.Add(-5 * time.Hour), InstallationID: 1})
	r := intake.NewRedelivery(fake.AppClient(t).Apps, st, intake.RedeliveryOptions{})
	if err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(fake.Redeliveries()); got != 1 {
		t.Fatalf("%d redeliveries at start, want the one 5 hours back", got)
	}
	earlier := fake.AddHookDelivery(fakegithub.HookDelivery{GUID: "missed-earlier", Event: "issues", StatusCode: 502,
		DeliveredAt: now.Add(-3 * time.Hour), InstallationID: 1})
	if err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fake.Redeliveries(); slices.Contains(got, earlier) {
		t.Errorf("redeliveries %v include the delivery 3 hours back: later passes look back 30 minutes", got)
	}
}

// redeliveryWorld is a fake GitHub and an empty store.
func redeliveryWorld(t *testing.T) (*fakegithub.Server, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "intake.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return fakegithub.New(t), st
}
