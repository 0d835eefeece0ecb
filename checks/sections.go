package checks

import (
	"fmt"
	"sort"
	"strings"
)

// Passes of fitSections: what gets space first when a text is too long.
const (
	passDanger  = 1 // deletes and replaces; failures without a file (nowhere else to see them)
	passMajor   = 2 // warnings without a file; failures with a file (also annotations)
	passChanges = 3 // other changes; warnings with a file
	passOutputs = 4 // output changes
)

// sectionOpts selects what per-root sections show.
type sectionOpts struct {
	steps    func(StepName) bool
	changes  bool
	findings func(Finding) bool
}

// rootSections builds, for each root, a section of its plan changes (with the
// root's heading, steps and errors) and a section of its findings.
func rootSections(r Report, o sectionOpts) []*section {
	var out []*section
	for _, root := range r.Roots {
		var head strings.Builder
		fmt.Fprintf(&head, "### %s\n\n", inlineCode(root.Dir))
		if steps := filterSteps(root.Steps, o.steps); len(steps) > 0 {
			head.WriteString(stepsMarkdown(steps) + "\n\n")
		}
		head.WriteString(stepErrors(root.Steps, o.steps))
		if o.changes {
			head.WriteString(planLine(root) + "\n\n")
		}
		changes := &section{head: head.String(), open: "```diff\n", close: "```\n\n", noun: "changes"}
		if o.changes && root.Plan != nil {
			changes.items = changeItems(root.Plan)
		}
		out = append(out, changes)
		if o.findings != nil {
			if fs := findingsOf(root, o.findings); len(fs) > 0 {
				out = append(out, &section{
					head:  fmt.Sprintf("**%s:**\n\n", plural(len(fs), "finding")),
					close: "\n",
					noun:  "findings",
					items: findingItems(fs),
				})
			}
		}
	}
	return out
}

