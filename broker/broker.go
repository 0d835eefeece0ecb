// Package broker is the server side of the runner API: it verifies the Actions
// OIDC token of a runner, binds the workflow run to its job, mints the job's
// scoped installation token and hands out the job spec (claim), takes the
// runner's heartbeats and its final report (complete), revokes the token when
// the job ends by any path, and forwards the job's model calls to the
// configured provider within the job's token budget. It never imports
// terraform, conftest or model code: the runner does that work.
package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// Log keys of the broker.
const (
	logKeyJobID       = "job_id"
	logKeyRunID       = "run_id"
	logKeyRunAttempt  = "run_attempt"
	logKeyRepository  = "repository"
	logKeyReason      = "reason"
	logKeyStatus      = "status"
	logKeyRoute       = "route"
	logKeyEvent       = "audit_event"
	logKeyData        = "data"
	logKeyModelTokens = "model_tokens"
	logKeyModelTotal  = "model_tokens_total"
	logKeyModelBudget = "model_token_budget"
)

// Jobs is what the broker needs of the job layer (*jobs.Service).
type Jobs interface {
	ClaimJob(ctx context.Context, c store.RunClaim) (store.Job, store.Run, bool, error)
	EndJob(ctx context.Context, id string, end jobs.JobEnd) (store.Job, bool, error)
	RepoConfig(ctx context.Context, client *github.Client, j store.Job) (config.RepoConfig, string, error)
}

// DefaultMaxClaims bounds the claims of one run: the first and the replays of
// a runner whose answer was lost on the way.
const DefaultMaxClaims = 3

// Options configure a Broker.
type Options struct {
	Store   store.Store
	Jobs    Jobs
	Clients githubapp.ClientCreator
	// APIURL is the GitHub REST API base URL (the server's GITHUB_V3_API_URL);
	// GraphQLURL its GraphQL API (GITHUB_V4_API_URL).
	APIURL, GraphQLURL string
	// AppSlug is the App's slug, which names its bot user.
	AppSlug string
	// Issuer is the Actions OIDC issuer; Audience the server's public URL,
	// which runners ask their tokens for.
	Issuer, Audience string
	// HTTPClient talks to the issuer and revokes tokens (default: 30 s timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now       func() time.Time
	MaxClaims int
	// HeartbeatEvery is the interval runners are told to beat at (default
	// wire.HeartbeatEvery); the job service's running timeout should be
	// wire.MissedHeartbeats times it.
	HeartbeatEvery time.Duration
	// Model configures the model proxy; an empty BaseURL turns it off.
	Model ModelOptions
}

// Broker serves the runner API.
type Broker struct {
	store     store.Store
	jobs      Jobs
	clients   githubapp.ClientCreator
	apiURL    string
	gqlURL    string
	appSlug   string
	audience  string
	verifier  *verifier
	tokens    *minter
	now       func() time.Time
	maxClaims int
	beat      time.Duration
	model     *modelProxy

	mu sync.Mutex
	// completing marks the jobs a runner's complete is ending: their check
	// runs are the runner's to conclude.
	completing map[string]bool
}

// New checks o and returns a Broker.
func New(o Options) (*Broker, error) {
	if o.Store == nil || o.Jobs == nil || o.Clients == nil {
		return nil, errors.New("broker: a store, the job service and a client creator are required")
	}
	if o.APIURL == "" || o.Issuer == "" {
		return nil, errors.New("broker: the GitHub API URL and the OIDC issuer are required")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxClaims <= 0 {
		o.MaxClaims = DefaultMaxClaims
	}
	if o.HeartbeatEvery < time.Second {
		o.HeartbeatEvery = wire.HeartbeatEvery
	}
	b := &Broker{
		store: o.Store, jobs: o.Jobs, clients: o.Clients, apiURL: o.APIURL, gqlURL: o.GraphQLURL, appSlug: o.AppSlug,
		audience:   o.Audience,
		verifier:   &verifier{issuer: o.Issuer, audience: o.Audience, client: o.HTTPClient, now: o.Now},
		tokens:     &minter{clients: o.Clients, apiURL: o.APIURL, http: o.HTTPClient, held: map[string]string{}},
		now:        o.Now,
		maxClaims:  o.MaxClaims,
		beat:       o.HeartbeatEvery,
		completing: map[string]bool{},
	}
	m, err := newModelProxy(o.Model, b)
	if err != nil {
		return nil, err
	}
	b.model = m
	return b, nil
}

// Register adds the runner API's routes to mux.
func (b *Broker) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+wire.RoutePrefix+"{id}/"+wire.ClaimRoute, b.limit(maxMessageBytes, b.claim))
	mux.HandleFunc("POST "+wire.RoutePrefix+"{id}/"+wire.HeartbeatRoute, b.limit(maxMessageBytes, b.heartbeat))
	mux.HandleFunc("POST "+wire.RoutePrefix+"{id}/"+wire.CompleteRoute, b.limit(maxCompleteBytes, b.complete))
	mux.HandleFunc(wire.RoutePrefix+"{id}/"+wire.ModelRoute+"/{rest...}", b.limit(maxModelBytes, b.model.serve))
}

// Limits on request bodies.
const (
	maxMessageBytes  = 256 << 10
	maxCompleteBytes = 4 << 20
	maxModelBytes    = 16 << 20
)

func (b *Broker) limit(n int64, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h(w, r)
	}
}

// JobEnded revokes the token the broker holds for a job that ended by any
// path (complete, cancel, supersede, watchdog, a finished workflow run). It is
// the job service's OnJobEnded hook.
//
// When the job ended without its runner's complete (a time-out, a cancel, a
// run that died), the check runs the runner had started for it are concluded
// too, so none stays in progress forever.
func (b *Broker) JobEnded(ctx context.Context, j store.Job) {
	b.revoke(ctx, j, string(j.State))
	b.mu.Lock()
	reported := b.completing[j.ID]
	b.mu.Unlock()
	if reported {
		return
	}
	if _, err := b.store.GetRun(ctx, j.ID); err != nil {
		return // never claimed: no runner started anything
	}
	b.concludeOrphans(ctx, j)
}

