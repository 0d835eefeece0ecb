package checks

import (
	"fmt"
	"strings"

	"github.com/infra-agent/infra-agent/wire"
)

// The job check run while a runner has it, and when the runner reports.

// maxRunnerSummary bounds the summary a runner sends before it is rendered
// into a check run: what it says is shown, what is beyond GitHub's limit is
// cut with a mark.
const maxRunnerSummary = 60000

// JobClaimed renders the check run of a job a runner just claimed.
func JobClaimed(j JobInfo) JobOutput {
	var b strings.Builder
	fmt.Fprintf(&b, "Job `%s` is running", j.ID)
	if j.RunURL != "" {
		fmt.Fprintf(&b, " in [its workflow run](%s)", j.RunURL)
	}
	b.WriteString(".\n\n")
	jobFacts(&b, j)
	return JobOutput{Title: "Running", Summary: b.String()}
}

// JobProgress renders the check run of a running job with the runner's
// latest progress line (untrusted: it is rendered inert).
func JobProgress(j JobInfo, progress string) JobOutput {
	out := JobClaimed(j)
	if p := strings.TrimSpace(progress); p != "" {
		out.Title = truncate("Running: "+oneLine(p), 255)
		out.Summary = fmt.Sprintf("Latest progress: %s\n\n", inlineCode(p)) + out.Summary
	}
	return out
}

// JobCompleted renders the check run of a job its runner completed: the
// runner's title and summary, the roots, the other check runs it published
// and its warnings.
func JobCompleted(j JobInfo, c wire.Complete) JobOutput {
	title := strings.TrimSpace(oneLine(c.Title))
	if title == "" {
		title = "Job " + string(c.Status)
	}
	var b strings.Builder
	if s := strings.TrimSpace(Redact(c.Summary)); s != "" {
		b.WriteString(truncate(s, maxRunnerSummary))
		b.WriteString("\n\n")
	}
	if len(c.Warnings) > 0 {
		b.WriteString("**Warnings**\n\n")
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "- ⚠️ %s\n", oneLine(w))
		}
		b.WriteString("\n")
	}
	if len(c.Roots) > 0 {
		b.WriteString("| root | result | create | update | delete | replace | failures | warnings |\n|---|---|---|---|---|---|---|---|\n")
		for _, r := range c.Roots {
			result, counts := "ok", "| | | | "
			if r.Failed {
				result = "failed"
			}
			if r.Plan != nil {
				counts = fmt.Sprintf("| %d | %d | %d | %d ", r.Plan.Create, r.Plan.Update, r.Plan.Delete, r.Plan.Replace)
			}
			fmt.Fprintf(&b, "| %s | %s %s| %d | %d |\n", inlineCode(r.Dir), result, counts, r.Failures, r.Warnings)
		}
		b.WriteString("\n")
	}
	for _, p := range c.Published {
		fmt.Fprintf(&b, "- %s: %s\n", inlineCode(p.Name), inlineCode(p.Conclusion))
	}
	if j.RunURL != "" {
		fmt.Fprintf(&b, "\n[The workflow run](%s) has the full log.\n", j.RunURL)
	}
	return JobOutput{Title: truncate(title, 255), Summary: truncate(b.String(), MaxOutputChars)}
}

// JobRunnerEnded renders the check run of a job that ended on the runner's
// side without a complete: the broker could not hand it a token, or the
// runner's credentials were refused.
func JobRunnerEnded(j JobInfo, reason string) JobOutput {
	var b strings.Builder
	fmt.Fprintf(&b, "Job `%s` could not run:\n\n%s\n\nNothing was pushed. Comment again to retry.\n", j.ID, fence(reason))
	return JobOutput{Title: "The runner could not start", Summary: b.String()}
}

// JobOrphaned renders a check run the runner started and could not finish
// because its job ended first (state: timed_out, cancelled, ...).
func JobOrphaned(j JobInfo, state string) JobOutput {
	return JobOutput{
		Title: "Job ended (" + state + ")",
		Summary: fmt.Sprintf("Job `%s` ended (%s) before its runner finished this check run. Nothing was pushed.\n",
			j.ID, inlineCode(state)),
	}
}
