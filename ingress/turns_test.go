package ingress_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infra-agent/infra-agent/ingress"
)

// entering is a dispatcher's stand-in that reports each request's body as it
// enters, then waits for its request's release (or for all, when release
// is closed) before it answers with the body.
type entering struct {
	entered chan string
	release chan struct{}
	// yield, when set, is called with the request's context on entering.
	yield func(context.Context)

	mu           sync.Mutex
	inside, most int
}

func newEntering() *entering {
	return &entering{entered: make(chan string, 64), release: make(chan struct{})}
}

func (h *entering) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h.mu.Lock()
	h.inside++
	h.most = max(h.most, h.inside)
	h.mu.Unlock()
	if h.yield != nil {
		h.yield(r.Context())
	}
	h.entered <- string(body)
	<-h.release
	h.mu.Lock()
	h.inside--
	h.mu.Unlock()
	_, _ = w.Write(body)
}

// next returns the body of the next request to enter h, failing t when none
// does within 10 s.
func (h *entering) next(t *testing.T) string {
	t.Helper()
	select {
	case b := <-h.entered:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no request entered within 10 s")
		return ""
	}
}

// noneEnters fails t if a request enters h within 100 ms: room for one that
// should be waiting to get in by mistake.
func (h *entering) noneEnters(t *testing.T, why string) {
	t.Helper()
	select {
	case b := <-h.entered:
		t.Fatalf("request %q entered %s", b, why)
	case <-time.After(100 * time.Millisecond):
	}
}

