package loop

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/checks/redact"
)

// Subject is a one-line description of the change, for a commit subject or
// a pull request title (without the "needs review" mark).
func (r Result) Subject() string {
	var rules []string
	for _, f := range r.Targets {
		name := f.Rule
		if name == "" {
			name = f.Source
		}
		if name != "" && !contains(rules, name) {
			rules = append(rules, name)
		}
	}
	s := "fix: " + plural(len(r.Targets), "finding")
	if len(rules) > 0 {
		s += " (" + strings.Join(rules, ", ") + ")"
	}
	if len(r.Targets) == 0 {
		s = "fix: infra-agent change"
	}
	if len(s) > 72 {
		s = s[:71] + "…"
	}
	return brief.Sanitize(s, 80)
}

// CommitMessage is the commit message of the change: subject, what changed
// and how it validated, and trailers (job, run, requester, iterations,
// validation, model, tokens).
func (r Result) CommitMessage(requestedBy string) string {
	var b strings.Builder
	b.WriteString(r.Subject() + "\n\n")
	if r.Summary != "" {
		b.WriteString(r.Summary + "\n\n")
	}
	for _, d := range r.Deterministic {
		fmt.Fprintf(&b, "- %s (deterministic, %s)\n", d.Description, d.Kind)
	}
	for _, f := range r.Targets {
		if !contains(findingLines(r.Remaining), brief.Line(f)) {
			fmt.Fprintf(&b, "- fixes %s\n", brief.Line(f))
		}
	}
	if r.Status == StatusNeedsReview {
		b.WriteString("\nNeeds review:\n")
		for _, reason := range r.NeedsReview {
			fmt.Fprintf(&b, "- %s\n", reason)
		}
	}
	b.WriteString("\n")
	trailer := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.ReplaceAll(v, "\n", " "))
		}
	}
	trailer("Infra-Agent-Job", r.JobID)
	trailer("Infra-Agent-Run", r.RunID)
	if requestedBy != "" {
		trailer("Requested-by", "@"+brief.Sanitize(requestedBy, 64))
	}
	trailer("Infra-Agent-Iterations", fmt.Sprintf("%d/%d", r.Iterations, r.MaxIterations))
	trailer("Infra-Agent-Validation", r.validationWord())
	model := r.Model
	if r.ModelCalls == 0 {
		model = "none (deterministic)"
	}
	trailer("Infra-Agent-Model", model)
	trailer("Infra-Agent-Tokens", fmt.Sprint(r.Tokens.Total()))
	return redact.String(b.String())
}

func (r Result) validationWord() string {
	switch {
	case r.Status == StatusFixed:
		return "passed"
	case r.Status == StatusClean:
		return "clean"
	}
	return "needs review"
}

// PullRequestBody renders the guide's pull request template: Summary,
// Changes, Validation, Plan Output, Finding Details, and what needs review.
// The write-back adds the links (Fixes #n).
func (r Result) PullRequestBody() string {
	var b strings.Builder
	b.WriteString("## Summary\n\n")
	if r.Summary != "" {
		b.WriteString(r.Summary + "\n\n")
	} else {
		fmt.Fprintf(&b, "%s.\n\n", r.Subject())
	}
	b.WriteString("## Changes\n\n")
	for _, f := range r.Files {
		a, d := guard.Lines(guard.FileDiff{Path: f.Path, Before: f.Original, After: f.Content})
		fmt.Fprintf(&b, "- `%s` (+%d −%d)\n", f.Path, a, d)
	}
	for _, d := range r.Deterministic {
		fmt.Fprintf(&b, "- deterministic (%s, no model): %s\n", d.Kind, d.Description)
	}
	b.WriteString("\n## Validation\n\n")
	fmt.Fprintf(&b, "- Result: **%s**\n", strings.ToUpper(r.validationWord()))
	fmt.Fprintf(&b, "- Targeted findings remaining: %d of %d\n", len(r.Remaining), len(r.Targets))
	fmt.Fprintf(&b, "- Iterations: %d of %d; model calls: %d; tokens: %d\n", r.Iterations, r.MaxIterations, r.ModelCalls, r.Tokens.Total())
	if r.Limit != "" {
		fmt.Fprintf(&b, "- Stopped by the %s budget\n", r.Limit)
	}
	b.WriteString("\n## Plan Output\n\n```\n")
	for _, root := range r.Validation.Roots {
		if root.Plan == nil {
			fmt.Fprintf(&b, "%s: no plan\n", root.Dir)
			continue
		}
		fmt.Fprintf(&b, "%s: +%d ~%d -%d ±%d\n", root.Dir, root.Plan.Create, root.Plan.Update, root.Plan.Delete, root.Plan.Replace)
	}
	for _, c := range append(r.Plan.Destroys, r.Plan.OutOfScope...) {
		fmt.Fprintf(&b, "! %s\n", c)
	}
	b.WriteString("```\n\n## Finding Details\n\n")
	if len(r.Targets) == 0 {
		b.WriteString("No finding: the change follows the instructions.\n")
	}
	for _, f := range r.Targets {
		state := "fixed"
		if contains(findingLines(r.Remaining), brief.Line(f)) {
			state = "remains"
		}
		fmt.Fprintf(&b, "- %s — %s — %s\n", state, f.Severity, brief.Line(f))
	}
	if len(r.NeedsReview) > 0 || len(r.IAM) > 0 {
		b.WriteString("\n## Needs Review\n\n")
		for _, reason := range r.NeedsReview {
			fmt.Fprintf(&b, "- %s\n", reason)
		}
		for _, i := range r.IAM {
			fmt.Fprintf(&b, "- IAM change for a human to check: %s\n", i)
		}
	}
	return redact.String(b.String())
}

// Suggestion is a change to lines of a file as a GitHub review suggestion:
// lines StartLine..EndLine of the original file become Replacement.
type Suggestion struct {
	Path        string `json:"path"`
	StartLine   int    `json:"start_line"`
	EndLine     int    `json:"end_line"`
	Replacement string `json:"replacement"`
}

// Suggestions turns the change into line suggestions on the original files
// (new and deleted files cannot be suggested and are left out).
func (r Result) Suggestions() []Suggestion {
	var out []Suggestion
	for _, f := range r.Files {
		if f.Original == nil || f.Deleted {
			continue
		}
		a, b := lines(f.Original), lines(f.Content)
		for _, op := range difflib.NewMatcher(a, b).GetOpCodes() {
			if op.Tag == 'e' {
				continue
			}
			s := Suggestion{Path: f.Path}
			repl := b[op.J1:op.J2]
			switch {
			case op.I1 < op.I2:
				s.StartLine, s.EndLine = op.I1+1, op.I2
			case op.I1 > 0: // an insertion: anchored on the line before it
				s.StartLine, s.EndLine = op.I1, op.I1
				repl = append([]string{a[op.I1-1]}, repl...)
			default: // an insertion at the top: anchored on the first line
				s.StartLine, s.EndLine = 1, 1
				repl = append(append([]string(nil), repl...), a[0])
			}
			s.Replacement = strings.Join(repl, "")
			out = append(out, s)
		}
	}
	return out
}

// lines splits a file into lines that keep their newline (a last line
// without one gets one).
func lines(data []byte) []string {
	text := string(data)
	if text == "" {
		return []string{""}
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	out := strings.SplitAfter(text, "\n")
	return out[:len(out)-1]
}

func findingLines(fs []checks.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = brief.Line(f)
	}
	return out
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
