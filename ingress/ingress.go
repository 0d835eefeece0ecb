// Package ingress admits webhook requests to go-githubapp's dispatcher. Until
// its signature is checked a request is anyone's: it must be signed the way
// GitHub signs today (HMAC-SHA256), and its body may only use a bounded share
// of the server's memory. Once its body is read it waits for a turn: a bounded
// number of requests check their signature, parse and reach the database at
// once, so that under a CPU shortage the work already admitted (the group
// commit above all) is not queued behind every request that arrived.
package ingress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/semaphore"
)

// SignatureHeader is the only signature header accepted. GitHub also sends
// X-Hub-Signature (HMAC-SHA1) for older clients; go-github falls back to it
// when the SHA-256 header is absent, and SHA-1 is not accepted here.
const SignatureHeader = "X-Hub-Signature-256"

// Options configure Guard.
type Options struct {
	// MaxBody is the largest body accepted (GitHub's limit is 25 MB).
	MaxBody int64
	// Budget bounds the bytes of all bodies being read before their
	// signature is checked; a request that would exceed it waits up to Wait
	// for room, then is answered 503.
	Budget int64
	// Wait is how long a request waits for room in the budget (default 1 s).
	Wait time.Duration
	// Turns bounds the requests past reading their body at once (default
	// twice GOMAXPROCS: enough to keep the processors busy when one in its
	// turn is descheduled). See Yield.
	Turns int
	// Registerer, when set, receives infra_agent_webhook_rejected_total.
	Registerer prometheus.Registerer
}

// Log keys.
const (
	logKeyReason = "reason"
	logKeyLength = "content_length"
)

// Guard returns next behind the checks: a request without an
// X-Hub-Signature-256 header is answered 400, a body longer than MaxBody 413,
// and one that finds the budget full 503 (GitHub records the delivery as
// failed, and the redelivery sweep asks for it again). A body of unknown
// length is charged MaxBody. The body is read whole into memory before the
// request waits for its turn (see Options.Turns), so a client that sends
// slowly holds no turn; next gets it from memory.
func Guard(next http.Handler, o Options) (http.Handler, error) {
	if o.MaxBody <= 0 || o.Budget < o.MaxBody {
		return nil, fmt.Errorf("guarding webhooks: budget %d must hold at least one body of %d bytes", o.Budget, o.MaxBody)
	}
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	if o.Turns <= 0 {
		o.Turns = 2 * runtime.GOMAXPROCS(0)
	}
	g := &guard{next: next, opts: o, budget: semaphore.NewWeighted(o.Budget), turns: make(chan struct{}, o.Turns)}
	g.buffers.New = func() any { return new(bytes.Buffer) }
	if err := g.metrics(o.Registerer); err != nil {
		return nil, err
	}
	return g, nil
}

type guard struct {
	next     http.Handler
	opts     Options
	budget   *semaphore.Weighted
	turns    chan struct{}
	buffers  sync.Pool // *bytes.Buffer
	rejected *prometheus.CounterVec
	held     atomic.Int64 // bytes of the budget taken
	waiting  atomic.Int64 // requests waiting for a turn
}

// metrics creates the guard's metrics and registers them with reg, if set.
func (g *guard) metrics(reg prometheus.Registerer) error {
	g.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "infra_agent_webhook_rejected_total",
		Help: "Webhook requests refused before their signature was checked, by reason: no_sha256_signature, too_large, busy, unreadable.",
	}, []string{"reason"})
	for _, r := range []string{"no_sha256_signature", "too_large", "busy", "unreadable"} {
		g.rejected.WithLabelValues(r)
	}
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		g.rejected,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "infra_agent_webhook_body_bytes",
			Help: "Bytes of the webhook body budget taken: bodies being read, or held until their request ends.",
		}, func() float64 { return float64(g.held.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "infra_agent_webhook_waiting_requests",
			Help: "Webhook requests with their body read, waiting for a turn to check their signature and reach the database.",
		}, func() float64 { return float64(g.waiting.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering webhook guard metrics: %w", err)
		}
	}
	return nil
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(SignatureHeader) == "" {
		g.refuse(w, r, http.StatusBadRequest, "no_sha256_signature", "missing "+SignatureHeader+" header")
		return
	}
	r.Header.Del("X-Hub-Signature")
	size := r.ContentLength
	if size > g.opts.MaxBody {
		g.refuse(w, r, http.StatusRequestEntityTooLarge, "too_large", "payload larger than GitHub sends")
		return
	}
	if size < 0 {
		size = g.opts.MaxBody
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.opts.Wait)
	err := g.budget.Acquire(ctx, size)
	cancel()
	if err != nil {
		if !errors.Is(err, context.DeadlineExceeded) && r.Context().Err() != nil {
			return // the client went away
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(g.opts.Wait/time.Second)+1))
		g.refuse(w, r, http.StatusServiceUnavailable, "busy", "too many webhook bodies being read")
		return
	}
	g.held.Add(size)
	defer func() {
		g.held.Add(-size)
		g.budget.Release(size)
	}()
	g.serveRead(w, r)
}

func (g *guard) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	g.rejected.WithLabelValues(reason).Inc()
	zerolog.Ctx(r.Context()).Warn().Str(logKeyReason, reason).Int64(logKeyLength, r.ContentLength).Msg("Webhook refused before its signature was checked")
	http.Error(w, msg, status)
}
