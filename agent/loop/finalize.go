package loop

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/infra-agent/infra-agent/agent/audit"
	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/agent/pipeline"
	"github.com/infra-agent/infra-agent/checks/redact"
)

// finalGate checks the whole change again — paths, content, secrets, size —
// puts back the files that break a rule, validates what is left if it was
// not validated yet, and decides the status.
func (r *run) finalGate(ctx context.Context) error {
	changes, err := r.ws.Changes()
	if err != nil {
		return err
	}
	changed := map[string][]byte{}
	var diffs []guard.FileDiff
	var violations []guard.Violation
	for _, c := range changes {
		changed[c.Path] = c.After
		diffs = append(diffs, guard.FileDiff{Path: c.Path, Before: c.Before, After: c.After})
		if _, err := r.ws.CheckWrite(c.Path); err != nil {
			violations = append(violations, guard.Violation{Path: c.Path, Rule: "path", Detail: err.Error()})
		}
	}
	violations = append(violations, r.env.Content.Check(changed)...)
	violations = append(violations, guard.CheckDiff(diffs, r.opts.Config.Agent.MaxDiffLines)...)
	var revert []string
	for _, v := range violations {
		r.audit.Emit(audit.Event{Type: audit.TypeGate, Outcome: "violation", Detail: v.Error()})
		if v.Rule == guard.RuleDiffSize {
			r.needsReview(v.Detail)
			continue
		}
		r.res.Violations = append(r.res.Violations, v)
		for p := range changed {
			if p == v.Path || path.Dir(p) == v.Path {
				revert = append(revert, p)
			}
		}
	}
	if len(revert) > 0 {
		slices.Sort(revert)
		revert = slices.Compact(revert)
		if err := r.ws.Revert(revert...); err != nil {
			return err
		}
		r.dirty = true
		r.needsReview("the final change broke a rule; these files were put back: " + strings.Join(revert, ", "))
	}
	if r.dirty {
		if _, err := r.validate(ctx, "final"); err != nil {
			r.needsReview("the final change could not be validated")
			return err
		}
	}
	return r.decide()
}

// decide sets the status from the last validation and the change.
func (r *run) decide() error {
	v := r.judge(r.latest)
	allow := r.opts.Config.Agent.AllowDestroy
	r.res.Remaining, r.res.NewFailures, r.res.StepErrors, r.res.Plan = v.remaining, v.fresh, v.stepErrors, v.gate
	if len(v.remaining) > 0 {
		r.needsReview(fmt.Sprintf("%d targeted finding(s) remain", len(v.remaining)))
	}
	if len(v.fresh) > 0 || len(v.stepErrors) > 0 {
		r.needsReview(fmt.Sprintf("the change causes %d new failure(s)", len(v.fresh)+len(v.stepErrors)))
	}
	if len(v.gate.Destroys) > 0 && !allow {
		r.needsReview(fmt.Sprintf("the plan adds %d delete or replace (agent.allow_destroy is off)", len(v.gate.Destroys)))
	}
	if len(v.gate.OutOfScope) > 0 {
		r.needsReview(fmt.Sprintf("the plan changes %d resource(s) the task is not about", len(v.gate.OutOfScope)))
	}
	if err := r.collectFiles(); err != nil {
		return err
	}
	// Findings the task did not target (it named others) may still fail
	// the pipeline: the validation says so, the status does not count them.
	r.res.Validation = summarise(r.latest, !pipeline.Failed(r.latest))
	switch {
	case len(r.res.NeedsReview) > 0 || !v.ok(allow):
		r.res.Status = StatusNeedsReview
	case len(r.res.Files) == 0:
		r.res.Status = StatusClean
	default:
		r.res.Status = StatusFixed
	}
	return nil
}

// collectFiles records the change: files, diff and IAM flags.
func (r *run) collectFiles() error {
	changes, err := r.ws.Changes()
	if err != nil {
		return err
	}
	var diffs []guard.FileDiff
	r.res.Files, r.res.Changed = nil, nil
	for _, c := range changes {
		r.res.Files = append(r.res.Files, FileChange{Path: c.Path, Content: c.After, Deleted: c.After == nil, Original: c.Before})
		r.res.Changed = append(r.res.Changed, c.Path)
		diffs = append(diffs, guard.FileDiff{Path: c.Path, Before: c.Before, After: c.After})
	}
	r.res.Diff = redact.String(guard.Unified(diffs))
	r.res.IAM = nil
	for _, c := range r.res.Plan.IAM {
		r.res.IAM = append(r.res.IAM, c.String())
	}
	if len(r.res.Plan.Compared) == 0 {
		for _, d := range diffs {
			for _, addr := range guard.EditedBlocks(d) {
				if guard.IAMType(strings.Split(addr, ".")[0]) {
					r.res.IAM = append(r.res.IAM, d.Path+": "+addr)
				}
			}
		}
	}
	return nil
}

// finish completes the result's counters.
func (r *run) finish() Result {
	r.res.Used = r.budget.Used()
	r.res.Duration = r.now().Sub(r.start)
	if r.res.Status == "" {
		r.res.Status = StatusNeedsReview
		if r.res.Validation.Roots == nil {
			r.res.Validation = summarise(r.latest, false)
		}
	}
	return r.res
}
