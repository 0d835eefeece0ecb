package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/infra-agent/infra-agent/wire"
)

// The texts of a write job's end: its check run, and the comment, thread
// reply or pull request that carries its change.

// WriteOutcome is where a write job's change went.
type WriteOutcome string

// The outcomes of a fix or remediation job.
const (
	// WritePushed: a commit was pushed to the pull request's branch.
	WritePushed WriteOutcome = "pushed"
	// WriteOpened: a remediation pull request was opened.
	WriteOpened WriteOutcome = "opened"
	// WriteSuggested: nothing was pushed; the change was offered as review
	// suggestions (an unprotected base branch, a fork).
	WriteSuggested WriteOutcome = "suggested"
	// WriteCommented: the change needs review and the repository does not
	// push such changes; its diff was posted as a comment.
	WriteCommented WriteOutcome = "commented"
	// WriteUnchanged: there was nothing to change, or the agent could not
	// make a change.
	WriteUnchanged WriteOutcome = "unchanged"
	// WriteMoved: the branch moved while the job ran; nothing was pushed.
	WriteMoved WriteOutcome = "moved"
	// WriteFailed: the job failed before or while writing; nothing was left
	// half-done.
	WriteFailed WriteOutcome = "failed"
)

// FileStat is one changed file and its line counts.
type FileStat struct {
	Path             string
	Added, Removed   int
	Deleted, Created bool
}

// WriteResult is what a write job did, for the texts that report it. Texts
// from the agent (Subject, Summary, NeedsReview) and Reason are untrusted.
type WriteResult struct {
	Job     JobInfo
	Outcome WriteOutcome
	// Number is the pull request (fix) or issue (remediation).
	Number int

	// What the agent did.
	Subject     string
	Summary     string
	Files       []FileStat
	Diff        string
	Passed      bool // the last validation passed
	NeedsReview []string
	// Deterministic counts the fixes made without a model.
	Deterministic int
	Iterations    int
	MaxIterations int
	ModelCalls    int
	Tokens        int
	Model         string
	Duration      time.Duration

	// Where the change went. Head is the commit the job worked on.
	Head           string
	Commit         string
	CommitURL      string
	Branch         string
	PullRequest    int
	PullRequestURL string
	SuggestionsURL string
	// DiffOmittedFromSuggestions: some of the change is on lines the pull
	// request's diff does not show, where GitHub takes no suggestion.
	DiffOmittedFromSuggestions bool

	// Why it went nowhere: the branch moved (to MovedTo, empty when it was
	// deleted), the base branch lacks protection, or the job failed.
	MovedTo           string
	MissingProtection []string
	ProtectionNote    string
	Reason            string
}

// needsReview reports whether a human must look before the change is used.
func (r WriteResult) needsReview() bool { return len(r.NeedsReview) > 0 || !r.Passed }

// WriteCheckRun renders the conclusion and output of a write job's own check
// run: what changed and where, the validation, iterations, tokens and time,
// and, when nothing was pushed, why and what to do next.
func WriteCheckRun(r WriteResult) (string, JobOutput) {
	conclusion, title := "neutral", ""
	var b strings.Builder
	switch r.Outcome {
	case WritePushed:
		title = fmt.Sprintf("Pushed %s: %s", short(r.Commit), oneLine(r.Subject))
		fmt.Fprintf(&b, "Pushed [%s](%s) to %s.\n\n", short(r.Commit), r.CommitURL, inlineCode(r.Branch))
		if !r.needsReview() {
			conclusion = "success"
		}
	case WriteOpened:
		title = fmt.Sprintf("Opened #%d: %s", r.PullRequest, oneLine(r.Subject))
		fmt.Fprintf(&b, "Opened [pull request #%d](%s) from %s ([%s](%s)).\n\n", r.PullRequest, r.PullRequestURL,
			inlineCode(r.Branch), short(r.Commit), r.CommitURL)
		if !r.needsReview() {
			conclusion = "success"
		}
	case WriteSuggested:
		title = "Suggested, not pushed"
		b.WriteString(suggestedWhy(r))
	case WriteCommented:
		title = "Needs review: the diff is in a comment"
		b.WriteString("The change needs a human's review before it is pushed, and this repository does not push such changes " +
			"(`fix.push_needs_review` is off): its diff is in a comment on the pull request. Apply it yourself, or set " +
			"`fix.push_needs_review: true` on the default branch to have such changes pushed.\n\n")
	case WriteUnchanged:
		title = "Nothing changed"
		if r.needsReview() {
			conclusion = "neutral"
			b.WriteString("The agent made no change that passes validation; nothing was pushed.\n\n")
		} else {
			conclusion = "success"
			b.WriteString("There was nothing to fix: validation passes as it is.\n\n")
		}
	case WriteMoved:
		title = "Nothing pushed: the branch moved"
		b.WriteString(movedText(r))
	case WriteFailed:
		conclusion, title = "failure", "Failed; nothing was pushed"
		fmt.Fprintf(&b, "The job failed and pushed nothing:\n\n%s\n\n%s\n\n", fence(r.Reason), retryHint(r.Job))
	}
	writeFacts(&b, r)
	return conclusion, JobOutput{Title: truncate(title, 255), Summary: truncate(b.String(), MaxOutputChars)}
}

