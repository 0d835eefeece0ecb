package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/checks"
)

// Reasons recorded on skipped steps.
const (
	skippedAfterError = "not run: the root could not be prepared"
	skippedNoPlan     = "not run: planning is off"
	skippedNoPolicy   = "not run: no policies"
	skippedStatic     = "not run: static checks only (fork pull request)"
)

// rootRun is the pipeline on one root.
type rootRun struct {
	repoDir string // absolute
	root    Root
	opts    Options
	initMu  *sync.Mutex

	dir     string // the root on disk
	tmp     string // private scratch: data dir, plan file
	cli     *terraform.CLI
	planDoc map[string]any // the plan, decoded once for the renderer and the policies
	result  checks.RootResult
}

// outcome is what one step reports.
type outcome struct {
	status   checks.StepStatus
	detail   string
	findings []checks.Finding
}

// step is one pipeline step; run is nil when the step is skipped up front.
// needs lists the steps it needs to have succeeded: the static checks (fmt,
// policy on the HCL) need nothing, so they run whatever init and validate do.
type step struct {
	name  checks.StepName
	run   func(context.Context) outcome
	skip  string
	needs []checks.StepName
}

func (r *rootRun) run(ctx context.Context) checks.RootResult {
	r.result = checks.RootResult{Dir: r.root.Dir}
	r.dir = filepath.Join(r.repoDir, filepath.FromSlash(r.root.Dir))
	steps, err := r.prepare()
	if r.tmp != "" {
		defer os.RemoveAll(r.tmp)
	}
	if err != nil {
		r.record(checks.StepFmt, outcome{status: checks.StepError, detail: err.Error()}, 0)
		for _, s := range r.stepList()[1:] {
			r.record(s.name, outcome{status: checks.StepSkipped, detail: skippedAfterError}, 0)
		}
		return r.result
	}
	lock := keepFile(filepath.Join(r.dir, lockFileName))
	status := map[checks.StepName]checks.StepStatus{}
	for _, s := range steps {
		o := outcome{status: checks.StepSkipped, detail: s.skip}
		if s.run != nil {
			o = r.runStep(ctx, s, status)
		} else {
			r.record(s.name, o, 0)
		}
		status[s.name] = o.status
	}
	if err := lock.restore(); err != nil {
		// The checkout is not as it was: fail safe, and say why.
		for i := range r.result.Steps {
			if r.result.Steps[i].Name == checks.StepInit {
				r.result.Steps[i].Status, r.result.Steps[i].Detail = checks.StepError, r.clean(err.Error())
			}
		}
	}
	return r.result
}

// runStep runs one step, unless a step it needs did not succeed or the run
// was cancelled, and records it.
func (r *rootRun) runStep(ctx context.Context, s step, status map[checks.StepName]checks.StepStatus) outcome {
	for _, n := range s.needs {
		if st := status[n]; st != checks.StepOK && st != checks.StepFailed {
			o := outcome{status: checks.StepSkipped, detail: fmt.Sprintf("not run: %s did not complete", n)}
			r.record(s.name, o, 0)
			return o
		}
	}
	if ctx.Err() != nil {
		o := outcome{status: checks.StepSkipped, detail: "not run: the run was cancelled"}
		r.record(s.name, o, 0)
		return o
	}
	start := time.Now()
	o := s.run(ctx)
	r.record(s.name, o, time.Since(start))
	return o
}

// lockFileName is terraform's dependency lock file. init creates or rewrites
// it in the root directory itself (TF_DATA_DIR does not move it), so a run
// that must leave the checkout as it found it puts it back afterwards.
const lockFileName = ".terraform.lock.hcl"

// keptFile is a file's state before a run: its content, or that it was
// absent. Anything else (a symlink, an unreadable file) is left alone.
type keptFile struct {
	path    string
	leave   bool
	exists  bool
	content []byte
	mode    os.FileMode
}

func keepFile(path string) keptFile {
	k := keptFile{path: path}
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil || !info.Mode().IsRegular():
		k.leave = true
	default:
		k.exists, k.mode = true, info.Mode().Perm()
		if k.content, err = os.ReadFile(path); err != nil {
			k.leave = true
		}
	}
	return k
}

// restore puts the file back as keepFile found it.
func (k keptFile) restore() error {
	if k.leave {
		return nil
	}
	if !k.exists {
		if err := os.Remove(k.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing the %s terraform init wrote: %w", filepath.Base(k.path), err)
		}
		return nil
	}
	if now, err := os.ReadFile(k.path); err == nil && bytes.Equal(now, k.content) {
		return nil
	}
	if err := os.WriteFile(k.path, k.content, k.mode); err != nil {
		return fmt.Errorf("restoring the %s terraform init changed: %w", filepath.Base(k.path), err)
	}
	return nil
}

