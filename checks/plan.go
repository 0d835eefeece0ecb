package checks

// Plan is the render model of one terraform plan, built from `terraform show
// -json` output by NewPlan (or ParsePlan). Attribute values are only reachable
// through Attributes methods, which mask (sensitive, unknown) and redact
// (secret-looking) them, so any consumer may show what it gets; Document
// returns the decoded plan for comparisons, never for display.
type Plan struct {
	FormatVersion    string
	TerraformVersion string
	Counts           PlanCounts
	// Errored is set when terraform reports that planning failed part-way
	// ("errored": true): the plan is incomplete and must not read as a pass.
	Errored bool
	// Incomplete is set when terraform says more changes will follow once this
	// plan is applied ("complete": false: deferred changes or -target).
	Incomplete bool
	// Changes lists the resource instances the plan acts on (pure no-ops are
	// left out; moved or imported no-ops stay), deletes and replaces first,
	// then in the plan's own order, then the deferred ones.
	Changes []ResourceChange
	// Actions lists the action invocations the plan makes (terraform 1.14),
	// then the deferred ones.
	Actions []ActionInvocation
	// Outputs lists the root module outputs that change, by name.
	Outputs []OutputChange

	doc map[string]any
}

// Document returns the decoded plan document NewPlan was given, unmasked and
// unredacted: for comparing plans (what a change adds or removes), never for
// display. It is shared, so callers must not modify it.
func (p *Plan) Document() map[string]any { return p.doc }

// Action is what a plan does to one resource instance.
type Action string

// The actions of a resource change. Replace is one action, whichever order
// terraform performs its delete and create in.
const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionDelete  Action = "delete"
	ActionReplace Action = "replace"
	ActionRead    Action = "read"
	ActionNoOp    Action = "no-op"
	// ActionForget removes the object from state without destroying it (a
	// removed block with destroy = false).
	ActionForget Action = "forget"
	// ActionCreateForget replaces the object without destroying the old one,
	// which is only removed from state (lifecycle destroy = false).
	ActionCreateForget Action = "create-forget"
)

// ResourceChange is the planned change of one resource instance.
type ResourceChange struct {
	Address string
	// PreviousAddress is set when the instance moved (a moved block or a
	// refactoring) from another address.
	PreviousAddress string
	// Action is one of the Action constants, or terraform's own actions
	// joined with "+" for a combination this version does not know.
	Action Action
	// CreateBeforeDestroy is set on replaces that create the new object first.
	CreateBeforeDestroy bool
	// Reason is terraform's action_reason, e.g. "replace_because_tainted".
	Reason string
	// Importing is set when the plan imports an existing object; ImportID is
	// its import id when known.
	Importing bool
	ImportID  string
	// Deposed is the deposed object key when the change is about one.
	Deposed string
	// Deferred is set on changes terraform put off to a later plan, to its
	// reason (e.g. "instance_count_unknown"); they do not happen in this one.
	Deferred string

	values changeValues
}

// Attributes returns the attribute values the change sets or changes (all
// known values for creates, reads and deletes; changed ones for updates and
// replaces, list elements matched as terraform matches them) in schema order,
// masked and redacted. omitted counts attributes left out for size. They are
// computed on each call: a plan of thousands of resources renders only the
// few that fit on GitHub.
func (c ResourceChange) Attributes() (attrs []AttributeChange, omitted int) {
	return c.values.attributes()
}

// Dangerous reports whether the change destroys an object in this plan.
func (c ResourceChange) Dangerous() bool {
	return c.Deferred == "" && (c.Action == ActionDelete || c.Action == ActionReplace)
}

// Moved reports whether the instance moved from another address.
func (c ResourceChange) Moved() bool {
	return c.PreviousAddress != "" && c.PreviousAddress != c.Address
}

// AttributeChange is one leaf value of a resource or output change. Before and
// After are rendered values ("\"text\"", "42", "(known after apply)",
// "(sensitive value)", "(redacted)"); an empty string means absent or null.
type AttributeChange struct {
	// Path names the attribute, with nested objects and lists as a path:
	// "tags.Name", "ingress[0].cidr_blocks[1]", `labels["app.kubernetes.io/name"]`.
	// A list element's index is its index after the change, or before it for
	// an element the change removes.
	Path          string
	Before, After string
	// ForcesReplacement marks the attributes whose change makes terraform
	// replace the resource.
	ForcesReplacement bool
	// Note says what changed when the values do not show it, e.g. that a
	// value became sensitive.
	Note string
}

// OutputChange is the planned change of one root module output.
type OutputChange struct {
	Name   string
	Action Action

	values changeValues
}

// Attributes returns the output value's leaves (Path "" for a plain value),
// masked and redacted.
func (o OutputChange) Attributes() []AttributeChange {
	attrs, _ := o.values.attributes()
	return attrs
}

// ActionInvocation is an action the plan invokes (terraform 1.14 actions): by
// a resource's lifecycle action_trigger, or by `-invoke`.
type ActionInvocation struct {
	Address string
	// Trigger says what invokes it: "before_create of aws_instance.web", or
	// "-invoke" for an action invoked from the command line.
	Trigger string
	// Deferred is set, to terraform's reason, on invocations put off to a
	// later plan.
	Deferred string

	values changeValues
}

// Attributes returns the action's configuration values, masked and redacted.
func (a ActionInvocation) Attributes() []AttributeChange {
	attrs, _ := a.values.attributes()
	return attrs
}
