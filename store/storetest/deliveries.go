package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
)

// delivery returns a delivery with a small JSON payload naming its id.
func delivery(id string, at time.Time) store.Delivery {
	return store.Delivery{
		ID:         id,
		Event:      "issue_comment",
		Payload:    []byte(fmt.Sprintf(`{"action":"created","delivery":%q,"bytes":"\u00e9\u0000"}`, id)),
		ReceivedAt: at,
	}
}

func insert(t *testing.T, s store.Store, ds ...store.Delivery) []bool {
	t.Helper()
	created, err := s.InsertDeliveries(context.Background(), ds)
	if err != nil {
		t.Fatalf("InsertDeliveries: %v", err)
	}
	if len(created) != len(ds) {
		t.Fatalf("InsertDeliveries returned %d results for %d deliveries", len(created), len(ds))
	}
	return created
}

func pendingIDs(t *testing.T, s store.Store, limit int) []string {
	t.Helper()
	ds, err := s.PendingDeliveries(context.Background(), limit)
	if err != nil {
		t.Fatalf("PendingDeliveries: %v", err)
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func assertStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func testDeliveryDedupe(t *testing.T, open OpenFunc) {
	s := open(t)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		name string
		ds   []store.Delivery
		want []bool
	}{
		{"new and repeated in one batch", []store.Delivery{delivery("a", t0), delivery("b", t0.Add(time.Second)), delivery("a", t0)}, []bool{true, true, false}},
		{"known and new", []store.Delivery{delivery("a", t0), delivery("c", t0.Add(2*time.Second))}, []bool{false, true}},
		{"all known", []store.Delivery{delivery("c", t0), delivery("b", t0)}, []bool{false, false}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			got := insert(t, s, step.ds...)
			if fmt.Sprint(got) != fmt.Sprint(step.want) {
				t.Errorf("created = %v, want %v", got, step.want)
			}
		})
	}
	assertStrings(t, "pending", pendingIDs(t, s, 10), []string{"a", "b", "c"})
	assertStrings(t, "pending limited", pendingIDs(t, s, 2), []string{"a", "b"})

	ds, err := s.PendingDeliveries(context.Background(), 1)
	if err != nil {
		t.Fatalf("PendingDeliveries: %v", err)
	}
	want := delivery("a", t0)
	got := ds[0]
	if got.Event != want.Event || !bytes.Equal(got.Payload, want.Payload) || !got.ReceivedAt.Equal(t0) ||
		got.Status != store.DeliveryPending || got.Attempts != 0 {
		t.Errorf("pending delivery = %+v, want %+v pending", got, want)
	}

	bad := []struct {
		name string
		ds   []store.Delivery
	}{
		{"no id", []store.Delivery{{Event: "push", Payload: []byte(`{}`)}}},
		{"no event", []store.Delivery{{ID: "x", Payload: []byte(`{}`)}}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.InsertDeliveries(context.Background(), tc.ds); err == nil {
				t.Errorf("InsertDeliveries succeeded, want an error")
			}
		})
	}
	if _, err := s.PendingDeliveries(context.Background(), 0); err == nil {
		t.Errorf("PendingDeliveries(0) succeeded, want an error")
	}
}

func testDeliveryConcurrentDedupe(t *testing.T, open OpenFunc) {
	s := open(t)
	const callers = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		errs    []error
	)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.InsertDeliveries(context.Background(), []store.Delivery{delivery("same", time.Now()), delivery(fmt.Sprintf("own-%d", i), time.Now())})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if got[0] {
				created++
			}
			if !got[1] {
				errs = append(errs, fmt.Errorf("caller %d: own delivery reported as known", i))
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if created != 1 {
		t.Errorf("%d callers were told the shared delivery was new, want exactly 1", created)
	}
	if n := len(pendingIDs(t, s, 100)); n != callers+1 {
		t.Errorf("%d pending deliveries, want %d", n, callers+1)
	}
}