// guardedWith serves next behind a guard with n turns.
func guardedWith(t *testing.T, next http.Handler, turns int) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h, err := ingress.Guard(next, ingress.Options{MaxBody: 1 << 20, Budget: 1 << 20, Turns: turns, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, reg
}

// send posts body with a signature header (the guard checks only that there
// is one) and returns the answer's body, or the error, on answers.
func send(ctx context.Context, url, body string, answers chan<- string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set(ingress.SignatureHeader, "sha256=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		answers <- err.Error()
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	answers <- string(b)
}

// TestTurnsBoundRequestsAtWork: with n turns (by default twice GOMAXPROCS),
// request n+1 waits until one of the first n ends, and every request is
// served in the end with its body intact.
func TestTurnsBoundRequestsAtWork(t *testing.T) {
	for _, tc := range []struct {
		name        string
		turns, want int
	}{
		{"two", 2, 2},
		{"default", 0, 2 * runtime.GOMAXPROCS(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := newEntering()
			srv, reg := guardedWith(t, next, tc.turns)
			n := tc.want + 3
			answers := make(chan string, n)
			for i := range n {
				go send(context.Background(), srv.URL, fmt.Sprintf("body %d", i), answers)
			}
			got := map[string]bool{}
			for range tc.want {
				got[next.next(t)] = true
			}
			next.noneEnters(t, "while every turn was held")
			waitGauge(t, reg, "infra_agent_webhook_waiting_requests", 3)
			close(next.release)
			for range 3 {
				got[next.next(t)] = true
			}
			for range n {
				if a := <-answers; !got[a] {
					t.Errorf("answer %q is not a body the handler saw", a)
				}
			}
			if len(got) != n || next.most != tc.want {
				t.Errorf("%d distinct bodies, at most %d requests inside; want %d and %d", len(got), next.most, n, tc.want)
			}
			waitGauge(t, reg, "infra_agent_webhook_waiting_requests", 0)
		})
	}
}

// TestYieldEndsTheTurn: a request that yields lets the next one in while it
// is still being served; yielding twice gives back one turn, not two.
func TestYieldEndsTheTurn(t *testing.T) {
	next := newEntering()
	var yields int
	next.yield = func(ctx context.Context) {
		next.mu.Lock()
		yields++
		first := yields == 1
		next.mu.Unlock()
		if first {
			ingress.Yield(ctx)
			ingress.Yield(ctx)
		}
	}
	srv, _ := guardedWith(t, next, 1)
	answers := make(chan string, 3)
	go send(context.Background(), srv.URL, "yields", answers)
	if b := next.next(t); b != "yields" {
		t.Fatalf("%q entered first", b)
	}
	go send(context.Background(), srv.URL, "second", answers)
	if b := next.next(t); b != "second" {
		t.Fatalf("%q entered after the request that yielded", b)
	}
	go send(context.Background(), srv.URL, "third", answers)
	next.noneEnters(t, "while the second held the only turn (a double yield gave back two)")
	close(next.release)
	next.next(t)
	for range 3 {
		<-answers
	}
	ingress.Yield(context.Background()) // outside a request: nothing to end
}

// TestTurnWaitEndsWithTheClient: a client that gives up while waiting for a
// turn is never served, and leaves no turn taken behind it.
func TestTurnWaitEndsWithTheClient(t *testing.T) {
	next := newEntering()
	srv, reg := guardedWith(t, next, 1)
	answers := make(chan string, 3)
	go send(context.Background(), srv.URL, "holder", answers)
	next.next(t)
	ctx, cancel := context.WithCancel(context.Background())
	go send(ctx, srv.URL, "gives up", answers)
	waitGauge(t, reg, "infra_agent_webhook_waiting_requests", 1)
	cancel()
	<-answers // the client's own error
	waitGauge(t, reg, "infra_agent_webhook_waiting_requests", 0)
	close(next.release)
	<-answers
	go send(context.Background(), srv.URL, "after", answers)
	if b := next.next(t); b != "after" {
		t.Errorf("%q entered, want only the request sent after", b)
	}
	if a := <-answers; a != "after" {
		t.Errorf("answer %q", a)
	}
}

// TestSlowBodyHoldsNoTurn: a client that stops halfway through its body does
// not keep the only turn from a request that arrives after it.
func TestSlowBodyHoldsNoTurn(t *testing.T) {
	next := newEntering()
	close(next.release)
	srv, _ := guardedWith(t, next, 1)
	slow, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := fmt.Fprintf(slow, "POST / HTTP/1.1\r\nHost: x\r\n%s: sha256=00\r\nContent-Length: 20\r\n\r\n0123456789", ingress.SignatureHeader); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answers := make(chan string, 1)
	send(ctx, srv.URL, "fast", answers)
	if a := <-answers; a != "fast" {
		t.Fatalf("the request after a stalled body: %q, want fast", a)
	}
	if _, err := fmt.Fprint(slow, "abcdefghij"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "0123456789abcdefghij" {
		t.Errorf("the slow request's body arrived as %q", b)
	}
}

// TestUnreadableBodiesStopAtTheGuard: a body that turns out larger than the
// maximum (sent chunked, so its length was not declared) is answered 413,
// and one whose client goes away halfway is dropped; neither reaches the
// dispatcher, and neither keeps its share of the budget.
func TestUnreadableBodiesStopAtTheGuard(t *testing.T) {
	next := newEntering()
	close(next.release)
	reg := prometheus.NewRegistry()
	h, err := ingress.Guard(next, ingress.Options{MaxBody: 1024, Budget: 4096, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.MultiReader(bytes.NewReader(make([]byte, 2048))))
	req.Header.Set(ingress.SignatureHeader, "sha256=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a chunked body over the maximum: %d, want 413", resp.StatusCode)
	}

	gone, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(gone, "POST / HTTP/1.1\r\nHost: x\r\n%s: sha256=00\r\nContent-Length: 20\r\n\r\n0123456789", ingress.SignatureHeader); err != nil {
		t.Fatal(err)
	}
	gone.Close()

	deadline := time.Now().Add(10 * time.Second)
	for rejected(t, reg, "unreadable") != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := rejected(t, reg, "unreadable"); got != 1 {
		t.Errorf("rejected{unreadable} = %v, want 1", got)
	}
	if got := rejected(t, reg, "too_large"); got != 1 {
		t.Errorf("rejected{too_large} = %v, want 1", got)
	}
	select {
	case b := <-next.entered:
		t.Errorf("a body of %d bytes reached the dispatcher", len(b))
	default:
	}
	waitGauge(t, reg, "infra_agent_webhook_body_bytes", 0)
}
