// Package testkit holds the small helpers several packages' tests share: the
// real terraform and OpenTofu binaries, generated roots and plans, GitHub-signed
// webhook requests, and a log sink safe for concurrent writers. It is
// imported only from _test.go files.
package testkit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the admin connection
)

// TerraformBinary returns the real terraform binary: $TERRAFORM, else
// terraform on PATH. A missing binary fails the test (the test command
// installs it): a test that skipped instead could never fail.
func TerraformBinary(t testing.TB) string {
	t.Helper()
	return binary(t, "TERRAFORM", "terraform")
}

// binary returns $env, else name found on PATH, else fails the test.
func binary(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("the real %s binary is needed: run the test command (make test), or set %s or put %s on PATH (%v)", name, env, name, err)
	}
	return p
}

// PostgresEnv names the variable holding the URL of the PostgreSQL server the
// tests use (a superuser on a throwaway cluster; scripts/postgres.sh prints it).
const PostgresEnv = "INFRA_AGENT_TEST_POSTGRES"

// PostgresURL returns the test server's URL, or fails t: a skipped test could
// not fail.
func PostgresURL(t testing.TB) (string, *url.URL) {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Fatalf("%s is not set: this test needs a real PostgreSQL server. "+
			"Run `export %s=$(scripts/postgres.sh)` (it installs and starts a throwaway cluster) or the project's test command", PostgresEnv, PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", PostgresEnv)
	}
	return base, u
}

// PostgresSchema creates a schema of its own for t on the test server and
// returns a DSN whose search_path selects it; the schema is dropped when t
// ends. Tests in parallel never see each other's tables.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base, u := PostgresURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", PostgresEnv, err)
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

// TofuBinary returns the real OpenTofu binary: $TOFU, else tofu on PATH. A
// missing binary fails the test (the test command builds it), as
// TerraformBinary does.
func TofuBinary(t testing.TB) string {
	t.Helper()
	return binary(t, "TOFU", "tofu")
}

// CopyTree copies the directory tree src (a testdata directory) into dst,
// which must not hold any of its files yet, so a test never writes into
// testdata.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// Sign returns the X-Hub-Signature-256 header value GitHub sends for body:
// "sha256=" and the hex HMAC-SHA256 of the exact bytes under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// WebhookRequest builds the POST GitHub would send to url: the event and
// delivery headers, and the signature when secret is not empty. An empty
// delivery id leaves the header out.
func WebhookRequest(t testing.TB, url, event, delivery string, body []byte, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("building webhook request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	if delivery != "" {
		req.Header.Set("X-GitHub-Delivery", delivery)
	}
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign(secret, body))
	}
	return req
}

// LogBuffer collects output written from several goroutines (a server's
// logger) and can be read while they write.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Clock is a settable time source for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Golden compares got with the golden file at path; with update it writes got
// there instead (the packages' -update flag), creating its directory.
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
