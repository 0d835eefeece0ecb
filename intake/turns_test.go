package intake_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// TestTurnEndsWhenTheCommitWaitBegins: with one turn and the database locked
// by another connection, two deliveries both reach the commit: the first
// gave its turn back when it began to wait, and both are acknowledged once
// the lock is gone.
func TestTurnEndsWhenTheCommitWaitBegins(t *testing.T) {
	rec := newRecorder("issue_comment")
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(time.Hour))
	srv := httptest.NewServer(guard(t, githubapp.NewEventDispatcher([]githubapp.EventHandler{rec}, testSecret, githubapp.WithScheduler(h.sched)), 1))
	defer srv.Close()

	other, err := sql.Open("sqlite", h.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(`INSERT INTO deliveries (id, event, payload, received_at, status) VALUES ('lock', 'x', x'', 1, 'processed')`); err != nil {
		t.Fatal(err)
	}

	body := fixture(t, "issue_comment-01-created.json")
	statuses := make(chan int, 2)
	for _, id := range []string{"first", "second"} {
		req := testkit.WebhookRequest(t, srv.URL+githubapp.DefaultWebhookRoute, "issue_comment", id, body, testSecret)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	waitFor(t, "both deliveries at the commit", func() bool {
		return counter(t, h.reg, "infra_agent_deliveries_received_total", "issue_comment") == 2
	})
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if s := <-statuses; s != http.StatusOK {
			t.Errorf("status %d, want 200", s)
		}
	}
	waitFor(t, "both deliveries run", func() bool { return rec.count("first") == 1 && rec.count("second") == 1 })
}
