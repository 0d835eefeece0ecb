package checks

import (
	"cmp"
	"fmt"
	"strings"
)

// Conclusions of the infra-agent/plan and infra-agent/policy check runs.
const (
	ConclusionSuccess = "success"
	// ConclusionFailure: policy failures, or plan or validation errors.
	ConclusionFailure = "failure"
	// ConclusionNeutral: nothing was planned (or no policy was evaluated).
	ConclusionNeutral = "neutral"
)

// GitHub's limits on annotations, and our own bound per check run: past a
// thousand, more annotations are noise and cost an API request per fifty.
const (
	MaxAnnotationsPerRequest = 50
	MaxAnnotations           = 1000
	maxAnnotationMessage     = 8000 // GitHub allows 64 KB
	maxAnnotationTitle       = 255
)

// CheckOutput is everything one check run shows: its conclusion and output.
// Summary and Text are markdown within MaxOutputChars; Annotations may exceed
// fifty and are sent in batches (BatchAnnotations).
type CheckOutput struct {
	Title, Summary, Text string
	Conclusion           string
	Annotations          []Annotation
}

// Annotation marks a line of a file in the check run (a finding on a .tf line).
type Annotation struct {
	Path               string
	StartLine, EndLine int
	// Level is "failure", "warning" or "notice".
	Level, Message, Title, RawDetails string
}

// BatchAnnotations splits annotations into GitHub's batches of at most fifty
// per request.
func BatchAnnotations(a []Annotation) [][]Annotation {
	var batches [][]Annotation
	for len(a) > 0 {
		n := min(len(a), MaxAnnotationsPerRequest)
		batches = append(batches, a[:n:n])
		a = a[n:]
	}
	return batches
}

// truncatedFooter closes a text from which something was cut.
const truncatedFooter = "\n---\n_Some details were left out to fit GitHub's limit of 65,535 characters; " +
	"the counts are complete. `infra-agent check` prints the full report._\n"

// PlanCheck renders the infra-agent/plan check run: per root, the pipeline
// steps, plan counts and changes (deletes and replaces first and flagged), and
// validation diagnostics as annotations.
func PlanCheck(r Report) CheckOutput {
	var total PlanCounts
	planned, failed := 0, 0
	for _, root := range r.Roots {
		if ok, _ := rootStatus(root, isPlanStep); !ok {
			failed++
		}
		if root.Plan != nil {
			planned++
			total = addCounts(total, root.Plan.Counts)
		}
	}
	out := CheckOutput{Conclusion: ConclusionSuccess}
	switch {
	case failed > 0:
		out.Conclusion = ConclusionFailure
		out.Title = fmt.Sprintf("Failed in %d of %s", failed, plural(len(r.Roots), "root"))
	case planned == 0:
		out.Conclusion = ConclusionNeutral
		out.Title = "Nothing to plan"
		if len(r.Roots) > 0 {
			out.Title = "Not planned (static checks only)"
		}
	default:
		out.Title = capitalize(planPhrase(total))
	}
	out.Summary = planSummary(r, total, MaxOutputChars)
	keep := func(f Finding) bool { return !policyFinding(f) }
	out.Text = renderSections(rootSections(r, sectionOpts{steps: isPlanStep, changes: true, findings: keep}), MaxOutputChars)
	out.Annotations, out.Summary = annotations(r, keep, out.Summary)
	return out
}

