package intake_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	_ "modernc.org/sqlite" // the "sqlite" driver, to read rows straight from the file

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/ingress"
	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
)

const testSecret = "It's a Secret to Everybody"

// fixture reads a real webhook payload from testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// recorder is a hand-written EventHandler that counts calls per delivery and
// can be made to block, fail or panic.
type recorder struct {
	events  []string
	release chan struct{} // when set, Handle waits for it to close (or ctx)
	started chan string   // when set, receives each delivery id as it starts
	fail    error
	// failFirst, when set, makes only the first failFirst calls of a delivery fail.
	failFirst int
	panics    bool
	inspect   func(ctx context.Context, deliveryID string)

	mu    sync.Mutex
	calls map[string]int
}

func newRecorder(events ...string) *recorder {
	return &recorder{events: events, calls: map[string]int{}}
}

func (r *recorder) Handles() []string { return r.events }

func (r *recorder) Handle(ctx context.Context, _ string, deliveryID string, _ []byte) error {
	r.mu.Lock()
	r.calls[deliveryID]++
	call := r.calls[deliveryID]
	r.mu.Unlock()
	if r.started != nil {
		r.started <- deliveryID
	}
	if r.inspect != nil {
		r.inspect(ctx, deliveryID)
	}
	if r.release != nil {
		select {
		case <-r.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.panics {
		panic("handler bug")
	}
	if r.failFirst > 0 && call > r.failFirst {
		return nil
	}
	return r.fail
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		n += c
	}
	return n
}

// harness is the real wiring: a SQLite store, the scheduler, go-githubapp's
// dispatcher and an HTTP server.
type harness struct {
	t       testing.TB
	path    string
	store   store.Store
	sched   *intake.Scheduler
	srv     *httptest.Server
	reg     *prometheus.Registry
	logs    *testkit.LogBuffer
	stopped bool
}

// newHarness starts everything on the SQLite file at path ("" for a new one).
func newHarness(t testing.TB, path string, handlers []githubapp.EventHandler, opts ...intake.Option) *harness {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "infra-agent.db")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	h := &harness{t: t, path: path, store: st, reg: prometheus.NewRegistry(), logs: &testkit.LogBuffer{}}
	logger := zerolog.New(h.logs)
	opts = append([]intake.Option{intake.WithRegisterer(h.reg)}, opts...)
	h.sched, err = intake.Start(logger.WithContext(ctx), st, handlers, opts...)
	if err != nil {
		_ = st.Close()
		t.Fatalf("starting intake: %v", err)
	}
	// As the server does: the dispatcher behind the guard, the request logger
	// in the request context.
	dispatcher := guard(t, githubapp.NewEventDispatcher(handlers, testSecret, githubapp.WithScheduler(h.sched)), 4)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dispatcher.ServeHTTP(w, r.WithContext(logger.WithContext(r.Context())))
	}))
	t.Cleanup(func() {
		if !h.stopped {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := h.stop(ctx); err != nil {
				t.Errorf("stopping: %v", err)
			}
		}
	})
	return h
}

// guard puts next behind the server's webhook guard, with turns requests at
// work at once.
func guard(t testing.TB, next http.Handler, turns int) http.Handler {
	t.Helper()
	g, err := ingress.Guard(next, ingress.Options{MaxBody: config.MaxWebhookBytes, Budget: config.DefaultMaxUnverifiedBytes, Turns: turns})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// stop closes the HTTP server, shuts the scheduler down and closes the store,
// as the server does on SIGTERM.
func (h *harness) stop(ctx context.Context) error {
	h.stopped = true
	h.srv.Close()
	err := h.sched.Shutdown(ctx)
	return errors.Join(err, h.store.Close())
}

// post sends a webhook; signature "" sends none, event or id "" omits the header.
func (h *harness) post(event, id string, body []byte, signature string) int {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+githubapp.DefaultWebhookRoute, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if event != "" {
		req.Header.Set("X-GitHub-Event", event)
	}
	if id != "" {
		req.Header.Set("X-GitHub-Delivery", id)
	}
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("posting webhook: %v", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// postSigned sends body correctly signed.
func (h *harness) postSigned(event, id string, body []byte) int {
	h.t.Helper()
	return h.post(event, id, body, testkit.Sign(testSecret, body))
}

// deliveryStatus reads a delivery's row straight from the SQLite file; ok is
// false when no row exists.
func deliveryStatus(t *testing.T, path, id string) (status, errText string, attempts int, ok bool) {
	t.Helper()
	// A busy timeout, as the store's own connections have: a store closed
	// while its scheduler still drains may close its last connection (and
	// checkpoint, under an exclusive lock) just as this one reads.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer func() { _ = db.Close() }()
	err = db.QueryRow(`SELECT status, error, attempts FROM deliveries WHERE id = $1`, id).Scan(&status, &errText, &attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", 0, false
	}
	if err != nil {
		t.Fatalf("reading delivery %s: %v", id, err)
	}
	return status, errText, attempts, true
}

// waitFor polls cond until it holds; the deadline only bounds a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// counter returns the value of a labelled counter in reg.
func counter(t *testing.T, reg *prometheus.Registry, name, event string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "event" && l.GetValue() == event {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