// prepare checks the root and makes its scratch directory and terraform.
func (r *rootRun) prepare() ([]step, error) {
	info, err := os.Stat(r.dir)
	if err != nil || !info.IsDir() {
		return nil, fmt.Errorf("root %s is not a directory in the repository", r.root.Dir)
	}
	r.tmp, err = os.MkdirTemp("", "infra-agent-root-")
	if err != nil {
		return nil, fmt.Errorf("making a scratch directory for %s: %w", r.root.Dir, err)
	}
	tfOpts := r.opts.Terraform
	tfOpts.DataDir = filepath.Join(r.tmp, "data")
	r.cli, err = terraform.New(r.dir, tfOpts)
	if err != nil {
		return nil, err
	}
	return r.stepList(), nil
}

func (r *rootRun) stepList() []step {
	steps := []step{
		{name: checks.StepFmt, run: r.fmt},
		{name: checks.StepInit, run: r.init},
		{name: checks.StepValidate, run: r.validate, needs: []checks.StepName{checks.StepInit}},
		{name: checks.StepPolicyHCL, run: r.policyHCL},
		{name: checks.StepPlan, run: r.plan, needs: []checks.StepName{checks.StepInit, checks.StepValidate}},
		{name: checks.StepPolicyPlan, run: r.policyPlan, needs: []checks.StepName{checks.StepPlan}},
	}
	for i := range steps {
		switch n := steps[i].name; {
		case r.opts.Static && (n == checks.StepInit || n == checks.StepValidate || n == checks.StepPlan || n == checks.StepPolicyPlan):
			steps[i].run, steps[i].skip = nil, skippedStatic
		case r.opts.Policy == nil && (steps[i].name == checks.StepPolicyHCL || steps[i].name == checks.StepPolicyPlan):
			steps[i].run, steps[i].skip = nil, skippedNoPolicy
		case r.opts.NoPlan && (steps[i].name == checks.StepPlan || steps[i].name == checks.StepPolicyPlan):
			steps[i].run, steps[i].skip = nil, skippedNoPlan
		}
	}
	return steps
}

func (r *rootRun) record(name checks.StepName, o outcome, d time.Duration) {
	for i := range o.findings {
		o.findings[i].Root = r.root.Dir
	}
	r.result.Steps = append(r.result.Steps, checks.Step{Name: name, Status: o.status, Duration: d, Detail: r.clean(o.detail)})
	r.result.Findings = append(r.result.Findings, o.findings...)
	if r.opts.Progress != nil {
		r.opts.Progress(r.root.Dir, name, o.status)
	}
}

// clean keeps machine paths (the checkout, the scratch directory) out of
// details that end up on GitHub.
func (r *rootRun) clean(s string) string {
	if r.tmp != "" {
		s = strings.ReplaceAll(s, r.tmp+string(filepath.Separator), "")
		s = strings.ReplaceAll(s, r.tmp, "")
	}
	return strings.ReplaceAll(s, r.repoDir+string(filepath.Separator), "")
}

func (r *rootRun) fmt(ctx context.Context) outcome {
	files, err := r.cli.FormatCheck(ctx)
	if err != nil {
		return r.commandError(err, "fmt")
	}
	if len(files) == 0 {
		return outcome{status: checks.StepOK}
	}
	o := outcome{status: checks.StepFailed, detail: plural(len(files), "file needs", "files need") + " formatting (terraform fmt)"}
	for _, f := range files {
		o.findings = append(o.findings, checks.Finding{
			Severity: checks.SeverityFailure,
			Message:  "not formatted: run terraform fmt",
			File:     r.repoPath(f.File),
			Line:     f.Line,
			Source:   "fmt",
		})
	}
	return o
}

func (r *rootRun) init(ctx context.Context) outcome {
	if r.opts.Terraform.PluginCacheDir != "" {
		r.initMu.Lock()
		defer r.initMu.Unlock()
	}
	if err := r.cli.Init(ctx, terraform.InitOptions{SkipBackend: r.opts.NoPlan}); err != nil {
		return r.commandError(err, "init")
	}
	if r.opts.NoPlan {
		return outcome{status: checks.StepOK, detail: "-backend=false: no state access without a plan"}
	}
	if ws := r.root.Workspace; ws != "" && ws != "default" {
		if err := r.cli.SelectWorkspace(ctx, ws); err != nil {
			return r.commandError(err, "init")
		}
		return outcome{status: checks.StepOK, detail: "workspace " + ws}
	}
	return outcome{status: checks.StepOK}
}

func (r *rootRun) validate(ctx context.Context) outcome {
	v, err := r.cli.Validate(ctx)
	if err != nil {
		return r.commandError(err, "validate")
	}
	o := outcome{status: checks.StepOK}
	errs, warns := 0, 0
	for _, d := range v.Diagnostics {
		if d.Severity == terraform.SeverityError {
			errs++
		} else {
			warns++
		}
		o.findings = append(o.findings, r.diagFinding(d, "validate"))
	}
	if !v.Valid {
		o.status = checks.StepError
		o.detail = "invalid configuration: " + plural(errs, "error", "errors")
	} else if warns > 0 {
		o.detail = plural(warns, "warning", "warnings")
	}
	return o
}

