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
		return func(ctx context.Context) error {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer running.Add(-1)
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
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
	// The lease is long beside the interval so that a loaded machine's late
	// renewal does not hand the duty over while a is alive.
	o := exclusive.Options{Name: "watchdog", Every: 20 * time.Millisecond, Lease: time.Second,
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
		if r.owner == "a" {
			waitFor(func() bool { return count("a") > 0 }) // a holds the lease first
		}
	}
	time.Sleep(500 * time.Millisecond)
	if count("a") < 5 || count("b") != 0 {
		t.Errorf("passes: a %d, b %d; want a alone, about every 20 ms", count("a"), count("b"))
	}
	stopA() // a shuts down and releases the lease
	waitFor(func() bool { return count("b") > 0 })
	if count("b") == 0 {
		t.Error("b never took over after a released the lease")
	}
	stopB()
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d passes overlapped", n)
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
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

// stalling is a store whose lease renewals, once stall is set, hang until
// their context ends (a database that stopped answering) or, with lost
// set, say another replica holds the lease.
type stalling struct {
	store.Store
	stall, lost atomic.Bool
}

func (s *stalling) AcquireLease(ctx context.Context, name, owner string, until time.Time) (bool, error) {
	switch {
	case s.lost.Load():
		return false, nil
	case s.stall.Load():
		<-ctx.Done()
		return false, ctx.Err()
	}
	return s.Store.AcquireLease(ctx, name, owner, until)
}

// TestPassStopsWhenItsLeaseLapses: a pass whose lease cannot be renewed
// (the database hangs) or was lost is cancelled before the lease lapses,
// so it never runs beside the pass of the replica that takes over.
func TestPassStopsWhenItsLeaseLapses(t *testing.T) {
	// The pass is cancelled a sixth of the lease before it lapses: long
	// enough here for the pass to see it on a loaded machine.
	const lease = 3 * time.Second
	for _, lost := range []bool{false, true} {
		st := &stalling{Store: open(t, filepath.Join(t.TempDir(), "db.sqlite"))}
		ctx, cancel := context.WithCancel(context.Background())
		started, stopped := make(chan time.Time, 1), make(chan time.Time, 1)
		go func() {
			_ = exclusive.Run(ctx, st, exclusive.Options{Name: "prune", Owner: "a", Every: time.Hour, Lease: lease,
				Timeout: time.Hour, Immediately: true},
				func(pctx context.Context) error {
					started <- time.Now()
					if lost {
						st.lost.Store(true)
					} else {
						st.stall.Store(true)
					}
					<-pctx.Done()
					stopped <- time.Now()
					return pctx.Err()
				})
		}()
		var from time.Time
		select {
		case from = <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the pass never started")
		}
		select {
		case at := <-stopped:
			if d := at.Sub(from); d >= lease {
				t.Errorf("lost %v: the pass ran %s, past its %s lease", lost, d, lease)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("lost %v: the pass kept running after its lease lapsed", lost)
		}
		cancel()
	}
}