func testDeliveryFinish(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	insert(t, s, delivery("d1", t0), delivery("d2", t0.Add(time.Second)), delivery("d3", t0.Add(2*time.Second)))

	cases := []struct {
		name    string
		id      string
		status  store.DeliveryStatus
		errText string
		wantErr bool
		wantIs  error
		pending []string
	}{
		{"processed", "d1", store.DeliveryProcessed, "", false, nil, []string{"d2", "d3"}},
		{"failed", "d3", store.DeliveryFailed, "handler: boom", false, nil, []string{"d2"}},
		{"unknown id", "nope", store.DeliveryProcessed, "", true, store.ErrNotFound, []string{"d2"}},
		{"pending again: a failed attempt to retry", "d2", store.DeliveryPending, "GitHub: 502 Bad Gateway", false, nil, []string{"d2"}},
		{"unknown status is refused", "d2", store.DeliveryStatus("lost"), "", true, nil, []string{"d2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.FinishDelivery(ctx, tc.id, tc.status, tc.errText)
			switch {
			case !tc.wantErr && err != nil:
				t.Fatalf("FinishDelivery: %v", err)
			case tc.wantErr && err == nil:
				t.Fatalf("FinishDelivery succeeded, want an error")
			case tc.wantIs != nil && !errors.Is(err, tc.wantIs):
				t.Fatalf("FinishDelivery error = %v, want %v", err, tc.wantIs)
			}
			assertStrings(t, "pending", pendingIDs(t, s, 10), tc.pending)
		})
	}
	// The retried delivery kept its failed attempt: counted, explained, timed.
	ds, err := s.PendingDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Attempts != 1 || ds[0].Error != "GitHub: 502 Bad Gateway" || ds[0].LastAttemptAt.IsZero() {
		t.Errorf("pending after a failed attempt = %+v, want d2 with 1 attempt, its error and its time", ds)
	}
	// A processed delivery is still known: GitHub redelivering it is a
	// duplicate. (A failed one runs again: testRedeliveredFailedDelivery.)
	if got := insert(t, s, delivery("d1", t0)); got[0] {
		t.Errorf("re-inserting a processed delivery reported new: %v", got)
	}

	// Concurrent finishes share commits; each caller still gets its own result.
	var ids []store.Delivery
	for i := 0; i < 40; i++ {
		ids = append(ids, delivery(fmt.Sprintf("c%02d", i), t0.Add(time.Minute)))
	}
	insert(t, s, ids...)
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, d := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.FinishDelivery(ctx, d.ID, store.DeliveryProcessed, "")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("FinishDelivery(%s): %v", ids[i].ID, err)
		}
	}
	assertStrings(t, "pending after concurrent finishes", pendingIDs(t, s, 100), []string{"d2"})
}

