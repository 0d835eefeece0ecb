package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/wire"
)

// ModelOptions configure the model proxy: the provider, its API base URL
// (Anthropic: https://api.anthropic.com; OpenAI-compatible: the base that
// ends before /chat/completions, such as https://api.openai.com/v1) and the
// key, which never leaves the server.
type ModelOptions struct {
	Provider string
	BaseURL  string
	APIKey   string
	// HTTPClient calls the provider (default: no overall timeout, since
	// generations stream for minutes; the request's context bounds it).
	HTTPClient *http.Client
}

// modelCallLimit bounds one forwarded model call.
const modelCallLimit = 15 * time.Minute

// modelProxy forwards a job's model calls to the provider, adding the key,
// and counts the tokens each answer's usage reports against the job's
// budget: once spent, further calls are refused.
type modelProxy struct {
	b        *Broker
	provider string
	upstream *url.URL
	key      string
	client   *http.Client
	path     string // the one path forwarded
}

func newModelProxy(o ModelOptions, b *Broker) (*modelProxy, error) {
	m := &modelProxy{b: b, provider: o.Provider, key: o.APIKey, client: o.HTTPClient}
	if o.BaseURL == "" {
		return m, nil
	}
	u, err := url.Parse(strings.TrimSuffix(o.BaseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("broker: the model base URL %q is not an absolute http(s) URL", o.BaseURL)
	}
	switch o.Provider {
	case wire.ProviderAnthropic:
		m.path = wire.AnthropicMessages
	case wire.ProviderOpenAI:
		m.path = wire.OpenAIChat
	default:
		return nil, fmt.Errorf("broker: the model provider must be anthropic or openai, got %q", o.Provider)
	}
	if o.APIKey == "" {
		return nil, errors.New("broker: the model proxy needs the provider's API key")
	}
	if m.client == nil {
		m.client = &http.Client{}
	}
	m.upstream = u
	return m, nil
}

// access is what a job's spec says about the proxy.
func (m *modelProxy) access(publicURL, jobID string) *wire.ModelAccess {
	if m.upstream == nil {
		return nil
	}
	return &wire.ModelAccess{Provider: m.provider, BaseURL: wire.JobURL(publicURL, jobID, wire.ModelRoute)}
}

// serve forwards one model call.
func (m *modelProxy) serve(w http.ResponseWriter, r *http.Request) {
	ctx, jobID := r.Context(), r.PathValue("id")
	if m.upstream == nil {
		m.fail(ctx, w, jobID, refuse(http.StatusNotFound, "this server has no model proxy (INFRA_AGENT_MODEL_BASE_URL is not set)"))
		return
	}
	if r.Method != http.MethodPost || r.PathValue("rest") != m.path {
		m.fail(ctx, w, jobID, refuse(http.StatusNotFound, "the model proxy forwards only POST %s", m.path))
		return
	}
	// A generation streams for minutes: longer than the server's write
	// timeout, which suits every other route.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(modelCallLimit))
	_ = rc.SetReadDeadline(time.Now().Add(modelCallLimit))
	cred := r.Header.Get("X-Api-Key")
	if cred == "" {
		cred = bearer(r)
	}
	_, run, rf := m.b.authJob(ctx, jobID, cred)
	if rf != nil {
		m.fail(ctx, w, jobID, rf)
		return
	}
	budget := run.ModelTokenBudget
	if run.ModelTokensUsed >= budget {
		rf := refuse(http.StatusForbidden,
			"budget_exceeded: job %s has spent its model token budget (%d of %d tokens); no further model calls are forwarded",
			jobID, run.ModelTokensUsed, budget)
		rf.kind = "budget_exceeded"
		m.fail(ctx, w, jobID, rf)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		m.fail(ctx, w, jobID, refuse(http.StatusRequestEntityTooLarge, "reading the request: %v", err))
		return
	}
	req, err := m.forwardRequest(ctx, r, body)
	if err != nil {
		m.fail(ctx, w, jobID, refuse(http.StatusBadRequest, "%v", err))
		return
	}
	resp, err := m.client.Do(req)
	if err != nil {
		m.fail(ctx, w, jobID, refuse(http.StatusBadGateway, "calling the model provider: %v", err))
		return
	}
	defer func() { _ = resp.Body.Close() }()
	m.relay(w, resp, body, func(used int64) {
		total, err := m.b.store.AddModelTokens(context.WithoutCancel(ctx), jobID, used)
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Str(logKeyJobID, jobID).Msg("recording model tokens")
		}
		zerolog.Ctx(ctx).Info().Str(logKeyJobID, jobID).Int64(logKeyModelTokens, used).Int64(logKeyModelTotal, total).
			Int64(logKeyModelBudget, budget).Int(logKeyStatus, resp.StatusCode).Msg("model call forwarded")
	})
}

