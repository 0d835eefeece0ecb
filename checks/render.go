package checks

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// RenderMarkdown renders the whole report as markdown: the plan summary, then
// per root its steps, errors, changes and findings. Nothing is cut; GitHub's
// limits apply to PlanCheck and PolicyCheck, not here.
func RenderMarkdown(r Report) string {
	var total PlanCounts
	for _, root := range r.Roots {
		if root.Plan != nil {
			total = addCounts(total, root.Plan.Counts)
		}
	}
	var b strings.Builder
	b.WriteString("## infra-agent check\n\n")
	b.WriteString(planSummary(r, total, unlimited))
	all := func(StepName) bool { return true }
	every := func(Finding) bool { return true }
	b.WriteString(renderSections(rootSections(r, sectionOpts{steps: all, changes: true, findings: every}), unlimited))
	if v := versionsLine(r.Versions); v != "" {
		b.WriteString("_" + escapeMarkdown(v) + "_\n")
	}
	return b.String()
}

// RenderText renders the whole report for a terminal, with ANSI colours when
// color is set (the caller decides: a TTY, no NO_COLOR).
func RenderText(r Report, color bool) string {
	p := painter(color)
	var total PlanCounts
	fails, warns := 0, 0
	for _, root := range r.Roots {
		if root.Plan != nil {
			total = addCounts(total, root.Plan.Counts)
		}
		for _, f := range root.Findings {
			if f.Severity == SeverityFailure {
				fails++
			} else {
				warns++
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s · %s · %s · %s, %s\n", p(bold, "infra-agent check"), plural(len(r.Roots), "root"),
		reportPhrase(r, total), plural(fails, "failure"), plural(warns, "warning"))
	for _, root := range r.Roots {
		b.WriteString("\n" + p(bold, terminalText(root.Dir)) + "\n")
		var steps []string
		for _, s := range root.Steps {
			steps = append(steps, string(s.Name)+" "+p(statusColor(s.Status), string(s.Status))+durationNote(s.Duration))
		}
		if len(steps) > 0 {
			b.WriteString("  " + strings.Join(steps, " · ") + "\n")
		}
		for _, s := range root.Steps {
			if (s.Status == StepError || s.Status == StepFailed) && s.Detail != "" {
				fmt.Fprintf(&b, "  %s:\n", p(red, string(s.Name)+" "+string(s.Status)))
				for _, l := range strings.Split(strings.TrimRight(terminalText(s.Detail), "\n"), "\n") {
					b.WriteString("    " + l + "\n")
				}
			}
		}
		if root.Plan != nil {
			b.WriteString("  " + planLine(root) + "\n")
			for _, c := range root.Plan.Changes {
				writeTextLines(&b, p, changeLines(c), c.Dangerous())
			}
			for _, a := range root.Plan.Actions {
				writeTextLines(&b, p, actionLines(a), false)
			}
			for _, o := range root.Plan.Outputs {
				writeTextLines(&b, p, outputLines(o), false)
			}
		}
		for _, f := range findingsOf(root, func(Finding) bool { return true }) {
			label := p(yellow, "WARN")
			if f.Severity == SeverityFailure {
				label = p(red, "FAIL")
			}
			b.WriteString("  " + label + " ")
			if loc := location(f); loc != "" {
				b.WriteString(terminalText(loc) + " ")
			}
			b.WriteString(oneLine(messagePlain(f.Message)))
			if rule := ruleName(f); rule != "" {
				b.WriteString(p(dim, " ["+terminalText(strings.Join(strings.Fields(f.PolicyID+" "+rule+" "+f.Policy), " "))+"]"))
			}
			if f.FixDeclared() {
				b.WriteString(p(dim, " (fix declared: infra-agent fix applies it)"))
			}
			b.WriteString("\n")
		}
	}
	if v := versionsLine(r.Versions); v != "" {
		b.WriteString("\n" + p(dim, terminalText(v)) + "\n")
	}
	return b.String()
}

func writeTextLines(b *strings.Builder, p func(string, string) string, lines []line, danger bool) {
	text := strings.Split(strings.TrimRight(Redact(diffText(lines)), "\n"), "\n")
	for i, t := range text {
		colour := symbolColor(lines[min(i, len(lines)-1)].sym)
		if i == 0 && danger {
			colour = red + bold
		}
		b.WriteString("    " + p(colour, terminalText(t)) + "\n")
	}
}

// ANSI styles.
const (
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

func painter(color bool) func(style, s string) string {
	return func(style, s string) string {
		if !color || style == "" {
			return s
		}
		return style + s + reset
	}
}

func statusColor(s StepStatus) string {
	switch s {
	case StepOK:
		return green
	case StepFailed, StepError:
		return red
	}
	return dim
}

func symbolColor(sym string) string {
	switch {
	case strings.HasPrefix(sym, "-"):
		return red
	case strings.HasPrefix(sym, "+"):
		return green
	case sym == "~" || sym == "<=":
		return yellow
	}
	return ""
}

// terminalText redacts s and drops control characters (but line breaks and
// tabs), so untrusted text cannot move the cursor or recolour the terminal.
func terminalText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, Redact(s))
}

// versionsLine renders "conftest 0.71.1, opa 1.21.1, terraform 1.5.7".
func versionsLine(v map[string]string) string {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, name+" "+v[name])
	}
	return strings.Join(parts, ", ")
}

