package loop

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/infra-agent/infra-agent/agent/audit"
	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/agent/fixes"
	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/agent/pipeline"
	"github.com/infra-agent/infra-agent/checks"
)

// validate runs the pipeline on the workspace as it is now.
func (r *run) validate(ctx context.Context, why string) (checks.Report, error) {
	rep, err := pipeline.Run(ctx, r.ws.Root(), r.roots, pipeline.Options{Terraform: r.opts.Terraform, Policy: r.opts.Policy, Static: r.opts.Static})
	if err != nil {
		r.audit.Emit(audit.Event{Type: audit.TypeError, Detail: "validation (" + why + "): " + err.Error()})
		return rep, fmt.Errorf("validating (%s): %w", why, err)
	}
	failures, warnings := 0, 0
	for _, root := range rep.Roots {
		for _, f := range root.Findings {
			if f.Severity == checks.SeverityFailure {
				failures++
			} else {
				warnings++
			}
		}
	}
	r.audit.Emit(audit.Event{Type: audit.TypePolicyEvaluated, Detail: why, Outcome: map[bool]string{true: "failed", false: "passed"}[pipeline.Failed(rep)],
		Data: map[string]any{"roots": len(rep.Roots), "failures": failures, "warnings": warnings}})
	r.latest, r.dirty = rep, false
	return rep, nil
}

// findings lists a report's findings.
func findings(rep checks.Report) []checks.Finding {
	var out []checks.Finding
	for _, root := range rep.Roots {
		out = append(out, root.Findings...)
	}
	return out
}

// key identifies a finding across validations: not by line, which an edit
// above it moves.
func key(f checks.Finding) string {
	return strings.Join([]string{f.Root, f.Source, f.Namespace, f.Rule, f.Address, f.File, f.Message}, "\x00")
}

// same reports whether two findings are the same problem.
func same(a, b checks.Finding) bool {
	if key(a) == key(b) {
		return true
	}
	return a.Rule != "" && a.Rule == b.Rule && a.Address != "" && a.Address == b.Address
}

// selectTargets returns the task's findings, or every failure of the
// baseline. A review targets every finding.
func (r *run) selectTargets(base checks.Report) []checks.Finding {
	if r.task.Findings != nil {
		return r.task.Findings
	}
	var out []checks.Finding
	for _, f := range findings(base) {
		if f.Severity == checks.SeverityFailure || r.task.Kind == "review" {
			out = append(out, f)
		}
	}
	return out
}

// verdict is what one validation says about the work.
type verdict struct {
	remaining  []checks.Finding
	fresh      []checks.Finding
	stepErrors []string
	gate       guard.PlanVerdict
}

func (v verdict) ok(allowDestroy bool) bool {
	return len(v.remaining) == 0 && len(v.fresh) == 0 && len(v.stepErrors) == 0 && v.gate.Passes(allowDestroy)
}

// judge compares a validation with the baseline: the targets still there,
// failures the work caused, steps that broke, and the plan-delta gate.
func (r *run) judge(rep checks.Report) verdict {
	var v verdict
	now := findings(rep)
	for _, t := range r.targets {
		// The finding as it is now: an edit above it moves its line.
		if i := slices.IndexFunc(now, func(f checks.Finding) bool { return same(t, f) }); i >= 0 {
			v.remaining = append(v.remaining, now[i])
		}
	}
	before := findings(r.baseline)
	for _, f := range now {
		if f.Severity != checks.SeverityFailure || slices.ContainsFunc(before, func(b checks.Finding) bool { return same(b, f) }) {
			continue
		}
		v.fresh = append(v.fresh, f)
	}
	v.stepErrors = stepErrors(r.baseline, rep)
	v.gate = guard.ComparePlans(r.baseline, rep, r.scope())
	return v
}