func testPendingAfterRestart(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	first := open(t)
	insert(t, first, delivery("r1", t0), delivery("r2", t0.Add(time.Second)), delivery("r3", t0.Add(2*time.Second)))
	if err := first.FinishDelivery(ctx, "r2", store.DeliveryProcessed, ""); err != nil {
		t.Fatalf("FinishDelivery: %v", err)
	}
	job, _, _, err := first.CreateJob(ctx, newJob("restart-job", 1), nil)
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := open(t)
	ds, err := second.PendingDeliveries(ctx, 10)
	if err != nil {
		t.Fatalf("PendingDeliveries after restart: %v", err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
		if want := delivery(d.ID, t0); !bytes.Equal(d.Payload, want.Payload) || d.Event != want.Event {
			t.Errorf("delivery %s after restart = %+v, want payload %s", d.ID, d, want.Payload)
		}
	}
	assertStrings(t, "pending after restart", ids, []string{"r1", "r3"})
	if got := insert(t, second, delivery("r2", t0)); got[0] {
		t.Errorf("processed delivery r2 reported new after restart")
	}
	got, err := second.GetJob(ctx, job.ID)
	if err != nil {
		t.Fatalf("GetJob after restart: %v", err)
	}
	assertJob(t, got, job)
}

func testHandledDeliveries(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var ds []store.Delivery
	ids := []string{"missing-first"}
	for i := 0; i < 1200; i++ { // more than one lookup chunk
		id := fmt.Sprintf("d-%04d", i)
		ds = append(ds, delivery(id, t0))
		ids = append(ids, id, "missing-"+id)
	}
	insert(t, s, ds...)
	if err := s.FinishDelivery(ctx, "d-0001", store.DeliveryProcessed, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDelivery(ctx, "d-0002", store.DeliveryFailed, "boom"); err != nil {
		t.Fatal(err)
	}
	handled, err := s.HandledDeliveries(ctx, ids)
	if err != nil {
		t.Fatalf("HandledDeliveries: %v", err)
	}
	if len(handled) != 1199 {
		t.Errorf("%d handled, want 1199", len(handled))
	}
	for _, id := range []string{"d-0000", "d-0001", "d-1199"} {
		if !handled[id] {
			t.Errorf("%s not handled (pending or processed, it is ours to run)", id)
		}
	}
	for _, id := range []string{"missing-first", "missing-d-0000", "d-0002"} {
		if handled[id] {
			t.Errorf("%s handled: never recorded, or failed for good", id)
		}
	}
	if none, err := s.HandledDeliveries(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("HandledDeliveries(nil) = %v, %v", none, err)
	}
}

// testRedeliveredFailedDelivery: a delivery that failed for good runs again
// when GitHub sends it again (a redelivery keeps its id); a processed one does
// not.
func testRedeliveredFailedDelivery(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	insert(t, s, delivery("failed", t0), delivery("done", t0))
	if err := s.FinishDelivery(ctx, "failed", store.DeliveryFailed, "GitHub was down"); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDelivery(ctx, "done", store.DeliveryProcessed, ""); err != nil {
		t.Fatal(err)
	}
	again := delivery("failed", t0.Add(3*time.Hour))
	again.LeaseOwner, again.LeaseUntil = "replica-b", t0.Add(4*time.Hour)
	if got := insert(t, s, again, delivery("done", t0.Add(3*time.Hour))); !got[0] || got[1] {
		t.Fatalf("redelivery reported %v, want the failed one to run again and the processed one not", got)
	}
	ds, err := s.PendingDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].ID != "failed" || ds[0].Attempts != 0 || ds[0].Error != "" ||
		!ds[0].ReceivedAt.Equal(again.ReceivedAt) || ds[0].LeaseOwner != "replica-b" {
		t.Errorf("pending = %+v, want the failed delivery afresh, leased to its new receiver", ds)
	}
}

// idOnly is a delivery recorded finished on arrival, as the intake records one
// its handler's pre-filter ignores: processed, with no payload and no lease.
func idOnly(id string, at time.Time) store.Delivery {
	return store.Delivery{ID: id, Event: "issue_comment", ReceivedAt: at, Status: store.DeliveryProcessed}
}

// testDeliveryFinishedOnArrival: a delivery inserted processed keeps its id
// for deduplication and nothing else: it is never pending or claimed, counts
// as handled (the redelivery sweep leaves it alone), and a repeat of its id,
// with or without a payload, is a duplicate. A delivery that failed for good
// and comes back to be ignored this time is recorded afresh as processed.
func testDeliveryFinishedOnArrival(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	now := time.Now()
	insert(t, s, delivery("failed", now.Add(-time.Hour)))
	if err := s.FinishDelivery(ctx, "failed", store.DeliveryFailed, "GitHub was down"); err != nil {
		t.Fatal(err)
	}
	if got := insert(t, s, idOnly("ignored", now), delivery("pending", now), idOnly("failed", now)); fmt.Sprint(got) != "[true true true]" {
		t.Fatalf("created = %v, want all three recorded (the failed one afresh)", got)
	}
	again := delivery("ignored", now.Add(time.Minute))
	again.LeaseOwner, again.LeaseUntil = "b", now.Add(time.Hour)
	if got := insert(t, s, idOnly("ignored", now), again, delivery("failed", now)); fmt.Sprint(got) != "[false false false]" {
		t.Errorf("repeats = %v, want duplicates", got)
	}
	assertStrings(t, "pending", pendingIDs(t, s, 10), []string{"pending"})
	assertStrings(t, "claimed", claimIDs(t, s, "b", now.Add(time.Hour), 10), []string{"pending"})
	handled, err := s.HandledDeliveries(ctx, []string{"ignored", "failed", "pending"})
	if err != nil {
		t.Fatal(err)
	}
	if len(handled) != 3 {
		t.Errorf("handled = %v, want all three", handled)
	}
}
