package ingress_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infra-agent/infra-agent/ingress"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

const secret = "guarded"

// reading is the dispatcher's stand-in: it reads the whole body, as
// go-githubapp does before it checks the signature, and counts the requests
// that reach it.
type reading struct{ reached atomic.Int32 }

func (h *reading) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.reached.Add(1)
	if _, err := io.ReadAll(r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	if r.Header.Get("X-Hub-Signature") != "" {
		http.Error(w, "the SHA-1 signature reached the dispatcher", http.StatusTeapot)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func guarded(t *testing.T, o ingress.Options) (*httptest.Server, *reading, *prometheus.Registry) {
	t.Helper()
	next := &reading{}
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	h, err := ingress.Guard(next, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, next, reg
}

// TestOnlySHA256Signatures: a request signed only with the legacy SHA-1
// header is refused before the dispatcher, which would accept it.
func TestOnlySHA256Signatures(t *testing.T) {
	srv, next, reg := guarded(t, ingress.Options{MaxBody: 1 << 20, Budget: 1 << 20})
	body := []byte(`{"action":"labeled"}`)
	req := testkit.WebhookRequest(t, srv.URL, "issues", "d1", body, "")
	req.Header.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || next.reached.Load() != 0 {
		t.Errorf("SHA-1 only: status %d, dispatcher reached %d times; want 400 and never", resp.StatusCode, next.reached.Load())
	}
	req = testkit.WebhookRequest(t, srv.URL, "issues", "d2", body, secret)
	req.Header.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("both headers: status %d, want 200 with the SHA-1 one dropped", resp.StatusCode)
	}
	if got := rejected(t, reg, "no_sha256_signature"); got != 1 {
		t.Errorf("rejected{no_sha256_signature} = %v, want 1", got)
	}
}

// rejected returns infra_agent_webhook_rejected_total{reason}.
func rejected(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	v, ok := metric(t, reg, "infra_agent_webhook_rejected_total", reason)
	if !ok {
		t.Fatalf("no infra_agent_webhook_rejected_total{reason=%q}", reason)
	}
	return v
}

// metric returns the value of the counter or gauge name in reg, with the
// label value label ("" for a metric without labels).
func metric(t *testing.T, reg *prometheus.Registry, name, label string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// waitGauge waits up to 10 s for the gauge name to read want.
func waitGauge(t *testing.T, reg *prometheus.Registry, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := metric(t, reg, name, "")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// slowBody sends n bytes, the first at once and the rest when released.
type slowBody struct {
	first   bool
	left    int
	release chan struct{}
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if !b.first {
		b.first = true
		p[0] = '{'
		b.left--
		return 1, nil
	}
	<-b.release
	n := min(len(p), b.left)
	for i := range n {
		p[i] = ' '
	}
	b.left -= n
	return n, nil
}

// TestUnverifiedBodiesAreBounded: bodies being read before their signature
// is checked share a fixed budget; a request that finds it full is answered
// 503 at once instead of adding its body to memory, an oversized one 413.
func TestUnverifiedBodiesAreBounded(t *testing.T) {
	const mb = 1 << 20
	srv, _, reg := guarded(t, ingress.Options{MaxBody: 20 * mb, Budget: 30 * mb, Wait: 100 * time.Millisecond})
	release := make(chan struct{})
	held := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, &slowBody{left: 20 * mb, release: release})
		req.ContentLength = 20 * mb
		req.Header.Set(ingress.SignatureHeader, "sha256=00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- 0
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	waitGauge(t, reg, "infra_agent_webhook_body_bytes", 20*mb)

	post := func(size int, chunked bool) int {
		t.Helper()
		var body io.Reader = bytes.NewReader(bytes.Repeat([]byte(" "), size))
		if chunked {
			body = io.MultiReader(body) // unknown length: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
		req.Header.Set(ingress.SignatureHeader, "sha256=00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(15*mb, false); got != http.StatusServiceUnavailable {
		t.Errorf("a second large body while 20 of 30 MB are held: %d, want 503", got)
	}
	if got := post(1024, true); got != http.StatusServiceUnavailable {
		t.Errorf("a body of unknown length is charged the maximum: %d, want 503", got)
	}
	if got := post(30*1024, false); got != http.StatusOK {
		t.Errorf("a small body beside it: %d, want 200", got)
	}
	if got := post(21*mb, false); got != http.StatusRequestEntityTooLarge {
		t.Errorf("a body above the maximum: %d, want 413", got)
	}
	close(release)
	if got := <-held; got != http.StatusOK {
		t.Errorf("the slow body: %d, want 200", got)
	}
	if got := post(15*mb, false); got != http.StatusOK {
		t.Errorf("a large body once the budget is free: %d, want 200", got)
	}
	if busy, large := rejected(t, reg, "busy"), rejected(t, reg, "too_large"); busy != 2 || large != 1 {
		t.Errorf("rejected: busy %v, too_large %v; want 2 and 1", busy, large)
	}
	waitGauge(t, reg, "infra_agent_webhook_body_bytes", 0)
}

func TestGuardValidates(t *testing.T) {
	if _, err := ingress.Guard(&reading{}, ingress.Options{MaxBody: 10, Budget: 5}); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("a budget smaller than one body: %v", err)
	}
}
