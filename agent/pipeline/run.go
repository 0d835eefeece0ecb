// Package pipeline is the deterministic validation every job kind runs on a
// checkout: per root module, `fmt -check` → `init` → `validate` → conftest on
// the HCL → `plan` → conftest on the plan JSON, each step's result and
// duration recorded, a root stopping at its first hard error. Roots run
// concurrently, with a bound, and share one compiled policy engine.
package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/checks"
)

// DefaultConcurrency is how many roots run at once when Options.Concurrency
// is zero.
const DefaultConcurrency = 2

// Options configure a pipeline run.
type Options struct {
	// Terraform says which binary runs and how (plugin cache, timeouts,
	// environment allow-lists). DataDir is set per root by the pipeline.
	Terraform terraform.Options
	// Policy evaluates the HCL and the plans; nil skips the policy steps.
	Policy *policy.Engine
	// Concurrency bounds the roots run at once; zero means DefaultConcurrency.
	Concurrency int
	// NoPlan runs only what needs no credentials and no state: fmt,
	// `init -backend=false` (modules and providers only, for validate),
	// validate and policy on the HCL. Plan and policy on the plan are skipped.
	// For `check --no-plan`; fork pull requests get Static.
	NoPlan bool
	// Static runs only what executes nothing the checkout chooses: fmt and
	// policy on the HCL. No init, so no provider plugin (a program the
	// configuration picks) runs, and no validate or plan. What fork pull
	// requests get.
	Static bool
	// Progress, when set, is called as each step of each root ends. Roots
	// run concurrently, so it must be safe for concurrent use.
	Progress func(root string, step checks.StepName, status checks.StepStatus)
}

// Run runs the pipeline on roots of the repository checked out at repoDir
// and returns what it found. Problems in the roots (invalid configuration,
// plan errors, policy failures) are in the report; the error is for what
// stops the whole run: no terraform binary, a missing repository, a cancelled
// context (with the report of what ran so far).
func Run(ctx context.Context, repoDir string, roots []Root, opts Options) (checks.Report, error) {
	abs, err := filepath.Abs(repoDir)
	if err != nil {
		return checks.Report{}, fmt.Errorf("resolving repository directory %s: %w", repoDir, err)
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		return checks.Report{}, fmt.Errorf("repository directory %s: not a directory (%v)", repoDir, err)
	}
	probe, err := terraform.New(abs, opts.Terraform)
	if err != nil {
		return checks.Report{}, err
	}
	version, err := probe.Version(ctx)
	if err != nil {
		return checks.Report{}, fmt.Errorf("checking the terraform binary: %w", err)
	}
	report := checks.Report{Roots: make([]checks.RootResult, len(roots)), Versions: map[string]string{probe.Name(): version}}
	if opts.Policy != nil {
		for k, v := range opts.Policy.Versions() {
			report.Versions[k] = v
		}
	}

	limit := opts.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	sem := make(chan struct{}, limit)
	// terraform's plugin cache is not safe for concurrent installs, so inits
	// take turns when roots share one; validate and plan still overlap.
	var initMu sync.Mutex
	var wg sync.WaitGroup
	for i, r := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rr := &rootRun{repoDir: abs, root: r, opts: opts, initMu: &initMu}
			report.Roots[i] = rr.run(ctx)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("running the pipeline: %w", err)
	}
	return report, nil
}

// Failed reports whether a report should fail a check: a step failed or
// errored, or a finding is a failure. Warnings alone do not fail it.
func Failed(r checks.Report) bool {
	for _, root := range r.Roots {
		if root.Failed() {
			return true
		}
		for _, f := range root.Findings {
			if f.Severity == checks.SeverityFailure {
				return true
			}
		}
	}
	return false
}
