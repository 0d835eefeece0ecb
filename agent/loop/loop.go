// Package loop is the agent: given a workspace (a checkout), a task (kind,
// instructions, findings, trigger) and the repository's configuration, it
// validates, applies the fixes that need no model (terraform fmt, fixes the
// policies declare), asks the model only for what is left through typed
// tools under guards and budgets, validates after the model's edits and
// feeds back what remains, and gates the final change (paths, content,
// secrets, size, the plan's delta). Run returns a Result the write-back
// publishes: the diff and files, the validation, iterations, model calls and
// tokens, what was deterministic, what remains, and why a human must look.
//
// The model proposes; this package decides. Every rule that matters is
// enforced here in code; the prompt only explains it.
package loop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/infra-agent/infra-agent/agent/audit"
	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/agent/budget"
	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/pipeline"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/agent/tools"
	"github.com/infra-agent/infra-agent/agent/workspace"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

// Task is what a job asks of the agent.
type Task struct {
	Kind wire.Kind
	// JobID and RunID go on every audit event and in the commit trailers.
	JobID, RunID string
	// Instructions are the human's words (`/agent fix <instructions>`);
	// untrusted.
	Instructions string
	// Trigger is what started the job; its texts are untrusted.
	Trigger brief.Trigger
	// Findings are the findings to fix (a remediation issue's, or those on
	// a review comment's line). Nil means every failure of the first
	// validation.
	Findings []checks.Finding
}

