package guard

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/infra-agent/infra-agent/agent/hcledit"
	"github.com/infra-agent/infra-agent/checks"
)

// PlanChange is one resource whose planned change the agent's work altered.
type PlanChange struct {
	Root    string `json:"root"`
	Address string `json:"address"`
	// Before and After are the actions in the plans before and after the
	// work ("" when the resource was not in that plan's changes).
	Before checks.Action `json:"before,omitempty"`
	After  checks.Action `json:"after,omitempty"`
}

// String renders the change for a reader.
func (c PlanChange) String() string {
	before, after := string(c.Before), string(c.After)
	if before == "" {
		before = "no change"
	}
	if after == "" {
		after = "no change"
	}
	return fmt.Sprintf("%s (%s): %s → %s", c.Address, c.Root, before, after)
}

// PlanVerdict is what the plan-delta gate found.
type PlanVerdict struct {
	// Destroys are deletes and replaces the work added.
	Destroys []PlanChange `json:"destroys,omitempty"`
	// OutOfScope are changes to resources the task is not about.
	OutOfScope []PlanChange `json:"out_of_scope,omitempty"`
	// IAM are changes to identity and access resources and policies, for a
	// human to look at; they do not fail the gate.
	IAM []PlanChange `json:"iam,omitempty"`
	// Compared lists the roots both plans exist for.
	Compared []string `json:"compared,omitempty"`
}

// Passes reports whether the gate passes: no out-of-scope change, and no
// added delete or replace unless allowDestroy.
func (v PlanVerdict) Passes(allowDestroy bool) bool {
	return len(v.OutOfScope) == 0 && (allowDestroy || len(v.Destroys) == 0)
}

// ComparePlans compares, root by root, the plan before the agent's work with
// the plan after it. A resource whose planned change (action and planned
// values) is the same in both is not the work's doing; every other one is a
// delta, which must be in scope, must not be a new delete or replace, and is
// flagged when it is an IAM resource or changes a policy.
func ComparePlans(before, after checks.Report, scope Scope) PlanVerdict {
	var v PlanVerdict
	prior := map[string]*checks.Plan{}
	for _, r := range before.Roots {
		if r.Plan != nil {
			prior[r.Dir] = r.Plan
		}
	}
	for _, r := range after.Roots {
		old, ok := prior[r.Dir]
		if !ok || r.Plan == nil {
			continue
		}
		v.Compared = append(v.Compared, r.Dir)
		for _, d := range planDeltas(r.Dir, old, r.Plan) {
			if (d.change.After == checks.ActionDelete || d.change.After == checks.ActionReplace) && d.change.Before != d.change.After {
				v.Destroys = append(v.Destroys, d.change)
			}
			if !scope.Covers(r.Dir, d.change.Address) {
				v.OutOfScope = append(v.OutOfScope, d.change)
			}
			if d.iam {
				v.IAM = append(v.IAM, d.change)
			}
		}
	}
	return v
}

type delta struct {
	change PlanChange
	iam    bool
}

// planned is one resource instance of a plan: its action (the render
// model's, "" for a pure no-op) and its entry in the decoded document.
type planned struct {
	action checks.Action
	entry  map[string]any
}

// planDeltas lists the resources whose planned change differs. It compares
// the decoded documents, not the rendered attributes: those are masked,
// redacted and capped for display, and a change to a sensitive value, or to
// the 201st attribute, must count too.
func planDeltas(root string, before, after *checks.Plan) []delta {
	old, now := indexPlan(before), indexPlan(after)
	var addrs []string
	for a := range old {
		addrs = append(addrs, a)
	}
	for a := range now {
		if _, ok := old[a]; !ok {
			addrs = append(addrs, a)
		}
	}
	slices.Sort(addrs)
	var out []delta
	for _, a := range addrs {
		o, hadOld := old[a]
		n, hasNew := now[a]
		if hadOld && hasNew && reflect.DeepEqual(o.entry, n.entry) {
			continue
		}
		out = append(out, delta{
			change: PlanChange{Root: root, Address: a, Before: o.action, After: n.action},
			iam:    IAMType(resourceType(a)) || policyChanged(o.entry, n.entry),
		})
	}
	return out
}

// indexPlan maps each resource instance of a plan (deposed objects left out)
// to what is planned for it, deferred changes included.
func indexPlan(p *checks.Plan) map[string]planned {
	actions := map[string]checks.Action{}
	for _, c := range p.Changes {
		if c.Deposed == "" {
			actions[c.Address] = c.Action
		}
	}
	doc := p.Document()
	entries, _ := doc["resource_changes"].([]any)
	deferred, _ := doc["deferred_changes"].([]any)
	for _, d := range deferred {
		if m, ok := d.(map[string]any); ok {
			entries = append(entries, m["resource_change"])
		}
	}
	out := map[string]planned{}
	for _, e := range entries {
		rc, _ := e.(map[string]any)
		addr, _ := rc["address"].(string)
		if deposed, _ := rc["deposed"].(string); addr == "" || deposed != "" {
			continue
		}
		out[addr] = planned{action: actions[addr], entry: rc}
	}
	return out
}

// policyChanged reports whether the work changed an attribute that holds a
// policy, at any depth: its planned value (or whether it is known) differs
// between the plans.
func policyChanged(before, after map[string]any) bool {
	return !reflect.DeepEqual(policyValues(before), policyValues(after))
}

// policyValues collects, by path, the planned values of a resource change's
// policy attributes, and which of them are unknown; null ones are left out.
func policyValues(rc map[string]any) map[string]any {
	out := map[string]any{}
	change, _ := rc["change"].(map[string]any)
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if isPolicyAttribute(k) && x != nil && x != false {
					out[path+"."+k] = x
					continue
				}
				walk(x, path+"."+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(change["after"], "after")
	walk(change["after_unknown"], "unknown")
	return out
}

// resourceType returns the resource type of an instance address.
func resourceType(addr string) string {
	a, err := hcledit.ParseAddress(addr)
	if err != nil {
		return ""
	}
	return a.Type
}

// IAMType reports whether a resource type manages identity, access or a
// resource policy: what a human must look at before it is merged.
func IAMType(t string) bool {
	t = strings.ToLower(t)
	switch {
	case t == "":
		return false
	case strings.Contains(t, "_iam_") || strings.HasPrefix(t, "aws_iam") || strings.HasSuffix(t, "_iam"):
		return true
	case strings.HasSuffix(t, "_policy") || strings.HasSuffix(t, "_policy_attachment") || strings.Contains(t, "_policy_document"):
		return true
	case strings.HasPrefix(t, "azurerm_role_") || strings.HasPrefix(t, "azuread_") || strings.HasPrefix(t, "google_service_account"):
		return true
	}
	return false
}

// isPolicyAttribute reports whether an attribute name holds a policy.
func isPolicyAttribute(name string) bool {
	return name == "policy" || strings.HasSuffix(name, "_policy")
}
