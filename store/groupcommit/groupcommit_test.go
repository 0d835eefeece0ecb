package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store/groupcommit"
)

// TestConcurrentCallsShareCommits blocks the first commit so that the
// requests arriving meanwhile must all go into the next one.
func TestConcurrentCallsShareCommits(t *testing.T) {
	release := make(chan struct{})
	var (
		mu      sync.Mutex
		batches [][]int
	)
	commit := func(_ context.Context, batch []int) ([]int, error) {
		mu.Lock()
		batches = append(batches, append([]int(nil), batch...))
		first := len(batches) == 1
		mu.Unlock()
		if first {
			<-release
		}
		out := make([]int, len(batch))
		for i, v := range batch {
			out[i] = v * 10
		}
		return out, nil
	}
	b := groupcommit.New(context.Background(), commit, groupcommit.Options{MaxBatch: 100})
	defer b.Close()

	results := make(chan [2]int, 21)
	call := func(v int) {
		out, err := b.Do(context.Background(), v)
		if err != nil {
			t.Errorf("Do(%d): %v", v, err)
		}
		results <- [2]int{v, out}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); call(0) }()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(batches) == 1 })
	for v := 1; v <= 20; v++ {
		wg.Add(1)
		go func() { defer wg.Done(); call(v) }()
	}
	waitFor(t, func() bool { return b.Waiting() == 20 })
	close(release)
	wg.Wait()
	close(results)
	for r := range results {
		if r[1] != r[0]*10 {
			t.Errorf("Do(%d) = %d, want %d: results went to the wrong caller", r[0], r[1], r[0]*10)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 2 || len(batches[1]) != 20 {
		t.Errorf("batches = %v, want [0] then all 20 waiting calls in one commit", batches)
	}
}

func TestMaxBatch(t *testing.T) {
	release := make(chan struct{})
	var (
		mu    sync.Mutex
		sizes []int
	)
	commit := func(_ context.Context, batch []string) ([]bool, error) {
		mu.Lock()
		sizes = append(sizes, len(batch))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release
		}
		return make([]bool, len(batch)), nil
	}
	b := groupcommit.New(context.Background(), commit, groupcommit.Options{MaxBatch: 4})
	defer b.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = b.Do(context.Background(), "first") }()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.Do(context.Background(), "x") }()
	}
	waitFor(t, func() bool { return b.Waiting() == 4 })
	close(release)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, n := range sizes {
		if n > 4 {
			t.Errorf("a batch of %d, over MaxBatch 4: %v", n, sizes)
		}
	}
}

func TestErrors(t *testing.T) {
	boom := errors.New("disk full")
	cases := []struct {
		name   string
		commit groupcommit.Func[int, int]
		want   string
	}{
		{"commit fails", func(context.Context, []int) ([]int, error) { return nil, boom }, "disk full"},
		{"wrong result count", func(context.Context, []int) ([]int, error) { return nil, nil }, "committing batch: 0 results for 1 items"},
		{"commit panics", func(context.Context, []int) ([]int, error) { panic("driver bug") }, "committing batch: panic: driver bug"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var observed error
			b := groupcommit.New(context.Background(), tc.commit, groupcommit.Options{
				Observe: func(_ int, _ time.Duration, err error) { observed = err },
			})
			_, err := b.Do(context.Background(), 1)
			b.Close()
			if err == nil || err.Error() != tc.want {
				t.Errorf("Do error = %v, want %q", err, tc.want)
			}
			if observed == nil {
				t.Errorf("Observe did not see the error")
			}
		})
	}
}

func TestClose(t *testing.T) {
	committed := 0
	b := groupcommit.New(context.Background(), func(_ context.Context, batch []int) ([]int, error) {
		committed += len(batch)
		return batch, nil
	}, groupcommit.Options{})
	if _, err := b.Do(context.Background(), 1); err != nil {
		t.Fatalf("Do: %v", err)
	}
	b.Close()
	b.Close() // idempotent
	if _, err := b.Do(context.Background(), 2); !errors.Is(err, groupcommit.ErrClosed) {
		t.Errorf("Do after Close: error = %v, want ErrClosed", err)
	}
	if committed != 1 {
		t.Errorf("committed %d items, want 1", committed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b2 := groupcommit.New(context.Background(), func(_ context.Context, batch []int) ([]int, error) { return batch, nil }, groupcommit.Options{})
	defer b2.Close()
	if _, err := b2.Do(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with a cancelled context: error = %v, want context.Canceled", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAfterCommitRunsBetweenCommits: the upkeep runs once per commit, after
// the commit's callers have their results and before the next batch.
func TestAfterCommitRunsBetweenCommits(t *testing.T) {
	var (
		mu     sync.Mutex
		events []string
	)
	log := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	returned := make(chan struct{})
	commit := func(_ context.Context, batch []int) ([]int, error) {
		log(fmt.Sprintf("commit %d", batch[0]))
		return batch, nil
	}
	b := groupcommit.New(context.Background(), commit, groupcommit.Options{AfterCommit: func(context.Context) {
		select {
		case <-returned: // the caller got its result before the upkeep began
			log("upkeep")
		case <-time.After(5 * time.Second):
			log("upkeep before the caller had its result")
		}
	}})
	defer b.Close()
	for v := range 2 {
		if _, err := b.Do(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		log(fmt.Sprintf("returned %d", v))
		returned <- struct{}{}
	}
	b.Close()
	want := []string{"commit 0", "returned 0", "upkeep", "commit 1", "returned 1", "upkeep"}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events = %v, want %v", events, want)
	}
}