// Options say where and how the agent runs.
type Options struct {
	// Dir is the workspace: the repository checkout.
	Dir string
	// Config is the repository's configuration, from the default branch.
	Config config.RepoConfig
	// Policy evaluates the policies (nil: none); PolicyPaths are their files,
	// for the digest the model reads.
	Policy      *policy.Engine
	PolicyPaths []string
	// Terraform says which binary runs and with which environment.
	Terraform terraform.Options
	// Model is the model; nil runs the deterministic fixes only.
	Model model.Client
	// Audit receives the audit trail; nil discards it.
	Audit *audit.Log
	// DryRun works on a copy: Dir is left untouched, the result still holds
	// the diff.
	DryRun bool
	// Static validates with fmt and the policies on the HCL only: no
	// terraform init, validate or plan (what fork pull requests get, and
	// what a repository without provider access can run).
	Static bool
	// Baseline, when set, is a validation of Dir as it is, made by the
	// caller with the same policies and terraform (a review job's, already
	// published as check runs): the run starts from it instead of planning
	// every root again.
	Baseline *checks.Report
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// run is one execution of a task.
type run struct {
	task  Task
	opts  Options
	now   func() time.Time
	start time.Time

	dir      string // where the work happens (Dir, or its copy)
	scratch  string // the dry-run copy's parent, removed at the end
	ws       *workspace.Workspace
	roots    []pipeline.Root
	rootDirs []string
	registry *tools.Registry
	env      *tools.Env
	budget   *budget.Tracker
	audit    *audit.Log

	baseline checks.Report
	latest   checks.Report
	dirty    bool // files changed since latest
	fedBack  bool // the model was told what latest leaves
	targets  []checks.Finding
	res      Result
}

// Run performs the task on the workspace and returns its result. The error
// is for what stops the job itself (no workspace, no terraform, a broken
// configuration); a task that could not be completed is a Result with status
// needs_review and its reasons.
func Run(ctx context.Context, task Task, opts Options) (Result, error) {
	r, err := prepare(task, opts)
	if err != nil {
		return Result{}, err
	}
	defer r.cleanup()
	res, err := r.execute(ctx)
	r.audit.Emit(audit.Event{Type: audit.TypeResult, Outcome: string(res.Status), Data: map[string]any{
		"model_calls": res.ModelCalls, "tokens": res.Tokens.Total(), "iterations": res.Iterations, "files": len(res.Files),
	}})
	return res, err
}

func prepare(task Task, opts Options) (*run, error) {
	if !slices.Contains([]wire.Kind{wire.KindFix, wire.KindRemediate, wire.KindReview}, task.Kind) {
		return nil, fmt.Errorf("the agent does not run %q jobs", task.Kind)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &run{task: task, opts: opts, now: opts.Now, start: opts.Now(), dir: opts.Dir, audit: opts.Audit}
	// A review never writes: it works on a copy, like a dry run.
	if opts.DryRun || task.Kind == wire.KindReview {
		if err := r.copyWorkspace(); err != nil {
			return nil, err
		}
	}
	var err error
	if r.ws, err = workspace.Open(r.dir, opts.Config.Agent); err != nil {
		r.cleanup()
		return nil, err
	}
	if r.roots, err = pipeline.DiscoverRoots(r.ws.Root(), opts.Config.Terraform, nil); err != nil {
		r.cleanup()
		return nil, fmt.Errorf("finding root modules: %w", err)
	}
	if len(r.roots) == 0 {
		r.cleanup()
		return nil, fmt.Errorf("no Terraform root modules in %s", opts.Dir)
	}
	for _, root := range r.roots {
		r.rootDirs = append(r.rootDirs, root.Dir)
	}
	if r.registry, err = tools.For(task.Kind); err != nil {
		r.cleanup()
		return nil, err
	}
	limits := opts.Config.Agent.Limits(task.Kind)
	r.budget = budget.New(limits, opts.Now, func(limit string, used, max int64) {
		r.audit.Emit(audit.Event{Type: audit.TypeBudgetWarning, Detail: limit, Data: map[string]any{"limit": limit, "used": used, "max": max}})
	})
	content, err := terraformFiles(r.ws.Root())
	if err != nil {
		r.cleanup()
		return nil, err
	}
	r.env = &tools.Env{
		Workspace:    r.ws,
		Content:      guard.NewContent(opts.Config.Agent, content),
		MaxDiffLines: opts.Config.Agent.MaxDiffLines,
		Roots:        r.rootDirs,
	}
	r.res = Result{Kind: task.Kind, JobID: task.JobID, RunID: task.RunID, Limits: limits, MaxIterations: limits.PlanRuns}
	if opts.Model != nil {
		r.res.Model = opts.Model.Name()
	}
	return r, nil
}

func (r *run) cleanup() {
	if r.scratch != "" {
		os.RemoveAll(r.scratch)
		r.scratch = ""
	}
}

// execute runs the phases: baseline validation, then the kind's work, then
// the final gate.
func (r *run) execute(ctx context.Context) (Result, error) {
	base, err := r.baselineReport(ctx)
	if err != nil {
		return r.finish(), err
	}
	r.baseline = base
	r.targets = r.selectTargets(base)
	r.res.Targets = r.targets
	if r.task.Kind == wire.KindReview {
		return r.review(ctx)
	}
	if len(r.targets) == 0 && r.task.Instructions == "" {
		r.res.Status = StatusClean
		r.res.Validation = summarise(base, true)
		return r.finish(), nil
	}
	if err := r.deterministic(ctx); err != nil {
		return r.finish(), err
	}
	if r.needsModel() {
		if r.opts.Model == nil {
			r.res.NeedsModel = true
			r.needsReview("no model is configured: what remains needs one (set ANTHROPIC_API_KEY, or OPENAI_API_KEY / OPENAI_BASE_URL)")
		} else if err := r.converse(ctx); err != nil {
			return r.finish(), err
		}
	}
	if err := r.finalGate(ctx); err != nil {
		return r.finish(), err
	}
	return r.finish(), nil
}

// baselineReport is the caller's validation when it gave one, else a new
// one.
func (r *run) baselineReport(ctx context.Context) (checks.Report, error) {
	if b := r.opts.Baseline; b != nil {
		r.latest, r.dirty = *b, false
		return *b, nil
	}
	return r.validate(ctx, "baseline")
}

// copyWorkspace copies the checkout (without .git and .terraform) to a
// scratch directory and works there.
func (r *run) copyWorkspace() error {
	scratch, err := os.MkdirTemp("", "infra-agent-work-")
	if err != nil {
		return fmt.Errorf("making a scratch copy: %w", err)
	}
	r.scratch = scratch
	dst := filepath.Join(scratch, "repo")
	if err := copyTree(r.opts.Dir, dst); err != nil {
		r.cleanup()
		return fmt.Errorf("copying %s: %w", r.opts.Dir, err)
	}
	r.dir = dst
	return nil
}

// terraformFiles reads every Terraform file of the workspace, as the
// content guard's baseline.
func terraformFiles(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".terraform") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && (filepath.Ext(p) == ".tf" || filepath.Ext(p) == ".json" && filepath.Ext(p[:len(p)-5]) == ".tf") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = data
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the configuration: %w", err)
	}
	return out, nil
}

// needsReview records a reason a human must look.
func (r *run) needsReview(reason string) {
	if !slices.Contains(r.res.NeedsReview, reason) {
		r.res.NeedsReview = append(r.res.NeedsReview, reason)
	}
}

// limitReached records a budget limit that stopped the work.
func (r *run) limitReached(err error) bool {
	var ex *budget.Exceeded
	if !errors.As(err, &ex) {
		return false
	}
	if r.res.Limit == "" {
		r.res.Limit = ex.Limit
	}
	r.needsReview(ex.Error() + ": the work so far is kept")
	r.audit.Emit(audit.Event{Type: audit.TypeBudgetExceeded, Detail: ex.Limit, Data: map[string]any{"limit": ex.Limit, "used": ex.Used, "max": ex.Max}})
	return true
}