func (r *rootRun) policyHCL(ctx context.Context) outcome {
	fs, err := r.opts.Policy.CheckHCL(ctx, r.policyRoot())
	return policyOutcome(fs, err)
}

func (r *rootRun) plan(ctx context.Context) outcome {
	var varFiles []string
	for _, vf := range r.root.VarFiles {
		p := filepath.Join(r.repoDir, filepath.FromSlash(vf))
		if _, err := os.Stat(p); err != nil {
			return outcome{status: checks.StepError, detail: fmt.Sprintf("var file %s (terraform.root_settings) does not exist", vf)}
		}
		varFiles = append(varFiles, p)
	}
	out := filepath.Join(r.tmp, "plan.tfplan")
	if _, err := r.cli.Plan(ctx, terraform.PlanOptions{Out: out, VarFiles: varFiles}); err != nil {
		return r.commandError(err, "plan")
	}
	return r.readPlan(ctx, out)
}

// readPlan reads a saved plan through `terraform show -json` and decodes it,
// once: the render model keeps the decoded document, which the policies on
// the plan read too.
func (r *rootRun) readPlan(ctx context.Context, out string) outcome {
	raw, err := r.cli.ShowPlanJSON(ctx, out)
	if err != nil {
		return r.commandError(err, "plan")
	}
	plan, err := checks.ParsePlan(raw)
	if err != nil {
		return outcome{status: checks.StepError, detail: err.Error()}
	}
	r.planDoc = plan.Document()
	r.result.Plan = plan
	if plan.Errored {
		return outcome{status: checks.StepError, detail: "terraform reports that planning failed: the plan is incomplete"}
	}
	return outcome{status: checks.StepOK, detail: plan.Counts.Phrase()}
}

func (r *rootRun) policyPlan(ctx context.Context) outcome {
	if r.planDoc == nil {
		return outcome{status: checks.StepSkipped, detail: "not run: no plan"}
	}
	fs, err := r.opts.Policy.CheckPlanDocument(ctx, r.policyRoot(), r.planDoc)
	return policyOutcome(fs, err)
}

func (r *rootRun) policyRoot() policy.Root {
	return policy.Root{Dir: r.dir, Rel: r.root.Dir}
}

func policyOutcome(fs []checks.Finding, err error) outcome {
	if err != nil {
		return outcome{status: checks.StepError, detail: err.Error()}
	}
	fails, warns := 0, 0
	for _, f := range fs {
		if f.Severity == checks.SeverityFailure {
			fails++
		} else {
			warns++
		}
	}
	o := outcome{status: checks.StepOK, findings: fs}
	if fails > 0 {
		o.status = checks.StepFailed
	}
	switch {
	case fails > 0 && warns > 0:
		o.detail = plural(fails, "failure", "failures") + ", " + plural(warns, "warning", "warnings")
	case fails > 0:
		o.detail = plural(fails, "failure", "failures")
	case warns > 0:
		o.detail = plural(warns, "warning", "warnings")
	}
	return o
}

// commandError records a terraform command that could not complete. Its
// error diagnostics become findings at their file:line, and the step's
// detail only counts them: the same text twice reads as two problems.
func (r *rootRun) commandError(err error, source string) outcome {
	o := outcome{status: checks.StepError, detail: err.Error()}
	var ce *terraform.CommandError
	if !errors.As(err, &ce) || ce.Timeout > 0 {
		return o
	}
	for _, d := range ce.Diagnostics {
		if d.Severity == terraform.SeverityError {
			o.findings = append(o.findings, r.diagFinding(d, source))
		}
	}
	if len(o.findings) > 0 {
		o.detail = fmt.Sprintf("%s %s failed: %s (listed with the findings)", ce.Binary, ce.Command,
			plural(len(o.findings), "error", "errors"))
	}
	return o
}

func (r *rootRun) diagFinding(d terraform.Diagnostic, source string) checks.Finding {
	sev := checks.SeverityWarning
	if d.Severity == terraform.SeverityError {
		sev = checks.SeverityFailure
	}
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	f := checks.Finding{Severity: sev, Message: r.clean(msg), Source: source, Line: d.Line, EndLine: d.EndLine}
	if d.File != "" {
		f.File = r.repoPath(d.File)
	}
	if f.EndLine == f.Line {
		f.EndLine = 0
	}
	return f
}

// repoPath turns a path terraform gave relative to the root (or absolute)
// into one relative to the repository.
func (r *rootRun) repoPath(p string) string {
	if filepath.IsAbs(p) {
		if rel, err := filepath.Rel(r.repoDir, p); err == nil {
			return filepath.ToSlash(rel)
		}
		return filepath.ToSlash(p)
	}
	return path.Clean(path.Join(r.root.Dir, filepath.ToSlash(p)))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
