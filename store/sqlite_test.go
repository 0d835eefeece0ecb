package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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
