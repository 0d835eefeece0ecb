package loop

import (
	"fmt"
	"strings"

	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/checks/redact"
)

// Text renders the result for a terminal: the outcome and why, what was
// fixed deterministically and by the model, the diff, the validation, and
// the counts.
func (r Result) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", r.Kind, strings.ToUpper(strings.ReplaceAll(string(r.Status), "_", " ")))
	for _, reason := range r.NeedsReview {
		fmt.Fprintf(&b, "  needs review: %s\n", reason)
	}
	if len(r.Deterministic) > 0 {
		b.WriteString("\nFixed without a model:\n")
		for _, d := range r.Deterministic {
			fmt.Fprintf(&b, "  - [%s] %s\n      for %s\n", d.Kind, d.Description, brief.Line(d.Finding))
		}
	}
	for _, s := range r.DeterministicSkipped {
		fmt.Fprintf(&b, "  declared fix not applied: %s: %s\n", brief.Line(s.Finding), s.Reason)
	}
	if r.ModelCalls > 0 {
		fmt.Fprintf(&b, "\nModel %s: %d call(s), %d tokens (%d in, %d out), %d validation iteration(s) of %d\n",
			r.Model, r.ModelCalls, r.Tokens.Total(), r.Tokens.Input, r.Tokens.Output, r.Iterations, r.MaxIterations)
		if r.Summary != "" {
			fmt.Fprintf(&b, "  summary: %s\n", strings.ReplaceAll(r.Summary, "\n", "\n           "))
		}
	} else {
		b.WriteString("\nModel calls: 0\n")
	}
	for _, ref := range r.Refusals {
		fmt.Fprintf(&b, "  refused %s: %s\n", ref.Tool, ref.Reason)
	}
	if len(r.Remaining) > 0 {
		fmt.Fprintf(&b, "\nStill to fix (%d):\n", len(r.Remaining))
		for _, f := range r.Remaining {
			fmt.Fprintf(&b, "  - %s\n", brief.Line(f))
		}
	}
	for _, f := range r.NewFailures {
		fmt.Fprintf(&b, "  new failure: %s\n", brief.Line(f))
	}
	for _, i := range r.IAM {
		fmt.Fprintf(&b, "  IAM change to check: %s\n", i)
	}
	for _, c := range r.ReviewComments {
		fmt.Fprintf(&b, "  comment %s:%d (model's opinion): %s\n", c.Path, c.Line, c.Body)
	}
	b.WriteString("\nValidation:\n")
	b.WriteString(brief.Status(r.Validation.Report))
	if r.Diff != "" {
		b.WriteString("\n")
		b.WriteString(r.Diff)
	} else {
		b.WriteString("\nNo change.\n")
	}
	return redact.String(b.String())
}
