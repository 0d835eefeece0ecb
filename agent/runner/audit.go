package runner

import (
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/wire"
)

// auditTransport sends requests with the job's token and records each call
// (method and path, never the query, headers or body) for the job's audit
// trail, which heartbeats and the complete message carry to the server.
type auditTransport struct {
	base  http.RoundTripper
	token string
	log   zerolog.Logger

	mu      sync.Mutex
	pending []wire.APICall
	total   int
}

func (t *auditTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	resp, err := t.base.RoundTrip(r)
	call := wire.APICall{Method: r.Method, Path: r.URL.Path, At: time.Now().UTC()}
	if resp != nil {
		call.Status = resp.StatusCode
	}
	t.mu.Lock()
	t.pending = append(t.pending, call)
	t.total++
	t.mu.Unlock()
	t.log.Info().Str(logKeyMethod, call.Method).Str(logKeyPath, call.Path).Int(logKeyStatus, call.Status).Msg("github call")
	return resp, err
}

// drain returns the calls not yet reported and forgets them.
func (t *auditTransport) drain() []wire.APICall {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.pending
	t.pending = nil
	return out
}

// requeue puts back calls a message failed to deliver.
func (t *auditTransport) requeue(calls []wire.APICall) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(calls, t.pending...)
}

// count is how many calls were made with the token.
func (t *auditTransport) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}
