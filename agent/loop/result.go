package loop

import (
	"time"

	"github.com/infra-agent/infra-agent/agent/budget"
	"github.com/infra-agent/infra-agent/agent/fixes"
	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/tools"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

// Status is how a job ended.
type Status string

// Statuses. Only StatusFixed (and StatusClean, StatusReviewed) may be
// reported as success; StatusNeedsReview always carries its reasons.
const (
	// StatusFixed: the change passes validation, the targets are gone,
	// nothing new fails and the plan gate passes.
	StatusFixed Status = "fixed"
	// StatusNeedsReview: work was done (or not) but something is left for a
	// human: a limit, a failing validation, the gate, no model.
	StatusNeedsReview Status = "needs_review"
	// StatusClean: there was nothing to fix.
	StatusClean Status = "clean"
	// StatusReviewed: a review job ended; it never changes files.
	StatusReviewed Status = "reviewed"
)

// Result is everything a job produced, for the write-back to publish (a
// commit, a pull request, review comments with suggestions) and for people
// to read. Texts in it are sanitised and redacted; Files hold the exact new
// contents to commit and are left out of JSON.
type Result struct {
	Kind  wire.Kind `json:"kind"`
	JobID string    `json:"job_id,omitempty"`
	RunID string    `json:"run_id,omitempty"`

	Status Status `json:"status"`
	// NeedsReview says why a human must look; empty when fixed.
	NeedsReview []string `json:"needs_review,omitempty"`
	// Limit is the budget limit that stopped the work ("turns", "tokens",
	// "tool_calls", "timeout", "plan_runs"), or "".
	Limit string `json:"limit,omitempty"`
	// NeedsModel is set when findings remain that only a model could fix and
	// none is configured.
	NeedsModel bool `json:"needs_model,omitempty"`
	// Summary is the model's own account of its change.
	Summary string `json:"summary,omitempty"`

	// Diff is the unified diff of the change, redacted for display.
	Diff string `json:"diff"`
	// Files are the changed files with their new content, to commit.
	Files []FileChange `json:"-"`
	// Changed lists the changed files' paths.
	Changed []string `json:"changed,omitempty"`

	// Validation is the last validation of the change.
	Validation Validation `json:"validation"`
	// Iterations counts the validations of the model's work;
	// MaxIterations is the plan-run budget.
	Iterations    int `json:"iterations"`
	MaxIterations int `json:"max_iterations"`

	ModelCalls int         `json:"model_calls"`
	Tokens     model.Usage `json:"tokens"`
	// Model is "provider/model", or "" when none was used.
	Model string `json:"model,omitempty"`

	// Deterministic are the fixes made without a model; DeterministicSkipped
	// the declared fixes that could not be applied, and why.
	Deterministic        []fixes.Applied `json:"deterministic,omitempty"`
	DeterministicSkipped []fixes.Skipped `json:"deterministic_skipped,omitempty"`

	// Targets are the findings the job was about; Remaining those still
	// there; NewFailures the failures the change caused; StepErrors the
	// pipeline steps it broke.
	Targets     []checks.Finding `json:"targets,omitempty"`
	Remaining   []checks.Finding `json:"remaining,omitempty"`
	NewFailures []checks.Finding `json:"new_failures,omitempty"`
	StepErrors  []string         `json:"step_errors,omitempty"`

	// Plan is the plan-delta gate's verdict: destroys added, changes out of
	// the task's scope, IAM changes.
	Plan guard.PlanVerdict `json:"plan"`
	// IAM lists the identity and access changes a human must look at
	// (plan addresses, or file: block when no plan shows them).
	IAM []string `json:"iam,omitempty"`

	// Refusals are the tool calls refused (they never ran); Violations the
	// rules the final change broke (those files were put back).
	Refusals   []Refusal         `json:"refusals,omitempty"`
	Violations []guard.Violation `json:"violations,omitempty"`

	// ReviewComments are a review model's comments on lines (its opinion).
	ReviewComments []tools.ReviewComment `json:"review_comments,omitempty"`

	Limits   config.Limits `json:"limits"`
	Used     budget.Usage  `json:"used"`
	Duration time.Duration `json:"duration_ns"`
}

// FileChange is one changed file.
type FileChange struct {
	Path string
	// Content is the new content; nil with Deleted.
	Content []byte
	Deleted bool
	// Original is the content before the job (nil for a new file).
	Original []byte
}

// Refusal is one refused tool call.
type Refusal struct {
	Tool   string `json:"tool"`
	Reason string `json:"reason"`
}

// Validation summarises the last validation.
type Validation struct {
	// Passed: every root's steps passed and no failure finding is left.
	Passed bool         `json:"passed"`
	Roots  []RootStatus `json:"roots"`
	// Report is the full report, for rendering with checks.
	Report checks.Report `json:"-"`
}

// RootStatus is one root's last validation.
type RootStatus struct {
	Dir   string             `json:"dir"`
	Steps []checks.Step      `json:"steps"`
	Plan  *checks.PlanCounts `json:"plan,omitempty"`
}

// Success reports whether the job may be reported as a success.
func (r Result) Success() bool {
	return r.Status == StatusFixed || r.Status == StatusClean || r.Status == StatusReviewed
}

// summarise turns a report into the result's validation.
func summarise(rep checks.Report, passed bool) Validation {
	v := Validation{Passed: passed, Report: rep}
	for _, root := range rep.Roots {
		rs := RootStatus{Dir: root.Dir, Steps: root.Steps}
		if root.Plan != nil {
			c := root.Plan.Counts
			rs.Plan = &c
		}
		v.Roots = append(v.Roots, rs)
	}
	return v
}
