package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"testing"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/handlers"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
)

// benchRoleEnv makes the test binary a server process of BenchmarkServeIntake
// instead of running tests: the load generator and the server under test must
// not share a process.
const benchRoleEnv = "INFRA_AGENT_BENCH_ROLE"

// The server roles of the test binary.
const (
	// roleBaseline serves webhooks with go-githubapp's in-memory queue.
	roleBaseline = "baseline"
	// roleProfiledServe runs infra-agent serve under the CPU profiler, writing
	// the profile to the file named by benchProfileEnv.
	roleProfiledServe = "profiled-serve"
	benchProfileEnv   = "INFRA_AGENT_BENCH_CPUPROFILE"
)

func TestMain(m *testing.M) {
	role := os.Getenv(benchRoleEnv)
	if role == "" {
		os.Exit(m.Run())
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch role {
	case roleBaseline:
		err = runBaseline(ctx, os.Getenv)
	case roleProfiledServe:
		err = runProfiledServe(ctx, os.Getenv(benchProfileEnv))
	default:
		err = fmt.Errorf("unknown %s %q", benchRoleEnv, role)
	}
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// runBaseline serves webhooks the way go-githubapp does on its own: the same
// HTTP server, logger, webhook guard, dispatcher and handlers as serve, with
// go-githubapp's in-memory queue (serve's default queue size and workers) in
// place of the durable intake, and no database. It reads serve's variables
// for the secret and the listen address.
func runBaseline(ctx context.Context, getenv func(string) string) error {
	ctx, cfg, err := configure(ctx, "", getenv, os.Stderr)
	if err != nil {
		return err
	}
	logger := *zerolog.Ctx(ctx)
	hs, err := handlers.New(handlers.Options{AppID: cfg.GitHub.App.IntegrationID, Jobs: noJobLayer{}, Runs: noJobLayer{}, Installations: noJobLayer{}})
	if err != nil {
		return err
	}
	dispatcher := githubapp.NewEventDispatcher(hs, cfg.GitHub.App.WebhookSecret,
		githubapp.WithScheduler(githubapp.QueueAsyncScheduler(cfg.QueueSize, cfg.Workers)))
	guarded, err := guardWebhooks(dispatcher, cfg, nil)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+githubapp.DefaultWebhookRoute, guarded)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := newHTTPServer(ctx, withLogger(logger, mux))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info().Str("addr", ln.Addr().String()).Msg("listening")
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	if err := srv.Shutdown(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	logger.Info().Msg("stopped")
	return nil
}

// errNoJobLayer is what the baseline's handlers get if a delivery reaches the
// job layer, which the baseline does not have: its load holds no command.
var errNoJobLayer = errors.New("the baseline server has no job layer")

// noJobLayer refuses every task.
type noJobLayer struct{}

func (noJobLayer) Submit(context.Context, jobs.Task) error           { return errNoJobLayer }
func (noJobLayer) ReconcileRun(context.Context, jobs.RunEvent) error { return errNoJobLayer }
func (noJobLayer) RecordInstallation(context.Context, store.Installation) error {
	return errNoJobLayer
}

// runProfiledServe runs infra-agent serve as main does, writing a CPU profile
// of the whole run to path.
func runProfiledServe(ctx context.Context, path string) (err error) {
	if path == "" {
		return fmt.Errorf("%s names no profile file", benchProfileEnv)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the CPU profile: %w", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("starting the CPU profile: %w", err)
	}
	defer pprof.StopCPUProfile()
	return run(ctx, []string{"serve"}, os.Getenv, stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
}