// writeFacts renders what changed, the validation and the costs.
func writeFacts(b *strings.Builder, r WriteResult) {
	if s := strings.TrimSpace(untrusted(r.Summary)); s != "" {
		// The model's words may echo untrusted input: fenced, they cannot
		// mention anyone or render markup.
		fmt.Fprintf(b, "**Summary** (the agent's words)\n\n%s\n\n", CodeFence("text", s))
	}
	if len(r.Files) > 0 {
		b.WriteString("**Changes**\n\n")
		for _, f := range r.Files {
			switch {
			case f.Deleted:
				fmt.Fprintf(b, "- %s deleted\n", inlineCode(f.Path))
			case f.Created:
				fmt.Fprintf(b, "- %s new (+%d)\n", inlineCode(f.Path), f.Added)
			default:
				fmt.Fprintf(b, "- %s (+%d −%d)\n", inlineCode(f.Path), f.Added, f.Removed)
			}
		}
		b.WriteString("\n")
	}
	if r.MaxIterations == 0 {
		return // the agent never ran: no validation, no cost
	}
	b.WriteString("**Validation**: ")
	switch {
	case r.Passed && len(r.NeedsReview) == 0:
		b.WriteString("passed")
	default:
		b.WriteString("needs review")
	}
	fmt.Fprintf(b, " after %d of %d %s.\n", r.Iterations, r.MaxIterations, pluralWord(r.MaxIterations, "iteration"))
	for _, reason := range r.NeedsReview {
		fmt.Fprintf(b, "- %s\n", oneLine(reason))
	}
	b.WriteString("\n")
	model := "no model (deterministic fixes only)"
	if r.ModelCalls > 0 {
		model = fmt.Sprintf("%s: %s, %s tokens", inlineCode(r.Model), plural(r.ModelCalls, "call"), thousands(r.Tokens))
	}
	fmt.Fprintf(b, "| fixes without a model | model | time |\n|---|---|---|\n| %d | %s | %s |\n",
		r.Deterministic, model, r.Duration.Round(time.Second))
}

func pluralWord(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// retryHint says how to run the job again.
func retryHint(j JobInfo) string {
	if j.Source == "issues" {
		return "Remove and add the label again to retry."
	}
	return "Comment `/agent fix` to try again."
}

func movedText(r WriteResult) string {
	if r.MovedTo == "" {
		return fmt.Sprintf("The branch %s was deleted while the job ran; nothing was pushed.\n\n", inlineCode(r.Branch))
	}
	return fmt.Sprintf("The branch %s moved to %s while the job ran, so the fix (made on %s) was not pushed: "+
		"infra-agent never overwrites a push. Comment `/agent fix` to run again on the new head.\n\n",
		inlineCode(r.Branch), short(r.MovedTo), short(r.Head))
}

func suggestedWhy(r WriteResult) string {
	var b strings.Builder
	b.WriteString(protectionWhy(r))
	if r.SuggestionsURL != "" {
		fmt.Fprintf(&b, "The fix is offered as [suggestions](%s): apply them with one click.\n\n", r.SuggestionsURL)
	} else {
		b.WriteString("The fix is offered as suggestions on the pull request.\n\n")
	}
	return b.String()
}

// protectionWhy says why a change was not pushed: a fork, or a base branch
// nothing protects against an unreviewed merge.
func protectionWhy(r WriteResult) string {
	switch {
	case r.Job.Static:
		return "This pull request comes from a fork: infra-agent never pushes to a fork's branch. "
	case len(r.MissingProtection) > 0:
		what := "fixes pushed"
		if r.Job.Kind == wire.KindRemediate {
			what = "remediation pull requests opened"
		}
		return "Nothing would stop an unreviewed merge of an agent's change into the base branch, so infra-agent does not push: " +
			strings.Join(r.MissingProtection, "; ") + ". Require a pull request review on the base branch (branch protection " +
			"or a ruleset that this App cannot bypass) to have " + what + ".\n\n"
	}
	return ""
}
