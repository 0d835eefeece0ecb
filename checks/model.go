// Package checks turns validation results, plans and job states into check-run
// outputs, annotations and comments. It is pure: no I/O. GitHub's size limits
// are enforced here, in one place.
package checks

import "time"

// Severity is how bad a finding is.
type Severity string

// Severities of findings. A failure fails the infra-agent/policy check run; a
// warning is shown but does not.
const (
	SeverityFailure Severity = "failure"
	SeverityWarning Severity = "warning"
)

// Finding is one policy result (or a validation diagnostic) tied, where it can
// be, to the file and line it is about.
type Finding struct {
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	// File is relative to the repository root (forward slashes); empty when unknown.
	File string `json:"file,omitempty"`
	// Line is 1-based; 0 when unknown.
	Line    int `json:"line,omitempty"`
	EndLine int `json:"end_line,omitempty"`
	// Source is what produced the finding: "policy", "validate", "fmt".
	Source string `json:"source,omitempty"`
	// Policy is the Rego file that produced it, relative to its policy directory.
	Policy string `json:"policy,omitempty"`
	// Namespace and Rule name the Rego rule, e.g. "main" and "deny".
	Namespace string `json:"namespace,omitempty"`
	Rule      string `json:"rule,omitempty"`
	// Address is the resource address the finding is about, when known.
	Address string `json:"address,omitempty"`
	// Root is the root module directory the finding came from.
	Root string `json:"root,omitempty"`
	// PolicyID is the policy's own id for the rule (its result's policyId,
	// policy_id, id or rule_id), shown beside the finding.
	PolicyID string `json:"policy_id,omitempty"`
	// Metadata is what the policy attached to its result besides msg and _loc
	// (conftest's result metadata: a policy id, severity, links, and the fix
	// the agent may apply deterministically). Values are JSON-shaped.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// FixDeclared reports whether the policy declared a fix for the finding
// (metadata "fix"), which `infra-agent fix` applies without a model.
func (f Finding) FixDeclared() bool { return f.Metadata["fix"] != nil }

// StepName names a pipeline step.
type StepName string

// The pipeline steps, in the order they run.
const (
	StepInit       StepName = "init"
	StepFmt        StepName = "fmt"
	StepValidate   StepName = "validate"
	StepPolicyHCL  StepName = "policy-hcl"
	StepPlan       StepName = "plan"
	StepPolicyPlan StepName = "policy-plan"
)

// StepStatus is the outcome of a pipeline step.
type StepStatus string

// Step outcomes. A root stops at the first StepError.
const (
	StepOK      StepStatus = "ok"
	StepFailed  StepStatus = "failed"  // the step ran and found problems (unformatted files, policy failures)
	StepError   StepStatus = "error"   // the step could not complete (invalid configuration, plan error)
	StepSkipped StepStatus = "skipped" // not run: an earlier hard error, --no-plan, or a fork PR
)

// Step is the recorded result of one pipeline step on one root.
type Step struct {
	Name     StepName      `json:"name"`
	Status   StepStatus    `json:"status"`
	Duration time.Duration `json:"duration_ns"`
	// Detail is a short human explanation (an error message, "2 files need formatting").
	Detail string `json:"detail,omitempty"`
}

// PlanCounts counts what a plan does, by kind. A resource change counts once,
// in its action (a replace is not a delete plus a create); Moved and Import
// count changes that also move or import, whatever their action. A replace
// that forgets its old object (create-forget) counts in Create, as terraform
// counts it, and in Forget. Deletes of data sources are not counted: terraform
// neither shows nor performs them.
type PlanCounts struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Delete  int `json:"delete"`
	Replace int `json:"replace"`
	Read    int `json:"read"`
	NoOp    int `json:"no_op"`
	Moved   int `json:"moved"`
	Import  int `json:"import"`
	// Forget counts objects removed from state without being destroyed.
	Forget int `json:"forget"`
	// Deferred counts resource changes and action invocations terraform put
	// off to a later plan.
	Deferred int `json:"deferred"`
	// Actions counts action invocations (terraform's "Actions: N to invoke").
	Actions int `json:"actions"`
	// Outputs counts root module outputs that change.
	Outputs int `json:"outputs"`
	// Other counts resource changes whose actions this version does not
	// know: shown, never taken for "no changes".
	Other int `json:"other"`
}

// Changes reports whether applying the plan does anything: terraform would
// not say "No changes" about it. Deferred changes alone do not count (they
// need another plan first), no-ops do not.
func (c PlanCounts) Changes() bool {
	return c.Create+c.Update+c.Delete+c.Replace+c.Read+c.Moved+c.Import+c.Forget+c.Actions+c.Outputs+c.Other > 0
}

// Dangerous reports whether the plan deletes or replaces anything.
func (c PlanCounts) Dangerous() bool { return c.Delete+c.Replace > 0 }

// RootResult is everything the pipeline learned about one root module.
type RootResult struct {
	// Dir is the root's directory relative to the repository (or the check
	// command's argument as given).
	Dir   string `json:"dir"`
	Steps []Step `json:"steps"`
	// Plan is nil when no plan ran (an earlier error, --no-plan, fork PRs).
	Plan     *Plan     `json:"-"`
	Findings []Finding `json:"-"`
}

// Failed reports whether any step of the root failed or errored.
func (r RootResult) Failed() bool {
	for _, s := range r.Steps {
		if s.Status == StepFailed || s.Status == StepError {
			return true
		}
	}
	return false
}

// Report is the result of one pipeline run over one or more roots.
type Report struct {
	Roots []RootResult
	// Versions records the tool versions used (terraform, conftest/OPA, infra-agent).
	Versions map[string]string
}
