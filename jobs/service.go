package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/appconfig"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/wait"
	"github.com/infra-agent/infra-agent/jobs/ghops"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// Log keys of the job layer. The delivery being handled is already in the
// context logger (go-githubapp's github_delivery_id); a job's lines also carry
// the delivery that created it, which differs for reconcile and watchdog work.
const (
	logKeyJobID           = "job_id"
	logKeyJobKind         = "job_kind"
	logKeyTriggerDelivery = "trigger_delivery_id"
	logKeyReason          = "reason"
	logKeyTaskSource      = "task_source"
	logKeyTaskAction      = "task_action"
	logKeyTaskKind        = "task_kind"
	logKeyNumber          = "number"
	logKeyActor           = "actor"
	logKeyPermission      = "permission"
	logKeyQuiet           = "quiet"
	logKeyTier            = "tier"
	logKeyStatic          = "static"
	logKeyHeadSHA         = "head_sha"
	logKeyState           = "state"
	logKeyPreviousState   = "previous_state"
	logKeySupersededBy    = "superseded_by"
	logKeyAttempt         = "attempt"
	logKeyAttempts        = "attempts"
	logKeyRunID           = "run_id"
	logKeyConclusion      = "conclusion"
	logKeyDisplayTitle    = "display_title"
	logKeyStall           = "stall"
	logKeyAccount         = "account"
	logKeyAction          = "action"
	logKeyRepositories    = "repositories"
)

// Defaults of ServiceOptions.
const (
	DefaultQueuedTimeout  = 5 * time.Minute
	DefaultRunningTimeout = wire.MissedHeartbeats * wire.HeartbeatEvery
)

// DefaultDispatchBackoff is the wait before each dispatch retry: three retries
// after the first attempt, exponential from 5 s.
func DefaultDispatchBackoff() []time.Duration {
	return []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}
}

// RunEvent is a completed workflow run, as the workflow_run handler saw it.
type RunEvent struct {
	InstallationID int64
	RepoID         int64
	Owner, Repo    string
	RunID          int64
	WorkflowPath   string
	DisplayTitle   string
	HeadBranch     string
	// HeadRepoID is the repository the run's code came from: a fork's for a
	// pull request from a fork.
	HeadRepoID int64
	Conclusion string
	// Event is what started the run: workflow_dispatch for the runs the
	// server starts.
	Event string
}

// ServiceOptions configures a Service.
type ServiceOptions struct {
	Store store.Store
	// Clients creates installation clients (go-github v62).
	Clients githubapp.ClientCreator
	AppID   int64
	// AppSlug is used for "@slug" in replies and "<slug>[bot]" self-detection.
	AppSlug string
	// Registerer, when set, receives the job metrics.
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time
	// DispatchBackoff is the wait before each dispatch retry (nil: the
	// default; empty: no retries).
	DispatchBackoff []time.Duration
	// QueuedTimeout and RunningTimeout are the watchdog's limits (defaults
	// 5 min queued; running, three missed heartbeats: 90 s).
	QueuedTimeout, RunningTimeout time.Duration
	// StepLease is how long a handler's claim on a job's steps lasts unless it
	// renews it (default DefaultStepLease).
	StepLease time.Duration
	// ConcludeGrace is how long the watchdog waits, by the database's clock,
	// before concluding the check run of a job that ended while GitHub refused
	// the conclusion (default DefaultConcludeGrace).
	ConcludeGrace time.Duration
	// OnJobEnded, when set, is called after a job leaves the active states by
	// any path (complete, cancel, supersede, watchdog, a workflow run that
	// ended): the broker revokes the token it still holds for the job.
	OnJobEnded func(ctx context.Context, j store.Job)
}