// stepErrors lists the steps that fail now and did not before, and plans
// that ran before and do not now.
func stepErrors(before, after checks.Report) []string {
	prior := map[string]checks.StepStatus{}
	planned := map[string]bool{}
	for _, root := range before.Roots {
		for _, s := range root.Steps {
			prior[root.Dir+"|"+string(s.Name)] = s.Status
		}
		planned[root.Dir] = root.Plan != nil
	}
	var out []string
	for _, root := range after.Roots {
		for _, s := range root.Steps {
			if s.Status == checks.StepError && prior[root.Dir+"|"+string(s.Name)] != checks.StepError {
				out = append(out, fmt.Sprintf("%s: %s failed: %s", root.Dir, s.Name, brief.Sanitize(s.Detail, 500)))
			}
		}
		if planned[root.Dir] && root.Plan == nil && !slices.ContainsFunc(root.Steps, func(s checks.Step) bool { return s.Status == checks.StepError }) {
			out = append(out, fmt.Sprintf("%s: the plan no longer runs", root.Dir))
		}
	}
	return out
}

// scope is what the task is about: its targets; or, for a task given by
// instructions alone, the blocks the change edited.
func (r *run) scope() guard.Scope {
	var targets []guard.Target
	for _, t := range r.targets {
		targets = append(targets, guard.Target{Root: t.Root, Address: t.Address, File: t.File, Line: t.Line})
	}
	var diffs []guard.FileDiff
	if len(targets) == 0 {
		changes, _ := r.ws.Changes()
		for _, c := range changes {
			diffs = append(diffs, guard.FileDiff{Path: c.Path, Before: c.Before, After: c.After})
		}
	}
	return guard.BuildScope(r.ws.Root(), r.rootDirs, targets, diffs)
}

// deterministic applies terraform fmt and the policies' declared fixes to
// the targets, then validates once (outside the model's budget). Fixes that
// make anything worse are all put back; the model gets everything then.
func (r *run) deterministic(ctx context.Context) error {
	applied, skipped, err := fixes.Fmt(ctx, r.env, r.opts.Terraform, r.targets)
	if err != nil {
		return err
	}
	declared, declSkipped := fixes.Policies(r.env, r.targets)
	applied, skipped = append(applied, declared...), append(skipped, declSkipped...)
	r.res.DeterministicSkipped = skipped
	for _, s := range skipped {
		r.audit.Emit(audit.Event{Type: audit.TypeDeterministic, Outcome: "skipped", Detail: brief.Line(s.Finding) + ": " + s.Reason})
	}
	if len(applied) == 0 {
		return nil
	}
	for _, a := range applied {
		r.audit.Emit(audit.Event{Type: audit.TypeDeterministic, Outcome: "applied", Detail: a.Kind + ": " + a.Description})
	}
	r.dirty = true
	rep, err := r.validate(ctx, "deterministic fixes")
	if err != nil {
		return err
	}
	v := r.judge(rep)
	if len(v.fresh) > 0 || len(v.stepErrors) > 0 || !v.gate.Passes(r.opts.Config.Agent.AllowDestroy) {
		if err := r.ws.RevertAll(); err != nil {
			return err
		}
		r.latest, r.dirty = r.baseline, false
		reason := fmt.Sprintf("put back: together they caused %d new failure(s), %d broken step(s), %d plan gate problem(s)",
			len(v.fresh), len(v.stepErrors), len(v.gate.OutOfScope)+len(v.gate.Destroys))
		for _, a := range applied {
			r.res.DeterministicSkipped = append(r.res.DeterministicSkipped, fixes.Skipped{Finding: a.Finding, Reason: reason})
		}
		r.audit.Emit(audit.Event{Type: audit.TypeDeterministic, Outcome: "reverted", Detail: reason})
		return nil
	}
	r.res.Deterministic = applied
	return nil
}

// needsModel reports whether anything is left for the model: targets the
// latest validation still shows, or instructions to follow.
func (r *run) needsModel() bool {
	if r.task.Instructions != "" {
		return true
	}
	return len(r.judge(r.latest).remaining) > 0
}
