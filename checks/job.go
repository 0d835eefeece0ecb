package checks

import (
	"fmt"
	"strings"

	"github.com/infra-agent/infra-agent/wire"
)

// JobInfo is what job messages say about one job. Every string that could
// carry user input (Actor aside, which GitHub validates) is redacted and
// quoted when rendered.
type JobInfo struct {
	ID     string
	Kind   wire.Kind
	Static bool // a fork job: static checks only
	Actor  string
	// Source is the webhook event that triggered the job (issue_comment,
	// issues, pull_request, check_run, check_suite); TriggerDetail is the
	// label or check name that goes with it (untrusted).
	Source        string
	TriggerDetail string
	// Instructions are the free text given with `/agent fix` (untrusted).
	Instructions  string
	Workflow      string
	DefaultBranch string
	// RunURL links the workflow run, when known.
	RunURL string
}

// JobOutput is the title, summary and text of a job's check run.
type JobOutput struct {
	Title   string
	Summary string
	Text    string
}

// maxEcho bounds how much user-provided text a job message repeats.
const maxEcho = 2000

// JobQueued renders the check run of a job that waits for its runner.
func JobQueued(j JobInfo) JobOutput {
	var b strings.Builder
	fmt.Fprintf(&b, "Job `%s` is queued: infra-agent starts the workflow %s on %s, and the job runs when a runner picks it up.\n\n",
		j.ID, inlineCode(j.Workflow), inlineCode(j.DefaultBranch))
	jobFacts(&b, j)
	return JobOutput{Title: "Queued", Summary: b.String()}
}

// JobSuperseded renders the check run of a job that a newer trigger replaced.
func JobSuperseded(j JobInfo, newer JobInfo) JobOutput {
	var b strings.Builder
	fmt.Fprintf(&b, "Job `%s` was superseded by job `%s` (%s by @%s): only the newest job of a pull request or issue runs.\n",
		j.ID, newer.ID, triggerText(newer), newer.Actor)
	return JobOutput{Title: "Superseded by a newer job", Summary: b.String()}
}

// JobCancelled renders the check run of a job cancelled with `/agent cancel`.
func JobCancelled(j JobInfo, by string) JobOutput {
	return JobOutput{
		Title:   "Cancelled",
		Summary: fmt.Sprintf("Job `%s` was cancelled by @%s with `/agent cancel`.\n", j.ID, by),
	}
}

// JobDispatchFailed renders the check run of a job whose workflow could not be
// dispatched.
func JobDispatchFailed(j JobInfo, attempts int, reason string) JobOutput {
	var b strings.Builder
	fmt.Fprintf(&b, "infra-agent could not start the workflow %s on %s for job `%s` (%s):\n\n%s\n\n",
		inlineCode(j.Workflow), inlineCode(j.DefaultBranch), j.ID, plural(attempts, "attempt"), fence(reason))
	b.WriteString("Nothing ran and nothing was changed. ")
	b.WriteString(workflowChecklist(j))
	return JobOutput{Title: "Could not start the workflow", Summary: b.String()}
}

// JobNotStartedComment is the comment posted when a job's check run could not
// be created, so the job was not started.
func JobNotStartedComment(j JobInfo, reason string) string {
	return truncate(fmt.Sprintf("**infra-agent: %s did not start.** Job `%s` (%s by @%s) could not create its check run:\n\n%s\n\nNothing ran. Comment again to retry.\n",
		j.Kind.CheckRunName(), j.ID, triggerText(j), j.Actor, fence(reason)), maxComment)
}

// JobStall says where a job stopped moving, for the watchdog's messages.
type JobStall string

// The ways a job can stall.
const (
	// StallNotDispatched: queued, and the workflow dispatch was never accepted.
	StallNotDispatched JobStall = "not_dispatched"
	// StallNotClaimed: dispatched, and no runner ever claimed the job.
	StallNotClaimed JobStall = "not_claimed"
	// StallNoHeartbeat: claimed, and the runner stopped sending heartbeats.
	StallNoHeartbeat JobStall = "no_heartbeat"
)

// JobTimedOut renders the check run of a job the watchdog gave up on.
func JobTimedOut(j JobInfo, stall JobStall, after string) JobOutput {
	return JobOutput{Title: "Timed out", Summary: timedOutText(j, stall, after)}
}

// JobTimedOutComment is the comment posted on the pull request or issue when
// the watchdog gives up on a job.
func JobTimedOutComment(j JobInfo, stall JobStall, after string) string {
	return fmt.Sprintf("**infra-agent: %s timed out.** %s", j.Kind.CheckRunName(), timedOutText(j, stall, after))
}