func filterSteps(steps []Step, keep func(StepName) bool) []Step {
	var out []Step
	for _, s := range steps {
		if keep(s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// planLine is the root's plan result in one line.
func planLine(root RootResult) string {
	p := root.Plan
	switch {
	case p == nil:
		return "Not planned."
	case p.Errored:
		return "Planning failed: terraform reports an error in this plan, so it is incomplete; " +
			"what it planned before the error is below (" + countsPhrase(p.Counts) + ")."
	}
	s := "Plan: " + planPhrase(p.Counts) + "."
	if p.Incomplete {
		s += " Terraform says more changes will follow once this plan is applied."
	}
	return s
}

func changeItems(p *Plan) []item {
	items := make([]item, 0, len(p.Changes)+len(p.Actions)+len(p.Outputs))
	for _, c := range p.Changes {
		pass, kind := passChanges, string(c.Action)
		switch {
		case c.Dangerous():
			pass = passDanger
		case c.Deferred != "":
			kind = "deferred"
		case c.Action == ActionNoOp && c.Importing:
			kind = "import"
		case c.Action == ActionNoOp:
			kind = "moved"
		}
		items = append(items, item{pass: pass, kind: kind, render: func() (string, string) {
			return renderedLines(changeLines(c))
		}})
	}
	for _, a := range p.Actions {
		kind := "action"
		if a.Deferred != "" {
			kind = "deferred"
		}
		items = append(items, item{pass: passChanges, kind: kind, render: func() (string, string) {
			return renderedLines(actionLines(a))
		}})
	}
	for _, o := range p.Outputs {
		items = append(items, item{pass: passOutputs, kind: "output", render: func() (string, string) {
			return renderedLines(outputLines(o))
		}})
	}
	return items
}

// renderedLines is an item's diff text and its headline alone, redacted.
func renderedLines(lines []line) (string, string) {
	return Redact(diffText(lines)), Redact(diffText(lines[:1]))
}

func findingItems(fs []Finding) []item {
	items := make([]item, 0, len(fs))
	for _, f := range fs {
		failure := f.Severity == SeverityFailure
		pass := passChanges
		switch {
		case f.File == "" && failure:
			pass = passDanger
		case f.File == "" || failure:
			pass = passMajor
		}
		kind := "warning"
		if failure {
			kind = "failure"
		}
		items = append(items, item{pass: pass, kind: kind, render: func() (string, string) {
			return findingMarkdown(f), ""
		}})
	}
	return items
}

// findingMarkdown renders a finding as a list item:
// "- ❌ `envs/prod/main.tf:12` S3 bucket must be private — `S3-001` · `main.deny` in `s3.rego` (`aws_s3_bucket.logs`)".
func findingMarkdown(f Finding) string {
	icon := "⚠️"
	if f.Severity == SeverityFailure {
		icon = "❌"
	}
	var b strings.Builder
	b.WriteString("- " + icon + " ")
	if loc := location(f); loc != "" {
		b.WriteString(inlineCode(loc) + " ")
	}
	if policyFinding(f) {
		b.WriteString(messageMarkdown(f.Message))
	} else {
		b.WriteString(escapeMarkdown(f.Message))
	}
	if rule := ruleName(f); rule != "" {
		b.WriteString(" — ")
		if f.PolicyID != "" {
			b.WriteString(inlineCode(f.PolicyID) + " · ")
		}
		b.WriteString(inlineCode(rule))
		if f.Policy != "" {
			b.WriteString(" in " + inlineCode(f.Policy))
		}
	}
	if f.Address != "" {
		b.WriteString(" (" + inlineCode(f.Address) + ")")
	}
	if f.FixDeclared() {
		b.WriteString(" — fix declared: `infra-agent fix` applies it")
	}
	b.WriteString("\n")
	return b.String()
}

// planSummary is the summary of the plan check run: totals, a table of the
// roots, and every delete and replace (as many as fit, saying how many not).
func planSummary(r Report, total PlanCounts, limit int) string {
	var head strings.Builder
	fmt.Fprintf(&head, "**%s**", plural(len(r.Roots), "root"))
	if v := terraformVersions(r); v != "" {
		head.WriteString(" · terraform " + inlineCode(v))
	}
	head.WriteString(" · " + reportPhrase(r, total) + "\n\n")
	if len(r.Roots) > 0 {
		head.WriteString("| root | result | create | update | delete | replace | other |\n")
		head.WriteString("| --- | --- | ---: | ---: | ---: | ---: | --- |\n")
		for _, root := range r.Roots {
			ok, status := rootStatus(root, isPlanStep)
			icon := "✅"
			if !ok {
				icon = "❌"
			}
			fmt.Fprintf(&head, "| %s | %s %s | ", inlineCode(root.Dir), icon, status)
			if root.Plan == nil {
				head.WriteString("| | | | |\n")
				continue
			}
			c := root.Plan.Counts
			fmt.Fprintf(&head, "%d | %d | %s | %s | %s |\n", c.Create, c.Update,
				dangerCount(c.Delete), dangerCount(c.Replace), strings.Join(extraCounts(c), ", "))
		}
		head.WriteString("\n")
	}
	danger := &section{head: head.String(), noun: "deletes and replaces"}
	if n := total.Delete + total.Replace; n > 0 {
		danger.head += fmt.Sprintf("#### %s Deletes and replaces: %d\n\n", dangerFlag, n)
		danger.close = "\n"
		for _, root := range r.Roots {
			if root.Plan == nil {
				continue
			}
			for _, c := range root.Plan.Changes {
				if !c.Dangerous() {
					break // dangerous changes come first
				}
				dir := root.Dir
				danger.items = append(danger.items, item{pass: passDanger, kind: string(c.Action), render: func() (string, string) {
					subject, predicate := describe(c)
					return fmt.Sprintf("- %s %s · %s %s\n", dangerFlag, inlineCode(dir), inlineCode(subject), escapeMarkdown(predicate)), ""
				}})
			}
		}
	}
	return renderSections([]*section{danger}, limit)
}

// reportPhrase is what the report's plans do together, or that nothing was
// planned: never "0 to create" for roots that did not plan.
func reportPhrase(r Report, total PlanCounts) string {
	for _, root := range r.Roots {
		if root.Plan != nil {
			return planPhrase(total)
		}
	}
	return "not planned"
}

func dangerCount(n int) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("**%d** %s", n, dangerFlag)
}

// terraformVersions lists the terraform versions the report's plans were made
// with (usually one), or the recorded tool version.
func terraformVersions(r Report) string {
	if v := r.Versions["terraform"]; v != "" {
		return v
	}
	seen := map[string]bool{}
	var vs []string
	for _, root := range r.Roots {
		if root.Plan != nil && root.Plan.TerraformVersion != "" && !seen[root.Plan.TerraformVersion] {
			seen[root.Plan.TerraformVersion] = true
			vs = append(vs, root.Plan.TerraformVersion)
		}
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}

// policySummary is the summary of the policy check run: totals and a table of
// the roots' policy steps and findings.
func policySummary(r Report, fails, warns int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** · %s · %s", plural(len(r.Roots), "root"), plural(fails, "failure"), plural(warns, "warning"))
	for _, tool := range []string{"conftest", "opa"} {
		if v := r.Versions[tool]; v != "" {
			b.WriteString(" · " + tool + " " + inlineCode(v))
		}
	}
	b.WriteString("\n\n")
	if len(r.Roots) == 0 {
		return b.String()
	}
	b.WriteString("| root | policy on HCL | policy on plan | failures | warnings |\n| --- | --- | --- | ---: | ---: |\n")
	for _, root := range r.Roots {
		hcl, plan := "–", "–"
		for _, s := range root.Steps {
			switch s.Name {
			case StepPolicyHCL:
				hcl = stepIcon(s.Status) + " " + string(s.Status)
			case StepPolicyPlan:
				plan = stepIcon(s.Status) + " " + string(s.Status)
			}
		}
		f, w := 0, 0
		for _, x := range findingsOf(root, policyFinding) {
			if x.Severity == SeverityFailure {
				f++
			} else {
				w++
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d |\n", inlineCode(root.Dir), hcl, plan, f, w)
	}
	return b.String()
}
