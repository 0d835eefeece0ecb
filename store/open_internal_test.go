package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestIsPostgres(t *testing.T) {
	cases := []struct {
		dsn  string
		want bool
	}{
		{"postgres://u@localhost/db", true},
		{"postgresql://u@localhost/db", true},
		{"POSTGRES://u@localhost/db", true},
		{"data/infra-agent.db", false},
		{"/var/lib/infra-agent/postgres://x.db", false},
		{"", false},
	}
	for _, tc := range cases {
		t.Run(tc.dsn, func(t *testing.T) {
			if got := isPostgres(tc.dsn); got != tc.want {
				t.Errorf("isPostgres(%q) = %v, want %v", tc.dsn, got, tc.want)
			}
		})
	}
}

func openTestSQLite(t *testing.T, path string) *sqlStore {
	t.Helper()
	st, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st.(*sqlStore)
}

// TestSQLiteSettings pins the durability settings the intake benchmark's
// figures depend on.
func TestSQLiteSettings(t *testing.T) {
	s := openTestSQLite(t, filepath.Join(t.TempDir(), "db.sqlite"))
	cases := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "10000"},
		{"foreign_keys", "1"},
		{"wal_autocheckpoint", "0"}, // the checkpointer's job
		{"journal_size_limit", "67108864"},
	}
	for _, tc := range cases {
		t.Run(tc.pragma, func(t *testing.T) {
			var got string
			if err := s.db.QueryRowContext(context.Background(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
			}
		})
	}
}

func TestMigrationsRefuseNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := openTestSQLite(t, path)
	if _, err := s.db.ExecContext(context.Background(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("Open on a newer schema: error = %v, want a refusal", err)
	}
}

func TestMigrationsAreOrdered(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].version <= ms[i-1].version {
			t.Errorf("migration %s does not follow %s", ms[i].name, ms[i-1].name)
		}
	}
}
