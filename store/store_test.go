package store_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, storetest.Opener(func(t *testing.T) string {
		// A directory that does not exist yet: Open creates it.
		return filepath.Join(t.TempDir(), "data", "infra-agent.db")
	}))
}

func TestPostgres(t *testing.T) {
	postgresURL(t)
	storetest.Run(t, storetest.Opener(func(t *testing.T) string {
		return postgresSchema(t)
	}))
}

// TestPostgresConcurrentOpen starts replicas on an empty database at once:
// migrations must serialise, not fail on each other's tables.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := postgresSchema(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := 0; i < replicas; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(context.Background(), dsn)
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = s.Close()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dsn  string
		want string
	}{
		{"sqlite path with a query", filepath.Join(dir, "db.sqlite?mode=ro"), "must not contain"},
		{"sqlite parent is a file", filepath.Join(blocker, "db.sqlite"), "creating database directory"},
		{"postgres URL that does not parse", "postgres://user:secret@host:notaport/db", "invalid URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := store.Open(ctx, tc.dsn)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tc.dsn)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open error = %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("Open error %q leaks the password", err)
			}
		})
	}
}

// postgresURL returns the test server's URL, or fails t.
func postgresURL(t *testing.T) (string, *url.URL) { return testkit.PostgresURL(t) }

// postgresSchema returns a DSN of a schema of t's own on the test server.
func postgresSchema(t *testing.T) string { return testkit.PostgresSchema(t) }
