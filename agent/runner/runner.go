// Package runner is `infra-agent run`: the runner side of a job in a GitHub
// Actions run. It proves who it is with the run's OIDC token, claims the job
// (spec, scoped token, session), sends heartbeats, fetches the source at the
// job's head and the policies from the default branch in process, runs the
// job kind's work within its hard deadline, and completes the job, so the
// server concludes it and revokes the token. The token lives in this
// process's memory only: never on disk, in logs or in any child's
// environment.
package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/wait"
	"github.com/infra-agent/infra-agent/wire"
)

// Options configure a run.
type Options struct {
	JobID string
	// ServerURL is the server's public URL: where the runner API is, and the
	// audience of the OIDC token.
	ServerURL string
	// Getenv reads the Actions runtime's variables (os.Getenv outside tests).
	Getenv func(string) string
	// Environ is the environment terraform's allow-lists filter (nil:
	// os.Environ()); the cloud key warnings read it too.
	Environ []string
	// Terraform overrides the repository's terraform.binary.
	Terraform string
	// WorkDir is where the job's workspace is made (default: the system's
	// temporary directory); it is removed at the end.
	WorkDir string
	// HTTPClient talks to the server, the Actions runtime and GitHub.
	HTTPClient *http.Client
	// Backoff is the wait before each retry of a server call (nil: DefaultBackoff).
	Backoff []time.Duration
	// HeartbeatEvery overrides the interval the claim answers (tests).
	HeartbeatEvery time.Duration
	// GitHubBackoff is the wait before each retry of a GitHub call refused
	// for now, when GitHub names no wait (nil: DefaultGitHubBackoff).
	GitHubBackoff []time.Duration

	// deadline, when set, replaces the job's deadline (tests).
	deadline time.Duration
}

// Result is how the run ended.
type Result struct {
	Status     wire.Status
	Conclusion string
	// GitHubCalls counts the GitHub API calls made with the job's token.
	GitHubCalls int
}

// ErrEndedOnServer means the job ended on the server (cancelled,
// superseded, timed out) while the runner worked.
var ErrEndedOnServer = errors.New("the job ended on the server")

// Run claims the job, runs it and completes it. The returned error is for
// what kept the job from being reported; a job that ran and failed is a
// Result with StatusFailed.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	logger := zerolog.Ctx(ctx).With().Str(logKeyJobID, o.JobID).Logger()
	ctx = logger.WithContext(ctx)
	srv := &serverClient{base: o.ServerURL, jobID: o.JobID, http: o.HTTPClient, backoff: o.Backoff, sleep: wait.Sleep}

	oidcToken, err := idToken(ctx, o.HTTPClient, o.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL"),
		o.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"), o.ServerURL)
	if err != nil {
		return Result{}, err
	}
	var claim wire.ClaimResponse
	if err := srv.call(ctx, wire.ClaimRoute, oidcToken, wire.ClaimRequest{Version: wire.APIVersion}, &claim); err != nil {
		return Result{}, fmt.Errorf("claiming job %s: %w", o.JobID, err)
	}
	spec := claim.Job
	logger.Info().Str(logKeyKind, string(spec.Kind)).Str(logKeyRepository, spec.Repository.FullName()).Int(logKeyNumber, spec.Number).
		Str(logKeyHeadSHA, spec.HeadSHA).Strs(logKeyPermissions, wire.SortedScopes(claim.Token.Permissions)).
		Time(logKeyExpires, claim.Token.ExpiresAt).Msg("job claimed")

	j, err := newJob(ctx, o, claim)
	if err != nil {
		return Result{}, err
	}
	defer j.cleanup()
	return j.run(ctx, srv)
}

func (o *Options) check() error {
	if o.JobID == "" {
		return errors.New("no job id (--job)")
	}
	u, err := url.Parse(o.ServerURL)
	if o.ServerURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("the server URL %q is not an absolute http(s) URL (--server or INFRA_AGENT_SERVER_URL)", o.ServerURL)
	}
	o.ServerURL = strings.TrimSuffix(o.ServerURL, "/")
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff()
	}
	if o.GitHubBackoff == nil {
		o.GitHubBackoff = DefaultGitHubBackoff()
	}
	return nil
}

// job is one claimed job on its way to completion.
type job struct {
	o       Options
	spec    wire.JobSpec
	claim   wire.ClaimResponse
	cfg     config.RepoConfig
	gh      *github.Client
	audit   *auditTransport
	dir     string
	started time.Time

	mu       sync.Mutex
	progress string
}

