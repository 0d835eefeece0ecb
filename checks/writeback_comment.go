package checks

import (
	"fmt"
	"strings"
)

// The comments, thread replies and pull request texts of write jobs. Each
// is bounded by GitHub's comment limit (65,536 characters), the pull request
// body alike.

// Suggestion is one review suggestion: lines StartLine..EndLine of Path (in
// the pull request's head) become Replacement.
type Suggestion struct {
	Path               string
	StartLine, EndLine int
	Replacement        string
}

// SuggestionBlock renders GitHub's suggestion block of a review comment:
// the replacement of the commented lines, whole lines each ending in a
// newline, with a fence longer than any backtick run in it. An empty
// replacement deletes the lines: an empty block, not one blank line.
func SuggestionBlock(replacement string) string {
	if replacement == "" {
		return "```suggestion\n```"
	}
	return CodeFence("suggestion", strings.TrimSuffix(replacement, "\n"))
}

// SuggestionBody renders a review comment that suggests a replacement, with
// a fence longer than any backtick run in it.
func SuggestionBody(intro string, s Suggestion) string {
	body := SuggestionBlock(Redact(s.Replacement)) + "\n"
	if intro != "" {
		body = intro + "\n\n" + body
	}
	return truncate(body, maxComment)
}

// SuggestionsReview renders the body of the review that offers a change as
// suggestions: why it was not pushed, and the whole diff when some of it
// could not be placed on lines of the pull request's diff.
func SuggestionsReview(r WriteResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**infra-agent: a fix for review** (job `%s`)\n\n", r.Job.ID)
	b.WriteString(protectionWhy(r) + "The fix is offered as the suggestions below.\n\n")
	if r.ProtectionNote != "" {
		b.WriteString(oneLine(r.ProtectionNote) + "\n\n")
	}
	if r.DiffOmittedFromSuggestions {
		b.WriteString("Some of the change is on lines outside this pull request's diff, where GitHub takes no suggestion; the whole change:\n\n")
		b.WriteString(diffBlock(r.Diff))
	}
	writeFacts(&b, r)
	return truncate(b.String(), maxComment)
}

// DiffComment renders the comment that carries a change needing review when
// the repository does not push such changes.
func DiffComment(r WriteResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**infra-agent: a fix that needs review** (job `%s`)\n\n", r.Job.ID)
	b.WriteString("The agent's change did not pass every check, so it was not pushed (`fix.push_needs_review` is off):\n\n")
	for _, reason := range r.NeedsReview {
		fmt.Fprintf(&b, "- %s\n", oneLine(reason))
	}
	b.WriteString("\n" + diffBlock(r.Diff))
	b.WriteString("To apply it, save the diff and run `git apply`, then push.\n")
	return truncate(b.String(), maxComment)
}

// MovedComment renders the comment that says a fix was not pushed because
// the branch moved (the job's check run is on a commit the pull request no
// longer shows).
func MovedComment(r WriteResult) string {
	return truncate(fmt.Sprintf("**infra-agent: nothing pushed** (job `%s`). %s", r.Job.ID, movedText(r)), maxComment)
}

// ThreadReply renders the answer to a `/agent fix` in a review comment: the
// pushed commit, or a one-click suggestion for the line when the fix could
// not be pushed, or why nothing changed.
func ThreadReply(r WriteResult, s *Suggestion) string {
	switch {
	case r.Outcome == WritePushed:
		return truncate(fmt.Sprintf("Pushed [%s](%s): %s\n", short(r.Commit), r.CommitURL, oneLine(r.Subject)), maxComment)
	case s != nil:
		intro := "A fix for this line (not pushed: " + notPushedReason(r) + ")."
		return SuggestionBody(intro, *s)
	case r.Outcome == WriteMoved:
		return MovedComment(r)
	case (r.Outcome == WriteSuggested || r.Outcome == WriteCommented) && r.Diff != "":
		return truncate(fmt.Sprintf("The fix (not pushed: %s) changes more than this line:\n\n%s", notPushedReason(r), diffBlock(r.Diff)), maxComment)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "No fix for this line (job `%s`): ", r.Job.ID)
	switch {
	case r.Outcome == WriteFailed:
		b.WriteString("the job failed. " + retryHint(r.Job) + "\n\n" + fence(r.Reason) + "\n")
	case len(r.NeedsReview) > 0:
		b.WriteString("the change needs review:\n\n")
		for _, reason := range r.NeedsReview {
			fmt.Fprintf(&b, "- %s\n", oneLine(reason))
		}
	default:
		b.WriteString("there was nothing to change.\n")
	}
	return truncate(b.String(), maxComment)
}

func notPushedReason(r WriteResult) string {
	switch {
	case r.Job.Static:
		return "the branch is a fork's"
	case len(r.MissingProtection) > 0:
		return "nothing protects the base branch against an unreviewed merge"
	case r.Outcome == WriteCommented:
		return "the change needs review"
	}
	return "see the check run"
}

