package checks

import (
	"fmt"
	"strings"
	"time"
)

// escapeMarkdown makes untrusted text (policy messages) inert in a markdown
// line or table cell: redacted, on one line, without control characters, and
// with the punctuation markdown acts on escaped.
func escapeMarkdown(s string) string {
	var b strings.Builder
	escapeInto(&b, oneLine(s))
	return b.String()
}

// escapeInto writes s with the punctuation markdown acts on escaped.
func escapeInto(b *strings.Builder, s string) {
	for _, r := range s {
		if r < 0x80 && strings.IndexByte(markdownPunctuation, byte(r)) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
}

// rootStatus summarises a root's pipeline run in a few words: the first of
// the steps selected that could not complete (what blocked the root), else
// the first that failed, else what its plan does.
func rootStatus(r RootResult, steps func(StepName) bool) (ok bool, text string) {
	for _, want := range []StepStatus{StepError, StepFailed} {
		for _, s := range r.Steps {
			if steps(s.Name) && s.Status == want {
				return false, string(s.Name) + " " + string(want)
			}
		}
	}
	switch {
	case r.Plan != nil && r.Plan.Errored && steps(StepPlan):
		return false, "plan errored"
	case r.Plan != nil && r.Plan.Counts.Changes():
		return true, "planned"
	case r.Plan != nil && r.Plan.Counts.Deferred > 0:
		return true, "no current changes"
	case r.Plan != nil:
		return true, "no changes"
	case len(r.Steps) == 0:
		return true, "not run"
	}
	return true, "not planned"
}

// capitalize upper-cases the first letter of an ASCII phrase.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// stepIcon is the markdown marker of a step status.
func stepIcon(s StepStatus) string {
	switch s {
	case StepOK:
		return "✅"
	case StepFailed, StepError:
		return "❌"
	case StepSkipped:
		return "⏭️"
	}
	return "❔"
}

// stepsMarkdown renders "fmt ✅ · validate ✅ · plan ❌ (1.2s)".
func stepsMarkdown(steps []Step) string {
	parts := make([]string, 0, len(steps))
	for _, s := range steps {
		parts = append(parts, string(s.Name)+" "+stepIcon(s.Status)+durationNote(s.Duration))
	}
	return strings.Join(parts, " · ")
}

func durationNote(d time.Duration) string {
	if d < 100*time.Millisecond {
		return ""
	}
	return " (" + d.Round(100*time.Millisecond).String() + ")"
}

// stepErrors renders the details of steps that errored or failed, in a code
// block each: terraform's own diagnostics are the most useful explanation.
func stepErrors(steps []Step, names func(StepName) bool) string {
	var b strings.Builder
	for _, s := range steps {
		if !names(s.Name) || (s.Status != StepError && s.Status != StepFailed) || s.Detail == "" {
			continue
		}
		fmt.Fprintf(&b, "**%s %s:**\n\n%s\n\n", s.Name, s.Status, fence(s.Detail))
	}
	return b.String()
}

// cutBytes returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// isPlanStep reports whether a step belongs to the infra-agent/plan check run
// (everything but the policy steps).
func isPlanStep(n StepName) bool { return n != StepPolicyHCL && n != StepPolicyPlan }

func isPolicyStep(n StepName) bool { return !isPlanStep(n) }

// policyFinding reports whether a finding belongs to the infra-agent/policy
// check run; validation diagnostics (validate, fmt, init, plan) belong to the
// plan check run.
func policyFinding(f Finding) bool { return f.Source == "" || f.Source == "policy" }

// findingsOf returns a root's findings that keep says belong, failures first,
// with Root filled in.
func findingsOf(r RootResult, keep func(Finding) bool) []Finding {
	var fails, warns []Finding
	for _, f := range r.Findings {
		if !keep(f) {
			continue
		}
		if f.Root == "" {
			f.Root = r.Dir
		}
		if f.Severity == SeverityFailure {
			fails = append(fails, f)
		} else {
			warns = append(warns, f)
		}
	}
	return append(fails, warns...)
}

// location renders "path/main.tf:12" (or "" without a file).
func location(f Finding) string {
	switch {
	case f.File == "":
		return ""
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

// RuleName names the Rego rule of a policy finding, "main.deny" (or "deny"
// without a namespace); "" when the finding has no rule.
func (f Finding) RuleName() string {
	switch {
	case f.Namespace != "" && f.Rule != "":
		return f.Namespace + "." + f.Rule
	case f.Rule != "":
		return f.Rule
	}
	return ""
}

// ruleName renders "main.deny" for a policy finding, or the source.
func ruleName(f Finding) string {
	if r := f.RuleName(); r != "" {
		return r
	}
	return f.Source
}
