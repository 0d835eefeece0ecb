package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/broker"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/ghclient"
	"github.com/infra-agent/infra-agent/handlers"
	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// Log keys of the server's own lines.
const (
	logKeyAddr        = "addr"
	logKeyMetricsAddr = "metrics_addr"
	logKeyApp         = "app"
	logKeyAppID       = "app_id"
	logKeyDatabase    = "database"
	logKeyReplica     = "replica"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, io stdio) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.err)
	configPath := fs.String("config", "", "YAML file with the server settings (the environment overrides it)")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return usageError("serve takes no arguments, got %q", fs.Args())
	}
	ctx, cfg, err := configure(ctx, *configPath, getenv, io.err)
	if err != nil {
		return err
	}
	return serve(ctx, cfg)
}

// configure loads the server's settings (the file at path, if any, then the
// environment) and returns ctx with their logger, writing to w.
func configure(ctx context.Context, path string, getenv func(string) string, w io.Writer) (context.Context, config.Server, error) {
	cfg, err := config.LoadServer(path, getenv)
	if err != nil {
		return ctx, cfg, err
	}
	logger, err := newLogger(cfg, w)
	if err != nil {
		return ctx, cfg, err
	}
	return logger.WithContext(ctx), cfg, nil
}

// newLogger builds the server's logger from its settings.
func newLogger(cfg config.Server, w io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("log level: %w", err)
	}
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

// daemon is everything serve wires together.
type daemon struct {
	cfg       config.Server
	store     store.Store
	svc       *jobs.Service
	broker    *broker.Broker
	sched     *intake.Scheduler
	appClient *github.Client
	reg       *prometheus.Registry
	slug      string
	// listeners and their servers: the main address, and the metrics
	// address when it is separate.
	listeners []net.Listener
	servers   []*http.Server
}

// serve wires the server (config → clients → store → handlers → dispatcher →
// mux), runs it until ctx ends, then shuts down in order: stop intake, finish
// in-flight work, close the store. Everything that can fail at start fails
// before the first request is served, and leaves nothing open behind it.
func serve(ctx context.Context, cfg config.Server) error {
	s, err := start(ctx, cfg)
	if err != nil {
		return err
	}
	err = s.run(ctx)
	if cerr := s.store.Close(); cerr != nil {
		zerolog.Ctx(ctx).Error().Err(cerr).Msg("closing the database")
	}
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Msg("stopped")
	return nil
}

