package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infra-agent/infra-agent/store"
)

// fileSize is the size of a SQLite database with its write-ahead log.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	return total
}

// TestSQLitePruneShrinksTheFile: pruning gives the space of deleted payloads
// back to the file system; SQLite would otherwise keep the file at its
// largest forever.
func TestSQLitePruneShrinksTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "infra-agent.db")
	ctx := context.Background()
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"body":"` + string(bytes.Repeat([]byte("x"), 100<<10)) + `"}`)
	old := time.Now().Add(-30 * 24 * time.Hour)
	for batch := range 20 {
		var ds []store.Delivery
		for i := range 10 {
			ds = append(ds, store.Delivery{ID: fmt.Sprintf("d-%d-%d", batch, i), Event: "issue_comment",
				Payload: payload, ReceivedAt: old, Status: store.DeliveryProcessed})
		}
		if _, err := s.InsertDeliveries(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	full := fileSize(t, path)
	if full < 200*100<<10 {
		t.Fatalf("the database holds %d bytes after 200 payloads of 100 KB", full)
	}

	s, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	pruned, err := s.Prune(ctx, time.Now().Add(-7*24*time.Hour), time.Now().Add(-90*24*time.Hour))
	if err != nil || pruned.Deliveries != 200 {
		t.Fatalf("Prune = %+v, %v; want 200 deliveries", pruned, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if after := fileSize(t, path); after > full/10 {
		t.Errorf("the database is %d bytes after pruning, was %d: the space was not given back", after, full)
	}
}

// TestSQLiteOlderDatabaseGetsIncrementalVacuum: a database created before
// pruning existed is rewritten once so that pruning can shrink it.
func TestSQLiteOlderDatabaseGetsIncrementalVacuum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE unrelated (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode int
	if err := raw.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Errorf("auto_vacuum = %d, want 2 (incremental)", mode)
	}
}

// TestSQLiteWALStaysBoundedUnderContinuousWrites: writers that keep the group
// commit busy leave no moment between commits for a checkpoint beside them
// to finish, and a write-ahead log that is never wholly checkpointed never
// starts over: it would grow for as long as the load lasts.
func TestSQLiteWALStaysBoundedUnderContinuousWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "infra-agent.db")
	ctx := context.Background()
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	const writers, each = 8, 2000
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Random ids, as GitHub's: each lands on its own index page.
				d := store.Delivery{ID: uuid.NewString(), Event: "issue_comment", Status: store.DeliveryProcessed}
				if _, err := s.InsertDeliveries(ctx, []store.Delivery{d}); err != nil {
					errs <- fmt.Errorf("writer %d, delivery %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// Each delivery dirties a 4 KiB page of the id index at least: a log that
	// never starts over holds them all, over 100 MB here. One that starts
	// over after each checkpoint holds what is written between two (about
	// 5 MB at 6,000 deliveries a second).
	const bound = 24 << 20
	if fi.Size() > bound {
		t.Errorf("the write-ahead log grew to %d bytes for %d deliveries, want at most %d", fi.Size(), writers*each, bound)
	}
}