// forwardRequest builds the upstream request: the body as sent, the
// provider's headers the SDKs set, and the server's key in place of the
// runner's session. A streamed OpenAI call is asked to report its usage.
func (m *modelProxy) forwardRequest(ctx context.Context, r *http.Request, body []byte) (*http.Request, error) {
	var probe struct {
		Stream bool `json:"stream"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("the request body is not JSON: %v", err)
	}
	if probe.Stream && m.provider == wire.ProviderOpenAI {
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("the request body is not a JSON object: %v", err)
		}
		opts, _ := doc["stream_options"].(map[string]any)
		if opts == nil {
			opts = map[string]any{}
		}
		opts["include_usage"] = true
		doc["stream_options"] = opts
		var err error
		if body, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("encoding the request: %v", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.upstream.String()+"/"+m.path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the upstream request: %v", err)
	}
	for name, vals := range r.Header {
		switch lower := strings.ToLower(name); {
		case lower == "content-type", lower == "accept", lower == "anthropic-version", lower == "anthropic-beta",
			lower == "idempotency-key", strings.HasPrefix(lower, "x-stainless-"):
			req.Header[name] = vals
		}
	}
	if m.provider == wire.ProviderAnthropic {
		req.Header.Set("X-Api-Key", m.key)
	} else {
		req.Header.Set("Authorization", "Bearer "+m.key)
	}
	return req, nil
}

// relay copies the provider's answer to the runner and charges the tokens
// its usage reports. A streamed answer is copied as it arrives and read for
// usage on the way; one that reports none is charged the request's
// max_tokens, so an answer without usage cannot spend the budget for free.
// The last piece of the answer is held until the charge is made: a runner
// sees the end of the stream (the SDKs stop at its last event, before the
// body ends) only once its tokens count, so its next call meets the budget.
func (m *modelProxy) relay(w http.ResponseWriter, resp *http.Response, reqBody []byte, charge func(used int64)) {
	for _, h := range []string{"Content-Type", "Retry-After", "Request-Id", "X-Request-Id", "Cache-Control"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	meter := &usageMeter{provider: m.provider}
	flusher, _ := w.(http.Flusher)
	send := func(p []byte) bool {
		if _, err := w.Write(p); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	buf, held := make([]byte, 32<<10), make([]byte, 0, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			meter.Write(buf[:n])
			if len(held) > 0 && !send(held) {
				return
			}
			held = append(held[:0], buf[:n]...)
		}
		if err != nil {
			break
		}
	}
	if resp.StatusCode < 300 {
		used, found := meter.tokens()
		if !found {
			var req struct {
				MaxTokens           int64 `json:"max_tokens"`
				MaxCompletionTokens int64 `json:"max_completion_tokens"`
			}
			_ = json.Unmarshal(reqBody, &req)
			used = max(req.MaxTokens, req.MaxCompletionTokens, 1)
		}
		if used > 0 {
			charge(used)
		}
	}
	if len(held) > 0 {
		send(held)
	}
}

// fail answers a refusal in the provider's own error format, so the SDK
// raises an error whose message says why.
func (m *modelProxy) fail(ctx context.Context, w http.ResponseWriter, jobID string, rf *refusal) {
	zerolog.Ctx(ctx).Warn().Str(logKeyRoute, wire.ModelRoute).Str(logKeyJobID, jobID).Int(logKeyStatus, rf.status).
		Str(logKeyReason, rf.reason).Msg("model call refused")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Should-Retry", "false")
	w.WriteHeader(rf.status)
	var body any
	if m.provider == wire.ProviderOpenAI {
		body = map[string]any{"error": map[string]any{"message": rf.reason, "type": rf.kind, "code": rf.kind}}
	} else {
		body = map[string]any{"type": "error", "error": map[string]any{"type": anthropicErrorType(rf.status), "message": rf.reason}}
	}
	_ = json.NewEncoder(w).Encode(body)
}

func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	}
	return "api_error"
}
