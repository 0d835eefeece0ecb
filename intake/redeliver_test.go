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
	fake := fakegithub.New(t)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "intake.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
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
	if _, err := st.InsertDeliveries(context.Background(), []store.Delivery{{
		ID: "stored-but-slow", Event: "issue_comment", Payload: []byte(`{}`), ReceivedAt: now, Status: store.DeliveryPending,
	}}); err != nil {
		t.Fatal(err)
	}

	n, err := intake.Redeliver(context.Background(), fake.AppClient(t).Apps, st, since)
	if err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	got := fake.Redeliveries()
	slices.Sort(got)
	want := []int64{down, lastTimeout}
	slices.Sort(want)
	if n != 2 || !slices.Equal(got, want) {
		t.Errorf("redelivered %d: attempts %v, want %v (the newest attempt of server-down and timed-out-twice, not %d)",
			n, got, want, firstTimeout)
	}
}