func newJob(ctx context.Context, o Options, claim wire.ClaimResponse) (*job, error) {
	cfg, err := config.ParseRepoConfig([]byte(claim.Job.Config))
	if err != nil {
		return nil, fmt.Errorf("the job's repository configuration: %w", err)
	}
	base, err := url.Parse(claim.Job.GitHubAPIURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("the job's GitHub API URL %q is not a URL", claim.Job.GitHubAPIURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	at := &auditTransport{base: http.DefaultTransport, token: claim.Token.Value, log: *zerolog.Ctx(ctx)}
	// Retries go through the audit, so every attempt is in the job's trail.
	rt := &retryTransport{base: at, waits: o.GitHubBackoff, maxWait: time.Minute, sleep: wait.Sleep, now: time.Now}
	gh := github.NewClient(&http.Client{Transport: rt, Timeout: 2 * time.Minute})
	gh.BaseURL, gh.UploadURL = base, base
	dir, err := os.MkdirTemp(o.WorkDir, "infra-agent-job-")
	if err != nil {
		return nil, fmt.Errorf("creating the workspace: %w", err)
	}
	return &job{o: o, spec: claim.Job, claim: claim, cfg: cfg, gh: gh, audit: at, dir: dir, started: time.Now()}, nil
}

func (j *job) cleanup() { _ = os.RemoveAll(j.dir) }

func (j *job) setProgress(p string) {
	j.mu.Lock()
	j.progress = p
	j.mu.Unlock()
}

func (j *job) currentProgress() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.progress
}

// run does the work within the deadline, with heartbeats, and completes.
func (j *job) run(ctx context.Context, srv *serverClient) (Result, error) {
	deadline := min(max(j.spec.Budgets.Deadline(), wire.MinDeadline), wire.DeadlineCeiling)
	if j.o.deadline > 0 {
		deadline = j.o.deadline
	}
	work, cancel := context.WithTimeoutCause(ctx, deadline, context.DeadlineExceeded)
	defer cancel()
	stopped := make(chan error, 1)
	hbDone := make(chan struct{})
	hbCtx, stopHB := context.WithCancel(work)
	go func() {
		defer close(hbDone)
		if err := j.heartbeats(hbCtx, srv); err != nil {
			stopped <- err
			cancel()
		}
	}()
	out := j.execute(work)
	stopHB()
	<-hbDone

	var ended error
	select {
	case ended = <-stopped:
	default:
	}
	switch {
	case ended != nil:
		zerolog.Ctx(ctx).Warn().Err(ended).Msg("the job ended on the server; stopping")
		j.revokeOwnToken(ctx)
		return Result{Status: wire.StatusCancelled, GitHubCalls: j.audit.count()}, fmt.Errorf("%w: %v", ErrEndedOnServer, ended)
	case ctx.Err() != nil:
		out = cancelled(ctx)
	case errors.Is(work.Err(), context.DeadlineExceeded):
		out = timedOut(deadline, j.currentProgress())
	}
	return j.complete(ctx, srv, out)
}

// heartbeats reports every interval until ctx ends. An answer saying the job
// ended on the server is returned; a server that does not answer is logged
// and tried again at the next beat (the watchdog allows three misses).
func (j *job) heartbeats(ctx context.Context, srv *serverClient) error {
	every := j.o.HeartbeatEvery
	if every <= 0 {
		every = time.Duration(j.claim.HeartbeatSeconds) * time.Second
	}
	if every <= 0 {
		every = wire.HeartbeatEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	once := &serverClient{base: srv.base, jobID: srv.jobID, http: srv.http, sleep: srv.sleep}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		calls := j.audit.drain()
		var resp wire.HeartbeatResponse
		err := once.call(ctx, wire.HeartbeatRoute, j.claim.Session,
			wire.Heartbeat{Version: wire.APIVersion, Progress: j.currentProgress(), Calls: calls}, &resp)
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.ended():
			return fmt.Errorf("the server says the job is %s", ae.body.State)
		case err != nil:
			j.audit.requeue(calls)
			zerolog.Ctx(ctx).Warn().Err(err).Msg("heartbeat failed")
		case resp.Stop:
			return fmt.Errorf("the server says the job is %s", resp.State)
		}
	}
}

// complete reports the outcome (on its own deadline: the work's may be the
// one that ended) and revokes the token itself if the server did not.
func (j *job) complete(ctx context.Context, srv *serverClient, out outcome) (Result, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 45*time.Second)
	defer cancel()
	msg := out.message(j)
	var resp wire.CompleteResponse
	err := srv.call(cctx, wire.CompleteRoute, j.claim.Session, msg, &resp)
	res := Result{Status: out.status, Conclusion: out.conclusion, GitHubCalls: j.audit.count()}
	if err != nil || !resp.TokenRevoked {
		j.revokeOwnToken(cctx)
	}
	if err != nil {
		return res, fmt.Errorf("completing job %s: %w", j.spec.ID, err)
	}
	zerolog.Ctx(ctx).Info().Str(logKeyStatus, string(out.status)).Str(logKeyConclusion, out.conclusion).
		Int(logKeyCalls, res.GitHubCalls).Dur(logKeyTook, time.Since(j.started)).Msg("job completed")
	return res, nil
}

// revokeOwnToken revokes the job's token with itself; one already revoked
// answers 401, which is fine.
func (j *job) revokeOwnToken(ctx context.Context) {
	resp, err := j.gh.Apps.RevokeInstallationToken(ctx)
	if err != nil && (resp == nil || resp.StatusCode != http.StatusUnauthorized) {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("revoking the job's token")
	}
}