// RemediationTitle is the title of a remediation pull request.
func RemediationTitle(issueTitle string, needsReview bool) string {
	t := "fix: " + oneLine(issueTitle)
	if needsReview {
		t = "[needs review] " + t
	}
	return truncate(t, 255)
}

// RemediationBody renders a remediation pull request's body: a needs-review
// banner when it applies, the agent's sections (Summary, Changes,
// Validation, Plan Output, Finding Details), the job's facts and the link
// that closes the issue.
func RemediationBody(r WriteResult, agentBody string) string {
	var b strings.Builder
	if r.needsReview() {
		b.WriteString("> [!WARNING]\n> **Needs review.** This change did not pass every check; it is a draft for a human to finish:\n")
		for _, reason := range r.NeedsReview {
			fmt.Fprintf(&b, "> - %s\n", oneLine(reason))
		}
		b.WriteString("\n")
	}
	footer := fmt.Sprintf("\n---\nOpened by infra-agent for @%s (job `%s`, %s, %s). infra-agent never merges: review and merge it yourself.\n\nFixes #%d\n",
		r.Job.Actor, r.Job.ID, plural(r.Iterations, "iteration"), modelWords(r), r.Number)
	body := Redact(strings.TrimSpace(agentBody)) + "\n"
	b.WriteString(truncate(body, maxComment-len(footer)-b.Len()-16))
	b.WriteString(footer)
	return b.String()
}

func modelWords(r WriteResult) string {
	if r.ModelCalls == 0 {
		return "no model"
	}
	return fmt.Sprintf("%s, %s tokens", oneLine(r.Model), thousands(r.Tokens))
}

// IssueWorking renders the comment a remediation job keeps on its issue
// while it runs; IssueDone replaces it when the job ends.
func IssueWorking(j JobInfo, checkRunURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**infra-agent is working on this issue** (job `%s`, requested by @%s).", j.ID, j.Actor)
	if checkRunURL != "" {
		fmt.Fprintf(&b, " Follow it in [its check run](%s).", checkRunURL)
	}
	b.WriteString(" This comment is updated when the job ends.\n")
	return b.String()
}

// IssueDone renders the remediation comment at the job's end.
func IssueDone(r WriteResult) string {
	var b strings.Builder
	switch r.Outcome {
	case WriteOpened:
		state := "ready for review"
		if r.needsReview() {
			state = "a draft that **needs review**"
		}
		fmt.Fprintf(&b, "**infra-agent opened #%d** for this issue (job `%s`): %s.\n", r.PullRequest, r.Job.ID, state)
	case WriteSuggested:
		fmt.Fprintf(&b, "**infra-agent did not open a pull request** (job `%s`). %s", r.Job.ID, protectionWhy(r))
		if d := diffBlock(r.Diff); d != "" {
			b.WriteString("The change it would have proposed:\n\n" + d)
		}
	case WriteCommented:
		fmt.Fprintf(&b, "**infra-agent could not fix this issue on its own** (job `%s`):\n\n", r.Job.ID)
		for _, reason := range r.NeedsReview {
			fmt.Fprintf(&b, "- %s\n", oneLine(reason))
		}
		b.WriteString("\n" + diffBlock(r.Diff))
	case WriteUnchanged:
		fmt.Fprintf(&b, "**infra-agent made no change** (job `%s`): ", r.Job.ID)
		if r.needsReview() {
			b.WriteString("it could not fix this issue.\n")
			for _, reason := range r.NeedsReview {
				fmt.Fprintf(&b, "- %s\n", oneLine(reason))
			}
		} else {
			b.WriteString("validation passes as it is.\n")
		}
	default:
		fmt.Fprintf(&b, "**infra-agent could not fix this issue** (job `%s`): nothing was pushed and no branch was left behind.\n\n%s\n\n%s\n",
			r.Job.ID, fence(r.Reason), retryHint(r.Job))
	}
	return truncate(b.String(), maxComment)
}

// AutofixCapComment renders the one comment posted when a pull request has
// used its automatic fix attempts (attempts of max, this App's pushes
// included): it asks for a human.
func AutofixCapComment(check string, attempts, max int) string {
	return fmt.Sprintf("**infra-agent stopped fixing this pull request automatically.** The check %s failed again after %s "+
		"(`autofix.max_attempts` is %d; pushes by infra-agent count). A human needs to look: comment `/agent fix` to ask for another attempt. "+
		"infra-agent will not comment again for other failing checks of this pull request.\n",
		inlineCode(check), plural(attempts, "fix attempt"), max)
}

// diffBlock renders a unified diff as a fenced diff block (redacted), cut to
// half a comment so the text around it always fits.
func diffBlock(diff string) string {
	d := strings.TrimRight(Redact(diff), "\n")
	if d == "" {
		return ""
	}
	return CodeFence("diff", truncate(d, maxComment/2)) + "\n\n"
}