// start builds the server and opens its listeners. On error it closes what
// it opened.
func start(ctx context.Context, cfg config.Server) (*daemon, error) {
	s := &daemon{cfg: cfg, reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	clients, err := ghclient.NewClientCreator(cfg.GitHub, s.reg, ghclient.Options{UserAgent: "infra-agent/" + version})
	if err != nil {
		return nil, err
	}
	if s.appClient, err = clients.NewAppClient(); err != nil {
		return nil, fmt.Errorf("creating the App client: %w", err)
	}
	if s.slug, err = appSlug(ctx, s.appClient); err != nil {
		return nil, err
	}
	if s.store, err = store.Open(ctx, cfg.Database); err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	if err := s.wire(ctx, clients); err != nil {
		return nil, errors.Join(err, s.store.Close())
	}
	if err := s.listen(ctx); err != nil {
		return nil, errors.Join(err, s.sched.Shutdown(ctx), s.store.Close())
	}
	return s, nil
}

// wire builds the job service, the runner broker, the handlers and the
// intake.
func (s *daemon) wire(ctx context.Context, clients githubapp.ClientCreator) error {
	var err error
	// The broker revokes the token of a job that ends by any path; the job
	// service tells it, and it drives the job service in turn.
	s.svc, err = jobs.NewService(jobs.ServiceOptions{
		Store:          s.store,
		Clients:        clients,
		AppID:          s.cfg.GitHub.App.IntegrationID,
		AppSlug:        s.slug,
		Registerer:     s.reg,
		RunningTimeout: s.cfg.HeartbeatTimeout,
		OnJobEnded:     func(ctx context.Context, j store.Job) { s.broker.JobEnded(ctx, j) },
		StepLease:      s.cfg.Lease,
	})
	if err != nil {
		return err
	}
	if s.broker, err = newBroker(s.cfg, s.store, s.svc, clients, s.slug); err != nil {
		return err
	}
	hs, err := handlers.New(handlers.Options{
		AppID: s.cfg.GitHub.App.IntegrationID, Jobs: s.svc, Runs: s.svc, Installations: s.svc,
	})
	if err != nil {
		return err
	}
	s.sched, err = intake.Start(ctx, s.store, hs,
		intake.WithWorkers(s.cfg.Workers), intake.WithQueueSize(s.cfg.QueueSize), intake.WithRegisterer(s.reg),
		intake.WithLease(s.cfg.Lease),
		intake.WithRetries(intake.RetryPolicy{
			Backoff: s.cfg.DeliveryRetryBackoff, MaxBackoff: intake.MaxBackoffFactor * s.cfg.DeliveryRetryBackoff,
			Window: s.cfg.DeliveryRetryWindow,
		}))
	if err != nil {
		return err
	}
	dispatcher := githubapp.NewEventDispatcher(hs, s.cfg.GitHub.App.WebhookSecret, githubapp.WithScheduler(s.sched))
	main, metrics, err := newMuxes(*zerolog.Ctx(ctx), dispatcher, s.reg, s.store, s.broker, s.cfg)
	if err != nil {
		return errors.Join(err, s.sched.Shutdown(ctx))
	}
	s.servers = append(s.servers, newHTTPServer(ctx, main))
	if metrics != nil {
		s.servers = append(s.servers, newHTTPServer(ctx, metrics))
	}
	return nil
}

// listen opens the main address and, when set, the metrics address.
func (s *daemon) listen(ctx context.Context) error {
	for _, addr := range []string{s.cfg.Addr, s.cfg.MetricsAddr} {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range s.listeners {
				_ = l.Close()
			}
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		s.listeners = append(s.listeners, ln)
	}
	return nil
}

// run serves until ctx ends or a listener fails, with the background duties,
// then shuts down in order.
func (s *daemon) run(ctx context.Context) error {
	logger := zerolog.Ctx(ctx)
	served := make(chan error, len(s.servers))
	for i, srv := range s.servers {
		go func() { served <- srv.Serve(s.listeners[i]) }()
	}
	ev := logger.Info().Str(logKeyAddr, s.listeners[0].Addr().String())
	if len(s.listeners) > 1 {
		ev = ev.Str(logKeyMetricsAddr, s.listeners[1].Addr().String())
	}
	ev.Str(logKeyApp, s.slug).Int64(logKeyAppID, s.cfg.GitHub.App.IntegrationID).
		Str(logKeyDatabase, databaseKind(s.cfg.Database)).Str(logKeyReplica, s.sched.Replica()).Msg("listening")

	// Deliveries recorded before a restart but not processed run now, and
	// jobs whose workflow runs ended meanwhile are closed.
	if err := s.sched.Recover(ctx); err != nil {
		logger.Error().Err(err).Msg("recovering unprocessed deliveries")
	}
	if err := s.svc.ReconcileStarted(ctx); err != nil {
		logger.Error().Err(err).Msg("reconciling the jobs of the previous run")
	}
	stopBackground := s.startDuties(ctx)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	logger.Info().Msg("shutting down")
	stopBackground()
	return errors.Join(s.shutdown(ctx), serveErrors(serveErr))
}

// shutdown stops the HTTP servers, drains the intake and the dispatch
// retries, each within the shutdown timeout.
func (s *daemon) shutdown(ctx context.Context) error {
	// ctx is done by now; the drain gets its own deadline.
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(drainCtx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the HTTP server: %w", err))
		}
	}
	if err := s.sched.Shutdown(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("draining webhook work: %w", err))
	}
	if err := s.svc.Shutdown(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("finishing dispatch retries: %w", err))
	}
	return errors.Join(errs...)
}

func serveErrors(err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serving HTTP: %w", err)
}

// newHTTPServer returns the server for h. Requests get ctx's values (the
// logger) but not its cancellation: ctx ends when shutdown begins, and the
// requests still in flight must be able to finish recording their deliveries
// while http.Server.Shutdown waits for them.
func newHTTPServer(ctx context.Context, h http.Handler) *http.Server {
	base := context.WithoutCancel(ctx)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
}

// appSlug asks GitHub who this App is: its slug names its bot user, which is
// how the server recognises events it caused itself. Failing here means the
// key, the app id or the API URL is wrong, and no webhook could be answered.
func appSlug(ctx context.Context, client *github.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	app, _, err := client.Apps.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("reading the App from GitHub (check GITHUB_APP_INTEGRATION_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_V3_API_URL): %w", err)
	}
	if app.GetSlug() == "" {
		return "", errors.New("reading the App from GitHub: the answer has no slug")
	}
	return app.GetSlug(), nil
}

// newBroker builds the runner API from the server's settings.
func newBroker(cfg config.Server, st store.Store, svc *jobs.Service, clients githubapp.ClientCreator, slug string) (*broker.Broker, error) {
	b, err := broker.New(broker.Options{
		Store: st, Jobs: svc, Clients: clients, AppSlug: slug,
		APIURL: cfg.GitHub.V3APIURL, GraphQLURL: cfg.GitHub.V4APIURL, Issuer: cfg.OIDCIssuer, Audience: cfg.PublicURL,
		HeartbeatEvery: cfg.HeartbeatTimeout / wire.MissedHeartbeats,
		Model:          broker.ModelOptions{Provider: cfg.Model.Provider, BaseURL: cfg.Model.BaseURL, APIKey: cfg.Model.APIKey},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the runner broker: %w", err)
	}
	return b, nil
}

func databaseKind(dsn string) string {
	if config.IsPostgres(dsn) {
		return "postgres"
	}
	return "sqlite"
}