// PolicyCheck renders the infra-agent/policy check run: per root, the policy
// steps and findings; findings with a file become annotations on their line.
func PolicyCheck(r Report) CheckOutput {
	fails, warns, ran, errored := 0, 0, false, false
	for _, root := range r.Roots {
		for _, s := range root.Steps {
			if isPolicyStep(s.Name) && s.Status != StepSkipped {
				ran = true
				errored = errored || s.Status == StepError
			}
		}
		for _, f := range findingsOf(root, policyFinding) {
			if f.Severity == SeverityFailure {
				fails++
			} else {
				warns++
			}
		}
	}
	out := CheckOutput{Conclusion: ConclusionSuccess}
	switch {
	case errored:
		out.Conclusion, out.Title = ConclusionFailure, "Policy evaluation failed"
	case fails > 0:
		out.Conclusion = ConclusionFailure
	case !ran && warns == 0:
		out.Conclusion, out.Title = ConclusionNeutral, "No policy evaluated"
	}
	if out.Title == "" {
		out.Title = "No policy findings"
		if fails+warns > 0 {
			out.Title = plural(fails, "failure") + ", " + plural(warns, "warning")
		}
	}
	out.Summary = clamp(policySummary(r, fails, warns), MaxOutputChars)
	out.Text = renderSections(rootSections(r, sectionOpts{steps: isPolicyStep, findings: policyFinding}), MaxOutputChars)
	out.Annotations, out.Summary = annotations(r, policyFinding, out.Summary)
	return out
}

// renderSections fits sections into limit and joins them, with the
// truncation footer when something was cut.
func renderSections(sections []*section, limit int) string {
	cut := fitSections(sections, limit, truncatedFooter)
	var b strings.Builder
	for _, s := range sections {
		s.render(&b)
	}
	if cut {
		return clamp(b.String(), limit-len(truncatedFooter)) + truncatedFooter
	}
	return clamp(b.String(), limit)
}

// annotations turns the findings keep selects that have a file into
// annotations, failures first, at most MaxAnnotations; past that, summary
// gains a note saying so.
func annotations(r Report, keep func(Finding) bool, summary string) ([]Annotation, string) {
	var fails, warns []Annotation
	for _, root := range r.Roots {
		for _, f := range findingsOf(root, keep) {
			if f.File == "" {
				continue
			}
			a := annotationOf(f)
			if a.Level == "failure" {
				fails = append(fails, a)
			} else {
				warns = append(warns, a)
			}
		}
	}
	all := append(fails, warns...)
	if len(all) <= MaxAnnotations {
		return all, summary
	}
	note := fmt.Sprintf("\n_Annotations mark the first %s of %s findings on files; the text lists them all as far as it fits._\n",
		thousands(MaxAnnotations), thousands(len(all)))
	return all[:MaxAnnotations], clamp(summary, MaxOutputChars-len(note)) + note
}

func annotationOf(f Finding) Annotation {
	start := max(f.Line, 1)
	level := "notice"
	switch f.Severity {
	case SeverityFailure:
		level = "failure"
	case SeverityWarning:
		level = "warning"
	}
	var details []string
	for _, d := range []struct{ name, v string }{
		{"resource", f.Address}, {"policy id", f.PolicyID}, {"policy", f.Policy}, {"rule", ruleName(f)}, {"root", f.Root},
	} {
		if d.v != "" {
			details = append(details, d.name+": "+d.v)
		}
	}
	message, title := f.Message, ruleName(f)
	if policyFinding(f) {
		// Annotations are plain text: the message's markup is taken out.
		message = messagePlain(message)
	}
	if f.PolicyID != "" {
		title = f.PolicyID + ": " + title
	}
	return Annotation{
		Path:       f.File,
		StartLine:  start,
		EndLine:    max(f.EndLine, start),
		Level:      level,
		Message:    truncate(Redact(cmp.Or(message, "(no message)")), maxAnnotationMessage),
		Title:      truncate(Redact(title), maxAnnotationTitle),
		RawDetails: truncate(Redact(strings.Join(details, "\n")), maxAnnotationMessage),
	}
}

// ErrorCheck renders a check run whose pipeline stopped without a result: a
// failure, since no result must never read as a pass, with the error
// (redacted) as the explanation.
func ErrorCheck(err error) CheckOutput {
	return CheckOutput{
		Title:      "infra-agent could not finish",
		Summary:    "The validation pipeline stopped before it had a result, so this check cannot pass. The error:\n\n" + fence(err.Error()) + "\n",
		Conclusion: ConclusionFailure,
	}
}
