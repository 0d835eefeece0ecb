// Package ingress guards the webhook route before go-githubapp's dispatcher
// reads a body and checks its signature. Until the signature is checked a
// request is anyone's: it may only use a bounded share of the server's memory,
// and it must be signed the way GitHub signs today (HMAC-SHA256).
package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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
// length is charged MaxBody.
func Guard(next http.Handler, o Options) (http.Handler, error) {
	if o.MaxBody <= 0 || o.Budget < o.MaxBody {
		return nil, fmt.Errorf("guarding webhooks: budget %d must hold at least one body of %d bytes", o.Budget, o.MaxBody)
	}
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "infra_agent_webhook_rejected_total",
		Help: "Webhook requests refused before their signature was checked, by reason: no_sha256_signature, too_large, busy.",
	}, []string{"reason"})
	if o.Registerer != nil {
		if err := o.Registerer.Register(rejected); err != nil {
			return nil, fmt.Errorf("registering webhook guard metrics: %w", err)
		}
	}
	for _, r := range []string{"no_sha256_signature", "too_large", "busy"} {
		rejected.WithLabelValues(r)
	}
	g := &guard{next: next, opts: o, budget: semaphore.NewWeighted(o.Budget), rejected: rejected}
	return g, nil
}

type guard struct {
	next     http.Handler
	opts     Options
	budget   *semaphore.Weighted
	rejected *prometheus.CounterVec
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
	defer g.budget.Release(size)
	r.Body = http.MaxBytesReader(w, r.Body, g.opts.MaxBody)
	g.next.ServeHTTP(w, r)
}

func (g *guard) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	g.rejected.WithLabelValues(reason).Inc()
	zerolog.Ctx(r.Context()).Warn().Str(logKeyReason, reason).Int64(logKeyLength, r.ContentLength).Msg("Webhook refused before its signature was checked")
	http.Error(w, msg, status)
}