func timedOutText(j JobInfo, stall JobStall, after string) string {
	var b strings.Builder
	switch stall {
	case StallNoHeartbeat:
		fmt.Fprintf(&b, "The runner of job `%s` stopped reporting: no heartbeat for %s. It may have crashed, been cancelled or lost its network. ", j.ID, after)
		if j.RunURL != "" {
			fmt.Fprintf(&b, "Its log is in [the workflow run](%s). ", j.RunURL)
		} else {
			b.WriteString("Its log is in the repository's Actions tab. ")
		}
		b.WriteString("Nothing was pushed.\n")
	case StallNotDispatched:
		fmt.Fprintf(&b, "Job `%s` was still waiting to be dispatched after %s. Nothing ran. ", j.ID, after)
		b.WriteString(workflowChecklist(j))
	default:
		fmt.Fprintf(&b, "No runner picked up job `%s` within %s. Nothing ran. ", j.ID, after)
		b.WriteString(workflowChecklist(j))
	}
	return b.String()
}

// workflowChecklist lists what to check when the agent workflow does not run.
func workflowChecklist(j JobInfo) string {
	var b strings.Builder
	b.WriteString("Please check that:\n\n")
	fmt.Fprintf(&b, "- `.github/workflows/%s` exists on the default branch %s and has a `workflow_dispatch` trigger with a `%s` input;\n",
		oneLine(j.Workflow), inlineCode(j.DefaultBranch), wire.WorkflowInput)
	b.WriteString("- GitHub Actions is enabled for this repository (Settings → Actions → General) and the workflow is not disabled;\n")
	b.WriteString("- a runner is available for the workflow's `runs-on` labels (self-hosted runners online, or Actions minutes left).\n")
	if j.RunURL != "" {
		fmt.Fprintf(&b, "\nThe dispatched run: %s\n", j.RunURL)
	}
	return b.String()
}

// JobRunEnded renders the check run of a job whose workflow run ended without
// the runner reporting a result. conclusion is the run's conclusion.
func JobRunEnded(j JobInfo, conclusion string) JobOutput {
	run := "The workflow run"
	if j.RunURL != "" {
		run = fmt.Sprintf("[The workflow run](%s)", j.RunURL)
	}
	var b strings.Builder
	switch conclusion {
	case "success":
		fmt.Fprintf(&b, "%s of job `%s` succeeded, but the runner ended without reporting a result. ", run, j.ID)
		b.WriteString("The workflow must run `infra-agent run --job` with the job id input; check its steps.\n")
		return JobOutput{Title: "The runner ended without reporting", Summary: b.String()}
	case "cancelled":
		fmt.Fprintf(&b, "%s of job `%s` was cancelled before the runner reported a result. Nothing was pushed.\n", run, j.ID)
		return JobOutput{Title: "Workflow run cancelled", Summary: b.String()}
	case "timed_out":
		fmt.Fprintf(&b, "%s of job `%s` hit its time limit before the runner reported a result. Nothing was pushed.\n", run, j.ID)
		return JobOutput{Title: "Workflow run timed out", Summary: b.String()}
	}
	fmt.Fprintf(&b, "%s of job `%s` ended with %s before the runner reported a result; its log says why. Nothing was pushed.\n",
		run, j.ID, inlineCode(conclusion))
	return JobOutput{Title: "Workflow run failed", Summary: b.String()}
}

// JobConcludedLate renders the check run of a job that ended while GitHub
// refused its conclusion; the watchdog concludes it afterwards. state is the
// job's final state and detail the server's note on why it ended.
func JobConcludedLate(j JobInfo, state, detail string) JobOutput {
	var b strings.Builder
	fmt.Fprintf(&b, "Job `%s` ended: %s.", j.ID, inlineCode(state))
	if strings.TrimSpace(detail) != "" {
		fmt.Fprintf(&b, " Reason:\n\n%s\n\n", fence(detail))
	} else {
		b.WriteString("\n\n")
	}
	if j.RunURL != "" {
		fmt.Fprintf(&b, "[The workflow run](%s) has the details. ", j.RunURL)
	}
	b.WriteString("This check run is concluded late: GitHub did not accept the conclusion when the job ended. Nothing was pushed.\n")
	return JobOutput{Title: "Job ended (" + state + ")", Summary: b.String()}
}

// jobFacts writes the facts every job check run shows.
func jobFacts(b *strings.Builder, j JobInfo) {
	fmt.Fprintf(b, "| | |\n|---|---|\n| job | `%s` |\n| kind | %s (tier %s) |\n| triggered by | @%s, %s |\n",
		j.ID, j.Kind, j.Kind.Tier(), j.Actor, triggerText(j))
	if j.Static {
		b.WriteString("| mode | static checks only: a fork pull request gets no terraform init or plan, no secrets and no model |\n")
	}
	if strings.TrimSpace(j.Instructions) != "" {
		fmt.Fprintf(b, "\nInstructions (as given, treated as data):\n\n%s\n", fence(j.Instructions))
	}
}