// Service turns tasks into jobs and keeps every job moving to a terminal state
// that is visible on GitHub.
type Service struct {
	store          store.Store
	clients        githubapp.ClientCreator
	appID          int64
	appSlug        string
	now            func() time.Time
	backoff        []time.Duration
	queuedTimeout  time.Duration
	runningTimeout time.Duration
	concludeGrace  time.Duration
	onEnded        func(ctx context.Context, j store.Job)
	stepLease      time.Duration
	configs        *appconfig.Loader
	orgConfigs     *appconfig.Loader
	metrics        *metrics
	// poster posts each reply once, whatever retries happen.
	poster ghops.Poster

	// background tracks dispatch retries that outlive the Submit call.
	background sync.WaitGroup
	// mu guards closing, which Shutdown sets: no retry starts after it, so
	// background.Add never races background.Wait.
	mu      sync.Mutex
	closing bool
	// stopping is closed by Shutdown when its deadline passes: the retries
	// stop waiting and conclude their jobs.
	stopping chan struct{}
	stopOnce sync.Once
	// sleep waits between dispatch attempts; tests replace it to hold a retry.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewService checks o and returns a Service.
func NewService(o ServiceOptions) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("jobs: a store is required")
	}
	if o.Clients == nil {
		return nil, errors.New("jobs: a GitHub client creator is required")
	}
	if o.AppID <= 0 {
		return nil, fmt.Errorf("jobs: the App id must be positive, got %d", o.AppID)
	}
	s := &Service{
		store:          o.Store,
		clients:        o.Clients,
		appID:          o.AppID,
		appSlug:        o.AppSlug,
		now:            o.Now,
		backoff:        o.DispatchBackoff,
		queuedTimeout:  o.QueuedTimeout,
		runningTimeout: o.RunningTimeout,
		concludeGrace:  o.ConcludeGrace,
		onEnded:        o.OnJobEnded,
		stepLease:      o.StepLease,
		sleep:          wait.Sleep,
		stopping:       make(chan struct{}),
		// Remote references ("remote: other/repo, ref: some-branch") are turned
		// off: they could point the configuration at a branch anyone can push
		// to, and the configuration must come from a default branch. A file that
		// tries one fails the strict parse with its line.
		// The organisation fallback is loadOrgConfig's, not the loader's: the
		// loader reads it at a bare branch name.
		configs: appconfig.NewLoader([]string{config.RepoConfigPath},
			appconfig.WithRemoteRefParser(nil), appconfig.WithOwnerDefault("", nil)),
		orgConfigs: appconfig.NewLoader([]string{orgConfigPath},
			appconfig.WithRemoteRefParser(nil), appconfig.WithOwnerDefault("", nil)),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.backoff == nil {
		s.backoff = DefaultDispatchBackoff()
	}
	if s.queuedTimeout <= 0 {
		s.queuedTimeout = DefaultQueuedTimeout
	}
	if s.runningTimeout <= 0 {
		s.runningTimeout = DefaultRunningTimeout
	}
	if s.concludeGrace <= 0 {
		s.concludeGrace = DefaultConcludeGrace
	}
	if s.stepLease <= 0 {
		s.stepLease = DefaultStepLease
	}
	s.poster = ghops.Poster{Store: o.Store, Bot: o.AppSlug + "[bot]", Now: s.now}
	m, err := newMetrics(o.Registerer, o.Store)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	return s, nil
}

// Wait blocks until the background dispatch retries have finished.
func (s *Service) Wait() { s.background.Wait() }

// goBackground runs fn in the background unless Shutdown has begun, and
// reports whether it did.
func (s *Service) goBackground(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		fn()
	}()
	return true
}

// Shutdown waits for the background dispatch retries; call it after intake
// has stopped. When ctx ends first, the retries stop waiting for their next
// attempt and fail their jobs with the reason (a job left queued would only be
// concluded by the watchdog minutes later), and ctx's error is returned once
// they have.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.background.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.stopOnce.Do(func() { close(s.stopping) })
	<-done
	return fmt.Errorf("waiting for dispatch retries: %w", ctx.Err())
}

// RecordInstallation records an installation event.
func (s *Service) RecordInstallation(ctx context.Context, in store.Installation) error {
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = s.now()
	}
	if err := s.store.UpsertInstallation(ctx, in); err != nil {
		return fmt.Errorf("recording installation %d: %w", in.ID, err)
	}
	zerolog.Ctx(ctx).Info().Int64(githubapp.LogKeyInstallationID, in.ID).Str(logKeyAccount, in.Account).
		Str("action", in.Action).Strs(logKeyRepositories, in.Repos).Msg("installation recorded")
	return nil
}

// concludeTimeout bounds the GitHub calls that follow a state change.
const concludeTimeout = 30 * time.Second

// detached returns a context for the GitHub calls that must follow a state
// change already committed to the store: a check run left queued for a job
// that ended would never be concluded by anyone, so these calls do not stop
// when the caller's context does.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), concludeTimeout)
}

// facts returns the Facts that identify this App.
func (s *Service) facts() Facts { return Facts{AppID: s.appID, AppSlug: s.appSlug} }

// jobContext returns ctx with a logger that carries the job's id and kind
// and the delivery that created it.
func jobContext(ctx context.Context, j store.Job) context.Context {
	l := zerolog.Ctx(ctx).With().Str(logKeyJobID, j.ID).Str(logKeyJobKind, string(j.Kind)).
		Str(logKeyTriggerDelivery, j.DeliveryID).Logger()
	return l.WithContext(ctx)
}
