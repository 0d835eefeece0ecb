package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

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

// maxWebhookBytes is GitHub's cap on a webhook payload (25 MB); anything
// larger is not from GitHub.
const maxWebhookBytes = 25 << 20

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
	cfg, err := config.LoadServer(*configPath, getenv)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg, io.err)
	if err != nil {
		return err
	}
	ctx = logger.WithContext(ctx)
	return serve(ctx, cfg)
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

// serve wires the server (config → clients → store → handlers → dispatcher →
// mux), runs it until ctx ends, then shuts down in order: stop intake, finish
// in-flight work, close the store.
func serve(ctx context.Context, cfg config.Server) error {
	logger := zerolog.Ctx(ctx)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	clients, err := newClientCreator(cfg, reg)
	if err != nil {
		return err
	}
	slug, err := appSlug(ctx, clients)
	if err != nil {
		return err
	}

	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return fmt.Errorf("opening the database: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error().Err(err).Msg("closing the database")
		}
	}()

	// The broker revokes the token of a job that ends by any path; the job
	// service tells it, and it drives the job service in turn.
	var brk *broker.Broker
	svc, err := jobs.NewService(jobs.ServiceOptions{
		Store:          st,
		Clients:        clients,
		AppID:          cfg.GitHub.App.IntegrationID,
		AppSlug:        slug,
		Registerer:     reg,
		RunningTimeout: cfg.HeartbeatTimeout,
		OnJobEnded:     func(ctx context.Context, j store.Job) { brk.JobEnded(ctx, j) },
	})
	if err != nil {
		return err
	}
	if brk, err = newBroker(cfg, st, svc, clients); err != nil {
		return err
	}
	hs, err := handlers.New(handlers.Options{
		AppID: cfg.GitHub.App.IntegrationID, Jobs: svc, Runs: svc, Installations: svc,
	})
	if err != nil {
		return err
	}
	sched, err := intake.Start(ctx, st, hs,
		intake.WithWorkers(cfg.Workers), intake.WithQueueSize(cfg.QueueSize), intake.WithRegisterer(reg))
	if err != nil {
		return err
	}
	dispatcher := githubapp.NewEventDispatcher(hs, cfg.GitHub.App.WebhookSecret, githubapp.WithScheduler(sched))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := newHTTPServer(ctx, newMux(*logger, dispatcher, reg, st, brk))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info().Str("addr", ln.Addr().String()).Str("app", slug).Int64("app_id", cfg.GitHub.App.IntegrationID).
		Str("database", databaseKind(cfg.Database)).Msg("listening")

	// Deliveries recorded before a restart but not processed run now, and
	// jobs whose workflow runs ended meanwhile are closed.
	if err := sched.Recover(ctx); err != nil {
		logger.Error().Err(err).Msg("recovering unprocessed deliveries")
	}
	if err := svc.ReconcileStarted(ctx); err != nil {
		logger.Error().Err(err).Msg("reconciling the jobs of the previous run")
	}
	appClient, err := clients.NewAppClient()
	if err != nil {
		return fmt.Errorf("creating the App client: %w", err)
	}
	background, stopBackground := context.WithCancel(ctx)
	var backgroundDone sync.WaitGroup
	backgroundDone.Add(2)
	go func() {
		defer backgroundDone.Done()
		svc.RunWatchdog(background, cfg.WatchdogInterval)
	}()
	// Webhooks GitHub could not deliver while the server was down or failing
	// are asked for again.
	go func() {
		defer backgroundDone.Done()
		intake.RunRedelivery(background, appClient.Apps, st, intake.RedeliveryOptions{})
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	logger.Info().Msg("shutting down")
	stopBackground()
	backgroundDone.Wait()

	// ctx is done by now; the drain gets its own deadline.
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("stopping the HTTP server: %w", err))
	}
	if err := sched.Shutdown(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("draining webhook work: %w", err))
	}
	if err := svc.Shutdown(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("finishing dispatch retries: %w", err))
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serving HTTP: %w", serveErr))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	logger.Info().Msg("stopped")
	return nil
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

// newClientCreator builds GitHub API clients with conditional-request caching
// (one bounded cache per installation), retries that honour rate limits (each
// attempt with its own timeout), and metrics.
func newClientCreator(cfg config.Server, reg prometheus.Registerer) (githubapp.ClientCreator, error) {
	return ghclient.NewClientCreator(cfg.GitHub, reg, ghclient.Options{UserAgent: "infra-agent/" + version})
}

// appSlug asks GitHub who this App is: its slug names its bot user, which is
// how the server recognises events it caused itself. Failing here means the
// key, the app id or the API URL is wrong, and no webhook could be answered.
func appSlug(ctx context.Context, clients githubapp.ClientCreator) (string, error) {
	client, err := clients.NewAppClient()
	if err != nil {
		return "", fmt.Errorf("creating the App client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
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
func newBroker(cfg config.Server, st store.Store, svc *jobs.Service, clients githubapp.ClientCreator) (*broker.Broker, error) {
	b, err := broker.New(broker.Options{
		Store: st, Jobs: svc, Clients: clients,
		APIURL: cfg.GitHub.V3APIURL, Issuer: cfg.OIDCIssuer, Audience: cfg.PublicURL,
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