// The JSON report (--format json). Field names are a contract (DESIGN.md):
// roots[].dir, roots[].plan.{create,update,delete,replace}, findings[].{message,file,line,severity}.
type jsonReport struct {
	Roots    []jsonRoot        `json:"roots"`
	Findings []jsonFinding     `json:"findings"`
	Versions map[string]string `json:"versions"`
}

// jsonFinding is a Finding whose file and line are always present, as the
// contract lists them: "" and 0 when the finding has no location.
type jsonFinding struct {
	Finding
	File string `json:"file"`
	Line int    `json:"line"`
}

// redactFinding redacts every text of a finding: policy messages, addresses
// (for_each keys are values), names and metadata all come from user content.
func redactFinding(f Finding) Finding {
	for _, s := range []*string{&f.Message, &f.File, &f.Source, &f.Policy, &f.Namespace, &f.Rule, &f.Address, &f.Root, &f.PolicyID} {
		*s = Redact(*s)
	}
	if f.Metadata != nil {
		f.Metadata, _ = MapStrings(f.Metadata, Redact).(map[string]any)
	}
	return f
}

// MapStrings returns a copy of a decoded JSON value with f applied to its
// strings, object keys included: to redact or mask a policy result's
// metadata without changing the result.
func MapStrings(v any, f func(string) string) any {
	switch t := v.(type) {
	case string:
		return f(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[f(k)] = MapStrings(x, f)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = MapStrings(x, f)
		}
		return out
	}
	return v
}

type jsonRoot struct {
	Dir   string    `json:"dir"`
	Steps []Step    `json:"steps"`
	Plan  *jsonPlan `json:"plan"`
}

type jsonPlan struct {
	PlanCounts
	FormatVersion    string       `json:"format_version,omitempty"`
	TerraformVersion string       `json:"terraform_version,omitempty"`
	Errored          bool         `json:"errored,omitempty"`
	Incomplete       bool         `json:"incomplete,omitempty"`
	Changes          []jsonChange `json:"changes"`
	Actions          []jsonAction `json:"action_invocations,omitempty"`
}

type jsonChange struct {
	Address         string `json:"address"`
	Action          Action `json:"action"`
	PreviousAddress string `json:"previous_address,omitempty"`
	Reason          string `json:"reason,omitempty"`
	Importing       bool   `json:"importing,omitempty"`
	Deferred        string `json:"deferred,omitempty"`
	Dangerous       bool   `json:"dangerous,omitempty"`
}

type jsonAction struct {
	Address  string `json:"address"`
	Trigger  string `json:"trigger"`
	Deferred string `json:"deferred,omitempty"`
}

// RenderJSON renders the report as JSON: {"roots":[{"dir","steps","plan":
// {"create","update","delete","replace",…,"changes"}|null}],"findings":[…],
// "versions":{…}}. Messages and details are redacted.
func RenderJSON(r Report) ([]byte, error) {
	out := jsonReport{Roots: []jsonRoot{}, Findings: []jsonFinding{}, Versions: r.Versions}
	if out.Versions == nil {
		out.Versions = map[string]string{}
	}
	for _, root := range r.Roots {
		jr := jsonRoot{Dir: Redact(root.Dir), Steps: make([]Step, 0, len(root.Steps))}
		for _, s := range root.Steps {
			s.Detail = Redact(s.Detail)
			jr.Steps = append(jr.Steps, s)
		}
		if p := root.Plan; p != nil {
			jp := &jsonPlan{PlanCounts: p.Counts, FormatVersion: p.FormatVersion, TerraformVersion: p.TerraformVersion,
				Errored: p.Errored, Incomplete: p.Incomplete, Changes: make([]jsonChange, 0, len(p.Changes))}
			for _, c := range p.Changes {
				jp.Changes = append(jp.Changes, jsonChange{
					Address: Redact(c.Address), Action: c.Action, PreviousAddress: Redact(c.PreviousAddress),
					Reason: c.Reason, Importing: c.Importing, Deferred: c.Deferred, Dangerous: c.Dangerous(),
				})
			}
			for _, a := range p.Actions {
				jp.Actions = append(jp.Actions, jsonAction{Address: Redact(a.Address), Trigger: Redact(a.Trigger), Deferred: a.Deferred})
			}
			jr.Plan = jp
		}
		out.Roots = append(out.Roots, jr)
		for _, f := range findingsOf(root, func(Finding) bool { return true }) {
			f = redactFinding(f)
			out.Findings = append(out.Findings, jsonFinding{Finding: f, File: f.File, Line: f.Line})
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the JSON report: %w", err)
	}
	return append(b, '\n'), nil
}
