// Package jobs turns normalized tasks into jobs: it makes the policy decision,
// stores the job, creates its check run, dispatches the agent workflow, and
// keeps every job moving to a terminal state that is visible on GitHub.
package jobs

import (
	"time"

	"github.com/infra-agent/infra-agent/wire"
)

// Action is what a task asks the job layer to do.
type Action string

// Task actions. Only ActionRun creates a job; the others answer the trigger.
const (
	ActionRun     Action = "run"     // create and dispatch a job of Task.Kind
	ActionCancel  Action = "cancel"  // `/agent cancel`: cancel the active job of the PR/issue
	ActionHelp    Action = "help"    // `/agent help`: reply with usage and the repo's settings
	ActionUnknown Action = "unknown" // an unknown `/agent` subcommand: reply with help
)

// Source names the kind of event that triggered a task.
type Source string

// Trigger sources, named after the webhook events.
const (
	SourceIssueComment Source = "issue_comment"
	// SourceReviewComment is a review comment on a line of a pull request's
	// diff: its fix is scoped to that line and answered in its thread.
	SourceReviewComment Source = "pull_request_review_comment"
	SourceIssues        Source = "issues"
	SourcePullRequest   Source = "pull_request"
	SourceCheckRun      Source = "check_run"
	SourceCheckSuite    Source = "check_suite"
)

// Task is every trigger, normalized: what to do, where, for whom, and why. A
// handler builds it from a webhook payload without calling GitHub; the job
// layer fills what the payload lacks (a comment's PR head, say) before deciding.
type Task struct {
	Action Action
	Kind   wire.Kind // for ActionRun

	Source Source
	// Event is the pull request event's action (opened, synchronize,
	// reopened); empty for other sources.
	Event      string
	SourceID   int64  // comment id, check run id, check suite id, PR id, issue id
	DeliveryID string // X-GitHub-Delivery of the triggering event
	// TriggeredAt is when the triggering object was created (comment created_at,
	// label event time). Comments created or edited after it are not context.
	TriggeredAt time.Time

	InstallationID int64
	RepoID         int64
	OwnerID        int64 // the repository owner's id
	Owner          string
	Repo           string
	DefaultBranch  string
	RepoPrivate    bool

	// Number is the pull request or issue number; IsPR says which.
	Number int
	IsPR   bool

	// HeadSHA, HeadRef and HeadRepo (owner/name) describe a pull request's head
	// when the payload carries them; BaseRef is the branch it merges into.
	HeadSHA  string
	HeadRef  string
	HeadRepo string
	BaseRef  string
	// Fork reports a pull request whose head is in another repository.
	Fork bool

	Actor     string // login of the human (or bot) who triggered it
	ActorType string // "User", "Bot", "Organization"
	// ViaApp is the id of the GitHub App that performed the action (0 when a human did).
	ViaApp int64

	// Instructions are the free text after `/agent fix`, or the issue body for
	// remediation. Untrusted: framed as data for the model, never as commands.
	Instructions string
	// Command is the `/agent` subcommand as typed (for replies to unknown ones).
	Command string
	// CheckName is the failing check that triggered an autofix.
	CheckName string
	// Label is the label that triggered a remediation.
	Label string

	// pushes counts this App's commits on the pull request for jobs other
	// than automatic fixes; they use automatic fix attempts up.
	pushes int
}
