package checks

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// ParsePlan parses the output of `terraform show -json PLANFILE` (Terraform
// 0.12 onwards, plan format versions 0.1 to 1.x, and OpenTofu's) into the
// render model: DecodePlan, then NewPlan.
func ParsePlan(data []byte) (*Plan, error) {
	doc, err := DecodePlan(data)
	if err != nil {
		return nil, err
	}
	return NewPlan(doc)
}

// NewPlan builds the render model of a decoded plan document (DecodePlan). It
// reads the document where terraform-json's structs would leave things out
// (errored plans, create-forget replaces, deferred action invocations) and
// never modifies it. A document that is not a plan, an unsupported format
// version and a field of the wrong JSON type are errors that say so.
func NewPlan(doc map[string]any) (*Plan, error) {
	var r reader
	p := &Plan{
		FormatVersion:    r.str(doc["format_version"], "format_version"),
		TerraformVersion: r.str(doc["terraform_version"], "terraform_version"),
		doc:              doc,
	}
	if r.err != nil {
		return nil, fmt.Errorf("parsing plan JSON: %w", r.err)
	}
	// terraform-json keeps the supported range of format versions.
	if err := (&tfjson.Plan{FormatVersion: p.FormatVersion}).Validate(); err != nil {
		return nil, fmt.Errorf("parsing plan JSON: %w", err)
	}
	if doc["planned_values"] == nil && doc["resource_changes"] == nil && doc["output_changes"] == nil &&
		doc["configuration"] == nil && doc["action_invocations"] == nil {
		return nil, errors.New("parsing plan JSON: no planned_values, resource_changes, output_changes or configuration: " +
			"this is not `terraform show -json` of a saved plan (is it the JSON of a state?)")
	}
	p.Errored = r.boolean(doc["errored"], "errored")
	if complete, ok := doc["complete"].(bool); ok && !complete {
		p.Incomplete = true
	}
	for i, rc := range r.list(doc["resource_changes"], "resource_changes") {
		c, ok := r.resourceChange(rc, fmt.Sprintf("resource_changes[%d]", i))
		if !ok {
			continue
		}
		countChange(&p.Counts, c)
		if c.Action == ActionNoOp && !c.Moved() && !c.Importing {
			continue
		}
		p.Changes = append(p.Changes, c)
	}
	sort.SliceStable(p.Changes, func(i, j int) bool {
		return actionRank(p.Changes[i].Action) < actionRank(p.Changes[j].Action)
	})
	for i, d := range r.list(doc["deferred_changes"], "deferred_changes") {
		where := fmt.Sprintf("deferred_changes[%d]", i)
		obj := r.object(d, where)
		c, ok := r.resourceChange(obj["resource_change"], where+".resource_change")
		if !ok {
			continue
		}
		c.Deferred = defaultString(r.str(obj["reason"], where+".reason"), "unknown")
		p.Counts.Deferred++
		p.Changes = append(p.Changes, c)
	}
	for i, a := range r.list(doc["action_invocations"], "action_invocations") {
		p.Actions = append(p.Actions, r.actionInvocation(a, fmt.Sprintf("action_invocations[%d]", i)))
		p.Counts.Actions++
	}
	for i, d := range r.list(doc["deferred_action_invocations"], "deferred_action_invocations") {
		where := fmt.Sprintf("deferred_action_invocations[%d]", i)
		obj := r.object(d, where)
		a := r.actionInvocation(obj["action_invocation"], where+".action_invocation")
		a.Deferred = defaultString(r.str(obj["reason"], where+".reason"), "unknown")
		p.Actions = append(p.Actions, a)
		p.Counts.Deferred++
	}
	p.Outputs = r.outputs(doc)
	p.Counts.Outputs = len(p.Outputs)
	if r.err != nil {
		return nil, fmt.Errorf("parsing plan JSON: %w", r.err)
	}
	return p, nil
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// actionRank orders changes for review: what destroys first.
func actionRank(a Action) int {
	switch a {
	case ActionDelete:
		return 0
	case ActionReplace:
		return 1
	}
	return 2
}

func countChange(c *PlanCounts, rc ResourceChange) {
	switch rc.Action {
	case ActionCreate:
		c.Create++
	case ActionUpdate:
		c.Update++
	case ActionDelete:
		c.Delete++
	case ActionReplace:
		c.Replace++
	case ActionRead:
		c.Read++
	case ActionNoOp:
		c.NoOp++
	case ActionForget:
		c.Forget++
	case ActionCreateForget:
		c.Create++
		c.Forget++
	default:
		c.Other++
	}
	if rc.Moved() {
		c.Moved++
	}
	if rc.Importing {
		c.Import++
	}
}

// actionOf maps terraform's list of actions to one Action, and whether a
// replace creates first.
func actionOf(actions []string) (Action, bool) {
	switch strings.Join(actions, "+") {
	case "create":
		return ActionCreate, false
	case "update":
		return ActionUpdate, false
	case "delete":
		return ActionDelete, false
	case "delete+create":
		return ActionReplace, false
	case "create+delete":
		return ActionReplace, true
	case "read":
		return ActionRead, false
	case "forget":
		return ActionForget, false
	case "create+forget":
		return ActionCreateForget, false
	case "no-op", "":
		return ActionNoOp, false
	}
	return Action(strings.Join(actions, "+")), false
}

// resourceChange reads one entry of resource_changes. ok is false for
// entries that are not shown: no change object, or the delete of a data
// source (terraform shows none and performs none).
func (r *reader) resourceChange(v any, where string) (ResourceChange, bool) {
	obj := r.object(v, where)
	ch := r.object(obj["change"], where+".change")
	if obj == nil || ch == nil {
		return ResourceChange{}, false
	}
	action, cbd := actionOf(r.strings(ch["actions"], where+".change.actions"))
	c := ResourceChange{
		Address:             r.str(obj["address"], where+".address"),
		PreviousAddress:     r.str(obj["previous_address"], where+".previous_address"),
		Action:              action,
		CreateBeforeDestroy: cbd,
		Reason:              r.str(obj["action_reason"], where+".action_reason"),
		Deposed:             r.str(obj["deposed"], where+".deposed"),
	}
	if action == ActionDelete && r.str(obj["mode"], where+".mode") == "data" {
		return ResourceChange{}, false
	}
	if imp, ok := ch["importing"].(map[string]any); ok {
		c.Importing = true
		c.ImportID = r.str(imp["id"], where+".change.importing.id")
	}
	c.values = r.changeValues("", action, ch)
	return c, true
}

// changeValues keeps the sides of a change that its attributes are rendered
// from: creates and reads show what will be, deletes what was, updates and
// replaces what changes; forgets show nothing (nothing happens to the object).
func (r *reader) changeValues(name string, action Action, ch map[string]any) changeValues {
	v := changeValues{name: name}
	before := side{v: ch["before"], present: ch["before"] != nil, sensitive: ch["before_sensitive"]}
	after := side{v: ch["after"], present: ch["after"] != nil, sensitive: ch["after_sensitive"], unknown: ch["after_unknown"]}
	switch action {
	case ActionCreate, ActionRead:
		v.after, v.mode = after, modeCreate
	case ActionDelete:
		v.before, v.mode = before, modeDelete
	case ActionForget, ActionNoOp:
	default:
		v.before, v.after, v.mode = before, after, modeUpdate
		v.replacePaths = r.list(ch["replace_paths"], "replace_paths")
	}
	return v
}

// actionInvocation reads one entry of action_invocations.
func (r *reader) actionInvocation(v any, where string) ActionInvocation {
	obj := r.object(v, where)
	a := ActionInvocation{Address: r.str(obj["address"], where+".address"), Trigger: "-invoke"}
	if lt, ok := obj["lifecycle_action_trigger"].(map[string]any); ok {
		event := r.str(lt["action_trigger_event"], where+".lifecycle_action_trigger.action_trigger_event")
		res := r.str(lt["triggering_resource_address"], where+".lifecycle_action_trigger.triggering_resource_address")
		a.Trigger = strings.TrimSpace(event + " of " + res)
	}
	if it, ok := obj["invoke_action_trigger"].(map[string]any); ok {
		if calling := r.str(it["calling_resource_address"], where+".invoke_action_trigger"); calling != "" {
			a.Trigger = "-invoke on " + calling
		}
	}
	a.values = changeValues{
		after: side{v: obj["config_values"], present: obj["config_values"] != nil,
			sensitive: obj["config_sensitive"], unknown: obj["config_unknown"]},
		mode: modeCreate,
	}
	return a
}

// outputs reads output_changes, with the sensitivity plans of format 0.1 mark
// only in planned_values.
func (r *reader) outputs(doc map[string]any) []OutputChange {
	raw := r.object(doc["output_changes"], "output_changes")
	planned, _ := field(doc["planned_values"], "outputs").(map[string]any)
	names := make([]string, 0, len(raw))
	for name, ch := range raw {
		if ch != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out []OutputChange
	for _, name := range names {
		where := "output_changes." + name
		ch := r.object(raw[name], where)
		action, _ := actionOf(r.strings(ch["actions"], where+".actions"))
		if action == ActionNoOp || action == ActionCreate && unchangedOutput(doc, name, ch) {
			continue
		}
		v := r.changeValues(name, action, ch)
		if sensitive, _ := field(planned[name], "sensitive").(bool); sensitive {
			v.before.sensitive, v.after.sensitive = true, true
		}
		out = append(out, OutputChange{Name: name, Action: action, values: v})
	}
	return out
}

// unchangedOutput reports whether an output the plan "creates" already has
// that value in the prior state: terraform 0.12 lists every output as created,
// though it reports no changes.
func unchangedOutput(doc map[string]any, name string, ch map[string]any) bool {
	prior, ok := field(field(field(doc["prior_state"], "values"), "outputs"), name).(map[string]any)
	return ok && markerAny(ch["after_unknown"]) == false && reflect.DeepEqual(prior["value"], ch["after"])
}

// field returns obj[key] for a JSON object, else nil.
func field(obj any, key string) any {
	m, _ := obj.(map[string]any)
	return m[key]
}

// reader reads typed fields of a decoded document, keeping the first field
// that has the wrong JSON type as its error. Absent (null) fields read as
// zero values.
type reader struct{ err error }

func (r *reader) fail(where string, v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s is %s, not %s", where, jsonKind(v), want)
	}
}

func (r *reader) object(v any, where string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok && v != nil {
		r.fail(where, v, "an object")
	}
	return m
}

func (r *reader) list(v any, where string) []any {
	l, ok := v.([]any)
	if !ok && v != nil {
		r.fail(where, v, "a list")
	}
	return l
}

func (r *reader) str(v any, where string) string {
	s, ok := v.(string)
	if !ok && v != nil {
		r.fail(where, v, "a string")
	}
	return s
}

func (r *reader) boolean(v any, where string) bool {
	b, ok := v.(bool)
	if !ok && v != nil {
		r.fail(where, v, "a boolean")
	}
	return b
}

func (r *reader) strings(v any, where string) []string {
	l := r.list(v, where)
	out := make([]string, 0, len(l))
	for i, x := range l {
		out = append(out, r.str(x, fmt.Sprintf("%s[%d]", where, i)))
	}
	return out
}
