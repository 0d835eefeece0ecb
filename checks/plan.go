package checks

// Plan is the render model of one terraform plan, built from `terraform show
// -json` output by ParsePlan. Attribute values are only reachable through
// Attributes methods, which mask (sensitive, unknown) and redact
// (secret-looking) them, so any consumer may show what it gets.
type Plan struct {
	FormatVersion    string
	TerraformVersion string
	Counts           PlanCounts
	// Changes lists the resource instances the plan acts on (pure no-ops are
	// left out; moved or imported no-ops stay), deletes and replaces first,
	// then in the plan's own order.
	Changes []ResourceChange
	// Outputs lists the root module outputs that change, by name.
	Outputs []OutputChange
}

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
	// ActionForget removes the object from state without destroying it.
	ActionForget Action = "forget"
)

// ResourceChange is the planned change of one resource instance.
type ResourceChange struct {
	Address string
	// PreviousAddress is set when the instance moved (a moved block or a
	// refactoring) from another address.
	PreviousAddress string
	Action          Action
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

	values changeValues
}

// Attributes returns the attribute values the change sets or changes (all
// known values for creates, reads and deletes; changed ones for updates and
// replaces) in schema order, masked and redacted. omitted counts attributes
// left out for size. They are computed on each call: a plan of thousands of
// resources renders only the few that fit on GitHub.
func (c ResourceChange) Attributes() (attrs []AttributeChange, omitted int) {
	return c.values.attributes()
}

// Dangerous reports whether the change destroys an object.
func (c ResourceChange) Dangerous() bool {
	return c.Action == ActionDelete || c.Action == ActionReplace
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
	Path          string
	Before, After string
	// ForcesReplacement marks the attributes whose change makes terraform
	// replace the resource.
	ForcesReplacement bool
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
