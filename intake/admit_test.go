package intake_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// TestAdmitBoundsRequestsAtWork: with two turns, a third request waits until
// one of the first two ends, and every request is served in the end with
// its body intact.
func TestAdmitBoundsRequestsAtWork(t *testing.T) {
	var (
		mu           sync.Mutex
		inside, most int
		entered      = make(chan string, 6)
		release      = make(chan struct{})
	)
	srv := httptest.NewServer(intake.Admit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		inside++
		most = max(most, inside)
		mu.Unlock()
		entered <- string(body)
		<-release
		mu.Lock()
		inside--
		mu.Unlock()
		_, _ = w.Write(body)
	}), 2))
	defer srv.Close()

	answers := make(chan string, 6)
	for i := range 6 {
		go func() {
			resp, err := http.Post(srv.URL, "text/plain", bytes.NewReader([]byte(fmt.Sprintf("body %d", i))))
			if err != nil {
				answers <- err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			answers <- string(b)
		}()
	}
	got := map[string]bool{}
	for range 2 {
		got[<-entered] = true
	}
	time.Sleep(100 * time.Millisecond) // room for a wrong third request to enter
	select {
	case b := <-entered:
		t.Fatalf("a third request (%q) entered while two held their turns", b)
	default:
	}
	close(release)
	for range 4 {
		got[<-entered] = true
	}
	for range 6 {
		if a := <-answers; !got[a] {
			t.Errorf("answer %q is not a body the handler saw", a)
		}
	}
	if len(got) != 6 || most != 2 {
		t.Errorf("%d distinct bodies, at most %d requests inside; want 6 and 2", len(got), most)
	}
}

// TestAdmitSlowBodyHoldsNoTurn: a client that stops halfway through its
// body does not keep the only turn from a request that arrives after it.
func TestAdmitSlowBodyHoldsNoTurn(t *testing.T) {
	srv := httptest.NewServer(intake.Admit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(body)
	}), 1))
	defer srv.Close()

	slow, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := fmt.Fprintf(slow, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader([]byte("fast")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the request after a stalled body got no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "fast" {
		t.Errorf("answer %q, want fast", b)
	}

	if _, err := fmt.Fprint(slow, "abcdefghij"); err != nil {
		t.Fatal(err)
	}
	slowResp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(slowResp.Body)
	slowResp.Body.Close()
	if string(b) != "0123456789abcdefghij" {
		t.Errorf("the slow request's body arrived as %q", b)
	}
}

// TestAdmitTurnEndsWhenTheCommitWaitBegins: with one turn and the database
// locked by another process, two deliveries both reach the commit: the
// first gave its turn back when it began to wait.
func TestAdmitTurnEndsWhenTheCommitWaitBegins(t *testing.T) {
	rec := newRecorder("issue_comment")
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(time.Hour))
	srv := httptest.NewServer(intake.Admit(githubapp.NewEventDispatcher([]githubapp.EventHandler{rec}, testSecret, githubapp.WithScheduler(h.sched)), 1))
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
}

// TestAdmitPassesReadErrorsOn: a body over the server's limit is refused by
// the dispatcher as before (400), and nothing is recorded.
func TestAdmitPassesReadErrorsOn(t *testing.T) {
	rec := newRecorder("issue_comment")
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(time.Hour))
	dispatcher := githubapp.NewEventDispatcher([]githubapp.EventHandler{rec}, testSecret, githubapp.WithScheduler(h.sched))
	body := fixture(t, "issue_comment-01-created.json")
	srv := httptest.NewServer(http.MaxBytesHandler(intake.Admit(dispatcher, 1), int64(len(body)-1)))
	defer srv.Close()
	resp, err := http.DefaultClient.Do(testkit.WebhookRequest(t, srv.URL+githubapp.DefaultWebhookRoute, "issue_comment", "too-large", body, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d for a body over the limit, want 400", resp.StatusCode)
	}
	if n := counter(t, h.reg, "infra_agent_deliveries_received_total", "issue_comment"); n != 0 {
		t.Errorf("%v deliveries offered to the store", n)
	}
}