// revoke revokes the job's token if this server holds it, records it, and
// reports whether it did.
func (b *Broker) revoke(ctx context.Context, j store.Job, reason string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	revoked, err := b.tokens.revoke(ctx, j.ID)
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str(logKeyJobID, j.ID).Msg("revoking the token of an ended job")
		return false
	}
	if revoked {
		b.audit(ctx, j.ID, "credential_revoked", map[string]any{"reason": reason, "run_id": j.RunID})
	}
	return revoked
}

// audit records an audit event in the log and the store. A store failure is
// logged: the log line is the audit record of last resort.
func (b *Broker) audit(ctx context.Context, jobID, typ string, data map[string]any) {
	zerolog.Ctx(ctx).Info().Str(logKeyJobID, jobID).Str(logKeyEvent, typ).Interface(logKeyData, data).Msg("audit")
	if err := b.store.AddAuditEvents(ctx, []store.AuditEvent{{JobID: jobID, At: b.now(), Type: typ, Data: data}}); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str(logKeyJobID, jobID).Str(logKeyEvent, typ).Msg("recording an audit event")
	}
}

// auditCalls records the GitHub calls a runner reports.
func (b *Broker) auditCalls(ctx context.Context, jobID string, calls []wire.APICall) {
	if len(calls) == 0 {
		return
	}
	events := make([]store.AuditEvent, 0, len(calls))
	for _, c := range calls {
		at := c.At
		if at.IsZero() {
			at = b.now()
		}
		data := map[string]any{"method": c.Method, "path": c.Path, "status": c.Status}
		zerolog.Ctx(ctx).Info().Str(logKeyJobID, jobID).Str(logKeyEvent, "github_call").Interface(logKeyData, data).Msg("audit")
		events = append(events, store.AuditEvent{JobID: jobID, At: at, Type: "github_call", Data: data})
	}
	if err := b.store.AddAuditEvents(ctx, events); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str(logKeyJobID, jobID).Msg("recording the runner's GitHub calls")
	}
}

// newSession returns a session secret and its hash.
func newSession() (secret, hash string, err error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", "", fmt.Errorf("generating a session secret: %w", err)
	}
	secret = wire.SessionPrefix + base64.RawURLEncoding.EncodeToString(buf)
	return secret, hashSession(secret), nil
}

func hashSession(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// bearer returns the credential of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// authJob authenticates a call about a claimed job: the job's session secret,
// or an Actions token of the run bound to it. The job must be running; an
// ended job's credentials are dead (409, with its state).
func (b *Broker) authJob(ctx context.Context, jobID, cred string) (store.Job, store.Run, *refusal) {
	if cred == "" {
		return store.Job{}, store.Run{}, refuse(http.StatusUnauthorized, "no credential: send the session secret or an Actions OIDC token as a bearer token")
	}
	// An unknown job, or one never claimed, is checked against the zero run:
	// no credential matches it, so the caller learns nothing about job ids it
	// holds no credential for, not even whether they exist.
	job, err := b.store.GetJob(ctx, jobID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Job{}, store.Run{}, refuse(http.StatusServiceUnavailable, "reading job %s: %v", jobID, err)
	}
	var run store.Run
	if err == nil {
		run, err = b.store.GetRun(ctx, jobID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return job, store.Run{}, refuse(http.StatusServiceUnavailable, "reading the run of job %s: %v", jobID, err)
		}
	}
	if strings.HasPrefix(cred, wire.SessionPrefix) {
		if run.SessionHash == "" || subtle.ConstantTimeCompare([]byte(hashSession(cred)), []byte(run.SessionHash)) != 1 {
			return job, run, refuse(http.StatusUnauthorized, "the session secret is not this job's")
		}
	} else {
		id, err := b.verifier.verify(ctx, cred)
		if err != nil {
			return job, run, refuse(http.StatusUnauthorized, "the OIDC token is not valid: %v", err)
		}
		if run.RunID == 0 || id.repoID != job.RepoID || id.runID != run.RunID || id.runAttempt != run.RunAttempt {
			return job, run, refuse(http.StatusForbidden, "the token is for run %d attempt %d of repository id %d, not this job's", id.runID, id.runAttempt, id.repoID)
		}
	}
	if job.State != store.JobRunning {
		r := refuse(http.StatusConflict, "the job ended (%s)", job.State)
		r.state = job.State
		return job, run, r
	}
	return job, run, nil
}

// writeRefusal answers a refusal and logs it.
func writeRefusal(ctx context.Context, w http.ResponseWriter, route, jobID string, r *refusal) {
	ev := zerolog.Ctx(ctx).Warn()
	if r.status >= 500 {
		ev = zerolog.Ctx(ctx).Error()
	}
	ev.Str(logKeyRoute, route).Str(logKeyJobID, jobID).Int(logKeyStatus, r.status).Str(logKeyReason, r.reason).Msg("runner request refused")
	writeJSON(w, r.status, wire.ErrorBody{Error: wire.ErrorDetail{Type: r.kind, Message: r.reason, State: string(r.state)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON message of the runner API and checks its version.
func decode(r *http.Request, v any, version func() int) *refusal {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		return refuse(http.StatusBadRequest, "the body is not a JSON message: %v", err)
	}
	if got := version(); got != wire.APIVersion {
		return refuse(http.StatusBadRequest, "message version %d; this server speaks version %d", got, wire.APIVersion)
	}
	return nil
}
