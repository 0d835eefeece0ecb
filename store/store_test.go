package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the admin connection

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/store/storetest"
)

// postgresEnv names the variable holding the URL of the PostgreSQL server the
// tests use (a superuser on a throwaway cluster; scripts/postgres.sh prints it).
const postgresEnv = "INFRA_AGENT_TEST_POSTGRES"

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

// postgresURL returns the test server's URL, or fails t: a skipped test
// could not fail.
func postgresURL(t *testing.T) (string, *url.URL) {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Fatalf("%s is not set: the PostgreSQL store tests need a real server. "+
			"Run `export %s=$(scripts/postgres.sh)` (it installs and starts a throwaway cluster) or the project's test command", postgresEnv, postgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", postgresEnv)
	}
	return base, u
}

// postgresSchema creates a schema of its own for t on the test server and
// returns a DSN whose search_path selects it; the schema is dropped when t
// ends. Tests in parallel never see each other's tables.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base, u := postgresURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", postgresEnv, err)
	}
	defer func() { _ = admin.Close() }()
	name := regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	schema := fmt.Sprintf("t_%s_%x", name, time.Now().UnixNano()) // at most 63 bytes, PostgreSQL's limit
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		t.Fatalf("creating schema %s (is the server from scripts/postgres.sh running?): %v", schema, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer func() { _ = db.Close() }()
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
