package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
)

func claimIDs(t *testing.T, s store.Store, owner string, until time.Time, limit int) []string {
	t.Helper()
	ds, err := s.ClaimDeliveries(context.Background(), owner, until, limit)
	if err != nil {
		t.Fatalf("ClaimDeliveries(%s): %v", owner, err)
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
		if d.LeaseOwner != owner || !d.LeaseUntil.Equal(until.UTC().Truncate(0)) && d.LeaseUntil.UnixNano() != until.UnixNano() {
			t.Errorf("claimed %s leased to %s until %v, want %s until %v", d.ID, d.LeaseOwner, d.LeaseUntil, owner, until)
		}
	}
	return ids
}

// testClaimDeliveries: a delivery leased to a live replica is not claimed by
// another; an expired lease is; the holder may claim its own again.
func testClaimDeliveries(t *testing.T, open OpenFunc) {
	s := open(t)
	now := time.Now()
	held := delivery("held", now.Add(-3*time.Minute))
	held.LeaseOwner, held.LeaseUntil = "a", now.Add(time.Hour)
	expired := delivery("expired", now.Add(-2*time.Minute))
	expired.LeaseOwner, expired.LeaseUntil = "dead", now.Add(-time.Second)
	free := delivery("free", now.Add(-time.Minute)) // stored before leases existed
	insert(t, s, held, expired, free)

	assertStrings(t, "claimed by b", claimIDs(t, s, "b", now.Add(time.Minute), 10), []string{"expired", "free"})
	assertStrings(t, "claimed by c", claimIDs(t, s, "c", now.Add(time.Minute), 10), nil)
	assertStrings(t, "claimed by a, its own", claimIDs(t, s, "a", now.Add(time.Minute), 10), []string{"held"})

	if err := s.FinishDelivery(context.Background(), "free", store.DeliveryProcessed, ""); err != nil {
		t.Fatal(err)
	}
	// b's lease lapses without renewal; a renews its own.
	if err := s.RenewLeases(context.Background(), "a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimDeliveries(context.Background(), "b", now.Add(-time.Second), 10); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "claimed by c after b lapsed", claimIDs(t, s, "c", now.Add(time.Minute), 10), []string{"expired"})
	if _, err := s.ClaimDeliveries(context.Background(), "", now, 1); err == nil {
		t.Error("ClaimDeliveries without an owner succeeded")
	}
}

// testClaimDeliveriesTwoReplicas: two stores on one database claim
// concurrently; every delivery is claimed by exactly one.
func testClaimDeliveriesTwoReplicas(t *testing.T, open OpenFunc) {
	first := open(t)
	second := open(t)
	now := time.Now()
	var ds []store.Delivery
	for i := range 200 {
		ds = append(ds, delivery(fmt.Sprintf("d%03d", i), now.Add(time.Duration(i-300)*time.Millisecond)))
	}
	insert(t, first, ds...)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		claims = map[string][]string{}
	)
	for r, s := range []store.Store{first, second, first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("replica-%d", r)
			mine := map[string]bool{}
			for {
				// Read past the ones it holds already, as the scheduler does.
				got, err := s.ClaimDeliveries(context.Background(), owner, time.Now().Add(time.Hour), len(mine)+7)
				if err != nil {
					t.Errorf("%s: %v", owner, err)
					return
				}
				fresh := 0
				mu.Lock()
				for _, d := range got {
					if !mine[d.ID] {
						mine[d.ID] = true
						fresh++
						claims[d.ID] = append(claims[d.ID], owner)
					}
				}
				mu.Unlock()
				if fresh == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(claims) != len(ds) {
		t.Errorf("%d of %d deliveries claimed", len(claims), len(ds))
	}
	for id, owners := range claims {
		if len(owners) != 1 {
			t.Errorf("%s claimed by %v, want exactly one replica", id, owners)
		}
	}
}

// testRetryDeliveryLater: a failed attempt waits for its next try, then any
// replica may claim it.
func testRetryDeliveryLater(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	now := time.Now()
	d := delivery("flaky", now.Add(-time.Minute))
	d.LeaseOwner, d.LeaseUntil = "a", now.Add(time.Hour)
	insert(t, s, d, delivery("soon", now.Add(-time.Minute)))
	if err := s.RetryDelivery(ctx, "flaky", "GitHub: 502", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryDelivery(ctx, "soon", "GitHub: 502", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "claimable", claimIDs(t, s, "b", now.Add(time.Minute), 10), []string{"soon"})
	ds, err := s.PendingDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.ID == "flaky" && (d.Attempts != 1 || d.Error != "GitHub: 502" || d.LeaseOwner != "" || d.NextAttemptAt.IsZero()) {
			t.Errorf("flaky = %+v, want 1 attempt, its error, no lease and a next attempt time", d)
		}
	}
	if err := s.RetryDelivery(ctx, "nope", "x", now); err == nil {
		t.Error("RetryDelivery of an unknown delivery succeeded")
	}
}

// testLeases: one owner at a time holds a lease; it renews it, releases it,
// and loses it when it lets it expire.
func testLeases(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	now := time.Now()
	acquire := func(owner string, until time.Time) bool {
		t.Helper()
		ok, err := s.AcquireLease(ctx, "watchdog", owner, until)
		if err != nil {
			t.Fatalf("AcquireLease(%s): %v", owner, err)
		}
		return ok
	}
	steps := []struct {
		name  string
		owner string
		until time.Time
		want  bool
	}{
		{"first taker", "a", now.Add(time.Minute), true},
		{"another while held", "b", now.Add(time.Minute), false},
		{"the holder renews", "a", now.Add(time.Minute), true},
		{"the holder lets it lapse", "a", now.Add(-time.Second), true},
		{"another after it lapsed", "b", now.Add(time.Minute), true},
		{"the old holder while b holds it", "a", now.Add(time.Minute), false},
	}
	for _, st := range steps {
		if got := acquire(st.owner, st.until); got != st.want {
			t.Errorf("%s: acquired %v, want %v", st.name, got, st.want)
		}
	}
	if err := s.ReleaseLease(ctx, "watchdog", "b"); err != nil {
		t.Fatal(err)
	}
	if !acquire("a", now.Add(time.Minute)) {
		t.Error("a could not take the lease b released")
	}

	// Many owners race for a fresh lease: one wins.
	wins := race(t, 8, func(i int) (bool, error) {
		return s.AcquireLease(ctx, "redelivery", fmt.Sprintf("owner-%d", i), time.Now().Add(time.Minute))
	})
	if wins != 1 {
		t.Errorf("%d owners hold the lease, want 1", wins)
	}
}

// race runs try for n contenders at once and returns how many won; an error
// fails the test.
func race(t *testing.T, n int, try func(i int) (bool, error)) int {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			won, err := try(i)
			if err != nil {
				t.Error(err)
			}
			if won {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return wins
}
