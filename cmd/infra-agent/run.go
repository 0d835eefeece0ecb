package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/agent/runner"
	"github.com/infra-agent/infra-agent/wire"
)

const runUsage = `usage: infra-agent run --job ID [--server URL] [flags]

Runs one infra-agent job inside the GitHub Actions run the server dispatched:
claims it with the run's OIDC token (the workflow needs
"permissions: id-token: write"), fetches the source at the job's commit and the
policies from the default branch, does the job within its deadline and
reports back. SIGINT or SIGTERM (a cancelled run) completes the job as
cancelled.

Exit status: 0 the job ran (its findings are on the check runs), 1 it failed,
timed out or was cancelled, 2 it could not be claimed or reported.

flags:
`

// runFlags are the parsed arguments of `infra-agent run`.
type runFlags struct {
	job, server, terraform, workDir string
}

func parseRunFlags(args []string, getenv func(string) string, io stdio) (runFlags, error) {
	var f runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.StringVar(&f.job, "job", "", "the job id (the workflow's job_id input)")
	fs.StringVar(&f.server, "server", getenv("INFRA_AGENT_SERVER_URL"), "the server's public URL (default $INFRA_AGENT_SERVER_URL)")
	fs.StringVar(&f.terraform, "terraform", "", "terraform binary: terraform, tofu or a path (default: the repository's terraform.binary)")
	fs.StringVar(&f.workDir, "work-dir", getenv("RUNNER_TEMP"), "where the job's workspace is made (default $RUNNER_TEMP)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.job == "" {
		return f, errors.New("--job is required")
	}
	return f, nil
}

// runRun is `infra-agent run`.
func runRun(ctx context.Context, args []string, getenv func(string) string, io stdio) error {
	f, err := parseRunFlags(args, getenv, io)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return usageError("run: %v", err)
	}
	logger := zerolog.New(zerolog.ConsoleWriter{Out: io.err, TimeFormat: time.TimeOnly, NoColor: !io.tty}).
		With().Timestamp().Logger()
	ctx = logger.WithContext(ctx)
	res, err := runner.Run(ctx, runner.Options{
		JobID: f.job, ServerURL: f.server, Getenv: getenv, Terraform: f.terraform, WorkDir: f.workDir,
	})
	if err != nil {
		if errors.Is(err, runner.ErrEndedOnServer) {
			return &exitError{code: 1, err: fmt.Errorf("run: %w", err)}
		}
		return &exitError{code: 2, err: fmt.Errorf("run: %w", err)}
	}
	fmt.Fprintf(io.out, "job %s: %s (%s), %d GitHub calls\n", f.job, res.Status, res.Conclusion, res.GitHubCalls)
	if res.Status != wire.StatusSucceeded {
		return &exitError{code: 1}
	}
	return nil
}
