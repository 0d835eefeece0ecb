// Command infra-agent is the infra-agent GitHub App server (serve), the runner
// entry point (run), a local validation tool (check) and the agent on a local
// checkout (fix).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exitError carries a process exit code out of run.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks a command-line mistake (exit code 2).
func usageError(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// stdio is where a command reads and writes; tests replace it.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	// tty reports whether out is a terminal (colour, progress).
	tty bool
}

const usage = `usage: infra-agent <command> [flags]

commands:
  serve     run the GitHub App server (settings: GITHUB_* and INFRA_AGENT_* variables, or --config FILE)
  run       run one job in the GitHub Actions run the server dispatched (--job ID --server URL)
  check     run fmt, validate, policy and plan on Terraform directories and print a report
  fix       fix the Terraform of a repository: deterministic fixes, then a model; print the diff
  version   print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	io := stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, tty: isTerminal(os.Stdout)}
	err := run(ctx, os.Args[1:], os.Getenv, io)
	stop()
	os.Exit(exitCode(err, io.err))
}

// exitCode maps run's error to the process exit code, printing it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "infra-agent: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "infra-agent: %v\n", err)
	return 2
}

// run dispatches to a subcommand. getenv is os.Getenv outside tests.
func run(ctx context.Context, args []string, getenv func(string) string, io stdio) error {
	if len(args) == 0 {
		fmt.Fprint(io.err, usage)
		return &exitError{code: 2}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, io)
	case "check":
		return runCheck(ctx, args[1:], getenv, io)
	case "run":
		return runRun(ctx, args[1:], getenv, io)
	case "fix":
		return runFix(ctx, args[1:], getenv, io)
	case "version", "--version", "-v":
		fmt.Fprintln(io.out, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(io.out, usage)
		return nil
	}
	fmt.Fprint(io.err, usage)
	return usageError("unknown command %q", args[0])
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
