package policy

import (
	"context"
	"fmt"

	"github.com/infra-agent/infra-agent/checks"
)

// planInputName is data.conftest.file.name for plan input, which has no
// file of its own.
const planInputName = "plan.json"

// CheckPlan evaluates the policies on a plan (`terraform show -json`) of the
// root, wrapped as {PlanInputKey: plan} when the Options say so, and returns
// the warnings and failures, each at the block that declares the resource it
// is about. Values the plan marks sensitive are masked in their messages.
func (e *Engine) CheckPlan(ctx context.Context, root Root, planJSON []byte) ([]checks.Finding, error) {
	res, err := e.EvaluatePlan(ctx, root, planJSON)
	return res.Findings, err
}

// EvaluatePlan is CheckPlan with conftest's counts.
func (e *Engine) EvaluatePlan(ctx context.Context, root Root, planJSON []byte) (Result, error) {
	doc, err := checks.DecodePlan(planJSON)
	if err != nil {
		return Result{}, fmt.Errorf("reading the plan of %s: %w", root.rel(), err)
	}
	return e.EvaluatePlanDocument(ctx, root, doc)
}

// CheckPlanDocument is CheckPlan on a plan already decoded with
// checks.DecodePlan: the pipeline decodes a plan once for the renderer and
// the policies. The document is not modified.
func (e *Engine) CheckPlanDocument(ctx context.Context, root Root, doc map[string]any) ([]checks.Finding, error) {
	res, err := e.EvaluatePlanDocument(ctx, root, doc)
	return res.Findings, err
}

// EvaluatePlanDocument is CheckPlanDocument with conftest's counts.
func (e *Engine) EvaluatePlanDocument(ctx context.Context, root Root, doc map[string]any) (Result, error) {
	rel := root.rel()
	var input any = doc
	if e.planKey != "" {
		input = map[string]any{e.planKey: doc}
	}
	hits, counts, err := e.evaluate(ctx, input, fileInfo{name: planInputName, dir: root.Dir})
	if err != nil {
		return Result{}, fmt.Errorf("checking the plan of %s: %w", rel, err)
	}
	res := Result{Counts: counts}
	if len(hits) == 0 {
		return res, nil
	}
	loc := planLocator{tree: newModuleTree(Root{Dir: root.Dir, Rel: rel}), changes: resourceChanges(doc)}
	mask := sensitiveMasker(doc)
	for _, h := range hits {
		f, err := loc.locate(h)
		if err != nil {
			return Result{}, fmt.Errorf("locating findings of %s: %w", rel, err)
		}
		f.Message = mask(f.Message)
		if f.Metadata != nil {
			f.Metadata, _ = checks.MapStrings(f.Metadata, mask).(map[string]any)
		}
		res.Findings = append(res.Findings, f)
	}
	sortFindings(res.Findings)
	return res, nil
}

// change is a resource instance of the plan a message may name.
type change struct {
	raw  string
	addr address
	cand candidate
}

// resourceChanges lists the plan's resource_changes as candidates.
func resourceChanges(plan any) []change {
	obj, _ := plan.(map[string]any)
	rcs, _ := obj["resource_changes"].([]any)
	out := make([]change, 0, len(rcs))
	for _, rc := range rcs {
		m, _ := rc.(map[string]any)
		raw, _ := m["address"].(string)
		a, ok := parseAddress(raw)
		if !ok || (a.Kind != kindResource && a.Kind != kindData) {
			continue
		}
		cfg := a.String()
		forms := []form{{raw, levelInstance}}
		if cfg != raw {
			forms = append(forms, form{cfg, levelConfig})
		}
		if len(a.Modules) > 0 {
			short := address{Kind: a.Kind, Type: a.Type, Name: a.Name}.String()
			forms = append(forms, form{short, levelShort})
		}
		out = append(out, change{raw: raw, addr: a, cand: candidate{forms: forms, typ: a.Type, name: a.Name, nameOnly: true}})
	}
	return out
}

// planLocator places plan findings on the blocks that declare their resources.
type planLocator struct {
	tree    *moduleTree
	changes []change
}

func (l planLocator) locate(h hit) (checks.Finding, error) {
	rootRel := l.tree.root.Rel
	f := newFinding(h, rootRel)
	if file, line, ok := declaredLine(h, rootRel, ""); ok {
		f.File, f.Line = file, line
		f.Address = declaredAddress(h)
		return f, nil
	}
	if raw := declaredAddress(h); raw != "" {
		f.Address = raw
		if a, ok := parseAddress(raw); ok {
			b, found, err := l.tree.locate(a)
			if err != nil || found {
				f.File, f.Line = b.File, b.Line
				return f, err
			}
		}
	}
	cands := make([]candidate, len(l.changes))
	for i, c := range l.changes {
		cands[i] = c.cand
	}
	idx := strongest(h.result.Message, cands)
	if len(idx) == 0 {
		return f, nil
	}
	if f.Address == "" {
		f.Address = commonAddress(l.changes, idx)
	}
	var at block
	for n, i := range idx {
		b, found, err := l.tree.locate(l.changes[i].addr)
		if err != nil {
			return f, err
		}
		if !found || n > 0 && (b.File != at.File || b.Line != at.Line) {
			// Not declared where we can see it, or several blocks fit.
			return f, nil
		}
		at = b
	}
	f.File, f.Line = at.File, at.Line
	return f, nil
}

// commonAddress is the instance address when one instance was named, else
// the configuration address the named instances share, else "".
func commonAddress(changes []change, idx []int) string {
	if len(idx) == 1 {
		return changes[idx[0]].raw
	}
	cfg := changes[idx[0]].addr.String()
	for _, i := range idx[1:] {
		if changes[i].addr.String() != cfg {
			return ""
		}
	}
	return cfg
}
