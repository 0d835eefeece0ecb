package exclusive_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/exclusive"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
)

// TestOneReplicaAtATime runs the same duty on two replicas sharing one
// PostgreSQL database: passes never overlap, one replica makes them, and the
// other takes over when the first stops.
func TestOneReplicaAtATime(t *testing.T) {
	dsn := testkit.PostgresSchema(t)
	testOneAtATime(t, open(t, dsn), open(t, dsn))
}

// TestOneReplicaAtATimeSQLite is the same on one SQLite file.
func TestOneReplicaAtATimeSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	testOneAtATime(t, open(t, path), open(t, path))
}

// open opens the database dsn for the test.
func open(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func testOneAtATime(t *testing.T, first, second store.Store) {
	var (
		running  atomic.Int32
		overlaps atomic.Int32
		mu       sync.Mutex
		passes   = map[string]int{}
	)
	duty := func(owner string) func(context.Context) error {
		return func(context.Context) error {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			mu.Lock()
			passes[owner]++
			mu.Unlock()
			return nil
		}
	}
	count := func(owner string) int {
		mu.Lock()
		defer mu.Unlock()
		return passes[owner]
	}
	o := exclusive.Options{Name: "watchdog", Every: 20 * time.Millisecond, Lease: 60 * time.Millisecond,
		Timeout: 100 * time.Millisecond, Immediately: true}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	var wg sync.WaitGroup
	for _, r := range []struct {
		ctx   context.Context
		st    store.Store
		owner string
	}{{ctxA, first, "a"}, {ctxB, second, "b"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := o
			o.Owner = r.owner
			if err := exclusive.Run(r.ctx, r.st, o, duty(r.owner)); err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(5 * time.Millisecond) // a starts first
	}
	time.Sleep(300 * time.Millisecond)
	if count("a") < 5 || count("b") != 0 {
		t.Errorf("passes: a %d, b %d; want a alone, about every 20 ms", count("a"), count("b"))
	}
	stopA() // a shuts down and releases the lease
	deadline := time.Now().Add(5 * time.Second)
	for count("b") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if count("b") == 0 {
		t.Error("b never took over after a released the lease")
	}
	stopB()
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d passes overlapped", n)
	}
}

// TestTakeOverFromADeadHolder: a holder that stops renewing (it crashed)
// keeps the duty only until its lease lapses; a restarted replica, under a
// new name, then takes it and makes its first pass at once.
func TestTakeOverFromADeadHolder(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "db.sqlite"))
	const lease = 300 * time.Millisecond
	died := time.Now()
	if ok, err := st.AcquireLease(context.Background(), "redelivery", "crashed", died.Add(lease)); err != nil || !ok {
		t.Fatalf("the first holder: %v %v", ok, err)
	}
	passed := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = exclusive.Run(ctx, st, exclusive.Options{Name: "redelivery", Owner: "restarted", Every: time.Hour, Lease: lease, Immediately: true},
			func(context.Context) error {
				select {
				case passed <- time.Now():
				default:
				}
				return nil
			})
	}()
	select {
	case at := <-passed:
		if at.Sub(died) < lease {
			t.Errorf("took over %s after the holder died, before its %s lease lapsed", at.Sub(died), lease)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the restarted replica never took over the duty")
	}
}

func TestRunValidates(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "db.sqlite"))
	if err := exclusive.Run(context.Background(), st, exclusive.Options{Name: "x"}, nil); err == nil {
		t.Error("Run without an owner and an interval succeeded")
	}
}
