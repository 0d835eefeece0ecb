package review

import (
	"fmt"
	"strings"

	"github.com/infra-agent/infra-agent/checks"
)

// maxModelText bounds a model comment as posted.
const maxModelText = 8000

// maxFailedText bounds why the model's part failed.
const maxFailedText = 600

// maxStateFPs bounds the fingerprints the state marker keeps of what the
// body lists, so the marker leaves the body room: past it, the next review's
// "fixed" count misses some.
const maxStateFPs = 500

// comment renders an inline comment: what it is about, the suggestion when
// there is one, and its marker.
func (e *entry) comment() Comment {
	var b strings.Builder
	switch {
	case e.finding != nil:
		b.WriteString(findingText(*e.finding))
	case e.model != nil:
		b.WriteString(modelText(*e.model))
	}
	if e.fix != nil && e.fixWhy == "" {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "**Suggested fix**: %s. It was made without a model and checked by the validation pipeline; "+
			"review it, then apply it.\n\n%s", fixText(e.fix.fix), e.fix.suggestion())
	}
	b.WriteString("\n\n" + commentMarkerFor(e.kind, e.fp))
	c := Comment{Path: e.path, Line: e.end, Body: b.String()}
	if e.start < e.end {
		c.StartLine = e.start
	}
	return c
}

// findingText says what a finding is, inert: policy messages are data.
func findingText(f checks.Finding) string {
	icon, what := "⚠️", "warning"
	if f.Severity == checks.SeverityFailure {
		icon, what = "❌", "failure"
	}
	source := "Policy"
	if f.Source != "" && f.Source != "policy" {
		source = "`terraform " + f.Source + "`"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s **%s %s**", icon, source, what)
	if r := f.RuleName(); r != "" {
		b.WriteString(" · " + checks.InlineCode(r))
	}
	b.WriteString("\n\n" + checks.EscapeMarkdown(f.Message))
	var facts []string
	if f.Address != "" {
		facts = append(facts, checks.InlineCode(f.Address))
	}
	if f.Policy != "" {
		facts = append(facts, "policy "+checks.InlineCode(f.Policy))
	}
	if f.Root != "" && f.Root != "." {
		facts = append(facts, "root "+checks.InlineCode(f.Root))
	}
	if len(facts) > 0 {
		b.WriteString("\n\n" + strings.Join(facts, " · "))
	}
	return b.String()
}

// modelText marks a model's comment as its opinion and renders its words
// inert, line by line: no links, mentions, markup or markers of its own.
func modelText(m ModelComment) string {
	var b strings.Builder
	b.WriteString("🤖 **The model's opinion**: not a policy finding, and no check enforces it. Verify it before acting on it.\n\n")
	body := checks.Truncate(strings.TrimSpace(m.Body), maxModelText)
	for _, line := range strings.Split(body, "\n") {
		b.WriteString("> " + checks.EscapeMarkdown(line) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// tokens renders a token count: "12,345 tokens".
func tokens(n int) string {
	if n == 1 {
		return "1 token"
	}
	return checks.Thousands(n) + " tokens"
}

// fixText names a fix: "terraform fmt", or the policy's description.
func fixText(f Fix) string {
	if f.Kind != FixPolicy {
		return "`terraform fmt`"
	}
	s := "the fix policy " + checks.InlineCode(f.Rule) + " declares"
	if f.Rule == "" {
		s = "the fix the policy declares"
	}
	if f.Description != "" {
		s += " (" + checks.EscapeMarkdown(f.Description) + ")"
	}
	return s
}

// location renders "path:12" or "path".
func location(path string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", path, line)
	}
	return path
}

// Body renders the review's body. hideFailed counts the earlier comments
// GitHub refused to hide, so the body says so instead of claiming it.
func (r *Review) Body(hideFailed int) string {
	w := newBodyWriter(MaxText, r.footer())
	w.text(r.headline())
	w.list("### Risk in the plan", "risks", r.riskLines())
	if r.in.Prior.ReviewID != 0 {
		w.text(r.sinceText(hideFailed))
		w.list("", "fixed comments", r.fixedLines())
	}
	w.list("### Not on a line of this diff", "findings", r.bodyFindings())
	w.list("### Fixes not offered as suggestions", "fixes", r.bodyFixes())
	w.text(r.modelSection())
	return w.String()
}

func (r *Review) headline() string {
	fails, warns := r.counts()
	var fixes, model, inlineFixes int
	for _, e := range r.entries {
		if e.fix != nil {
			fixes++
			if e.inline && e.fixWhy == "" {
				inlineFixes++
			}
		}
		if e.model != nil {
			model++
		}
	}
	var b strings.Builder
	b.WriteString("## infra-agent review\n\n")
	switch {
	case fails+warns == 0:
		b.WriteString("**No policy failures or warnings.**")
	default:
		fmt.Fprintf(&b, "**%s, %s.**", checks.Plural(fails, "failure"), checks.Plural(warns, "warning"))
	}
	fmt.Fprintf(&b, " %s on lines of the diff", checks.Plural(len(r.Comments), "comment"))
	if fixes > 0 {
		fmt.Fprintf(&b, "; %s made without a model, %d offered as suggestions", checks.Plural(fixes, "fix"), inlineFixes)
	}
	if model > 0 {
		fmt.Fprintf(&b, "; %s", checks.Plural(model, "comment")+" from the model")
	}
	b.WriteString(".\n\nThis review only comments: infra-agent never approves a pull request or requests changes. " +
		"Branch protection and human reviewers decide.\n\n")
	return b.String()
}

// riskLines lists the plan's deletes, replaces, IAM and network changes.
func (r *Review) riskLines() []string {
	risk := r.in.Risk
	if !risk.Planned {
		return []string{"No plan ran (static checks only, or the plan failed): deletes, replaces, IAM and network changes are unknown."}
	}
	if risk.Empty() {
		return []string{"Nothing is deleted or replaced; no IAM or network changes."}
	}
	var out []string
	add := func(icon, what string, items []string) {
		if len(items) > 0 {
			out = append(out, fmt.Sprintf("%s **%s** (%d): %s", icon, what, len(items), codeList(items, 25)))
		}
	}
	add("🔥", "Deleted", risk.Deletes)
	add("♻️", "Replaced", risk.Replaces)
	add("🔑", "IAM changes", risk.IAM)
	var exposed, other []string
	for _, n := range risk.Network {
		if n.Exposure != "" {
			exposed = append(exposed, n.Address+" ("+n.Action+": "+n.Exposure+")")
		} else {
			other = append(other, n.Address+" ("+n.Action+")")
		}
	}
	add("🌐", "Exposed to the internet", exposed)
	add("🌐", "Other network changes", other)
	return out
}

// codeList renders up to n items as code spans, then how many more.
func codeList(items []string, n int) string {
	var parts []string
	for i, it := range items {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(items)-n))
			break
		}
		parts = append(parts, checks.InlineCode(it))
	}
	return strings.Join(parts, ", ")
}

// sinceText says what changed since the last review.
func (r *Review) sinceText(hideFailed int) string {
	p := r.in.Prior
	last := "the last review"
	if p.URL != "" {
		last = "[the last review](" + p.URL + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Since %s", last)
	if p.State.HeadSHA != "" {
		fmt.Fprintf(&b, " (on `%s`)", short(p.State.HeadSHA))
	}
	fmt.Fprintf(&b, "\n\n**%d fixed, %d new, %d still open.**", r.gone, r.fresh, r.still)
	resolved, outdated := 0, 0
	for _, h := range r.Hide {
		if h.Reason == Resolved {
			resolved++
		} else {
			outdated++
		}
	}
	if resolved+outdated > 0 {
		fmt.Fprintf(&b, " Earlier comments hidden: %d on what was fixed (as resolved), %d whose lines changed (as outdated; posted again where they still apply).",
			resolved, outdated)
	}
	if hideFailed > 0 {
		fmt.Fprintf(&b, " GitHub refused to hide %s: still visible.", checks.Plural(hideFailed, "earlier comment"))
	}
	if len(r.kept) > 0 {
		b.WriteString(" Comments still open are not repeated.")
	}
	b.WriteString("\n\n")
	return b.String()
}

func (r *Review) fixedLines() []string {
	var out []string
	for _, c := range r.fixed {
		s := "✅ " + checks.InlineCode(location(c.Path, c.Line))
		if c.URL != "" {
			s += " ([earlier comment](" + c.URL + "))"
		}
		out = append(out, s)
	}
	return out
}

func (r *Review) bodyFindings() []string {
	var out []string
	for _, e := range r.entries {
		if e.inline || e.keptBy != nil || e.finding == nil {
			continue
		}
		f := *e.finding
		icon := "⚠️"
		if f.Severity == checks.SeverityFailure {
			icon = "❌"
		}
		s := icon + " "
		if f.File != "" {
			s += checks.InlineCode(location(f.File, f.Line)) + " "
		}
		s += checks.EscapeMarkdown(f.Message)
		if rule := f.RuleName(); rule != "" {
			s += " (" + checks.InlineCode(rule) + ")"
		}
		if e.why != "" {
			s += " — _" + e.why + "_"
		}
		out = append(out, s)
	}
	return out
}

func (r *Review) bodyFixes() []string {
	var out []string
	for _, e := range r.entries {
		if e.fix == nil || e.keptBy != nil || (e.inline && e.fixWhy == "") {
			continue
		}
		h := e.fix
		why := e.fixWhy
		if why == "" {
			why = e.why
		}
		s := fmt.Sprintf("%s: %s — _%s_", checks.InlineCode(location(h.path, h.start)), fixText(h.fix), why)
		if len(h.old)+len(h.lines) <= 60 && why != "it touches a secret-looking value" {
			s += "\n\n" + indent(h.unified())
		}
		out = append(out, s)
	}
	return out
}

// indent puts a block under a list item.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

func (r *Review) modelSection() string {
	var b strings.Builder
	switch {
	case r.in.ModelName != "":
		fmt.Fprintf(&b, "### The model\n\n%s reviewed the diff with read-only tools (%s); its comments are marked as its opinion.",
			checks.InlineCode(r.in.ModelName), tokens(r.in.ModelTokens))
		if r.in.ModelFailed != "" {
			fmt.Fprintf(&b, " **The model's part failed**: %s. Its comments may be missing; the rest of this review "+
				"(policies, validation, fixes made without a model) does not depend on it.", checks.EscapeMarkdown(checks.Truncate(r.in.ModelFailed, maxFailedText)))
		}
	case r.in.ModelNote != "":
		fmt.Fprintf(&b, "### The model\n\n%s This review is the deterministic part alone: policies, validation and fixes made without a model.",
			checks.EscapeMarkdown(r.in.ModelNote))
	default:
		return ""
	}
	if n := len(r.refused); n > 0 {
		var locs []string
		for _, m := range r.refused {
			locs = append(locs, location(m.Path, m.Line))
		}
		fmt.Fprintf(&b, " %s not posted: not on a line of this pull request's diff (%s).",
			checks.Plural(n, "comment was"), codeList(locs, 10))
	}
	return b.String() + "\n\n"
}

func (r *Review) footer() string {
	var kept []int64
	for _, c := range r.kept {
		if c.ID != 0 {
			kept = append(kept, c.ID)
		}
	}
	var body []string
	for _, e := range r.entries {
		if !e.inline && e.keptBy == nil && len(body) < maxStateFPs {
			body = append(body, e.fp)
		}
	}
	var b strings.Builder
	b.WriteString("---\n<sub>infra-agent job " + checks.InlineCode(r.in.JobID))
	if r.in.RunURL != "" {
		b.WriteString(" · [workflow run](" + r.in.RunURL + ")")
	}
	if r.in.HeadSHA != "" {
		b.WriteString(" · head `" + short(r.in.HeadSHA) + "`")
	}
	b.WriteString("</sub>\n")
	b.WriteString(State{JobID: r.in.JobID, HeadSHA: r.in.HeadSHA, Kept: kept, Body: body}.marker())
	return b.String()
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Title is the job check run's title for the posted review.
func (r *Review) Title() string {
	fails, warns := r.counts()
	return fmt.Sprintf("Review posted: %s, %s; %s on the diff", checks.Plural(fails, "failure"), checks.Plural(warns, "warning"),
		checks.Plural(len(r.Comments), "comment"))
}

// counts counts the findings by severity.
func (r *Review) counts() (fails, warns int) {
	for _, e := range r.entries {
		switch {
		case e.finding == nil:
		case e.finding.Severity == checks.SeverityFailure:
			fails++
		default:
			warns++
		}
	}
	return fails, warns
}

// Unchanged reports whether the review would repeat the last one: the same
// commit, nothing new, nothing gone. Such a review is not posted.
func (r *Review) Unchanged() bool {
	p := r.in.Prior
	return p.ReviewID != 0 && p.State.HeadSHA == r.in.HeadSHA && len(r.Comments) == 0 && len(r.Hide) == 0 &&
		r.fresh == 0 && r.gone == 0
}

// Summary renders what the job's check run says about the review at url:
// the link, and what it holds.
func (r *Review) Summary(url string, hideFailed int) string {
	var b strings.Builder
	if r.Unchanged() {
		fmt.Fprintf(&b, "Nothing changed since [the last review](%s) of this commit: no new review was posted.\n", url)
		return b.String()
	}
	suggestions, model := 0, 0
	for _, e := range r.entries {
		if !e.inline {
			continue
		}
		if e.fix != nil && e.fixWhy == "" {
			suggestions++
		}
		if e.model != nil {
			model++
		}
	}
	body := 0
	for _, e := range r.entries {
		if !e.inline && e.keptBy == nil && e.kind != kindModel {
			body++
		}
	}
	fmt.Fprintf(&b, "Posted [the review](%s) (comments only; it never approves or requests changes): %s on lines of the diff "+
		"(%d with a suggested fix, %d from the model), %s in its body.",
		url, checks.Plural(len(r.Comments), "comment"), suggestions, model, checks.Plural(body, "item"))
	if len(r.kept) > 0 {
		fmt.Fprintf(&b, " Still open from earlier reviews, not repeated: %s.", checks.Plural(len(r.kept), "comment"))
	}
	if n := len(r.Hide) - hideFailed; n > 0 {
		fmt.Fprintf(&b, " %s hidden as resolved or outdated.", checks.Plural(n, "earlier comment"))
	}
	if hideFailed > 0 {
		fmt.Fprintf(&b, " GitHub refused to hide %s.", checks.Plural(hideFailed, "earlier comment"))
	}
	if len(r.refused) > 0 {
		fmt.Fprintf(&b, " %s of the model outside the diff refused.", checks.Plural(len(r.refused), "comment"))
	}
	b.WriteString(r.modelSummary())
	return b.String() + "\n"
}

// modelSummary says, for the check run, which model reviewed and what it
// used, or that its part failed.
func (r *Review) modelSummary() string {
	if r.in.ModelName == "" {
		return ""
	}
	s := fmt.Sprintf(" Model: %s, %s.", checks.InlineCode(r.in.ModelName), tokens(r.in.ModelTokens))
	if r.in.ModelFailed != "" {
		s += " The model's part failed: " + checks.EscapeMarkdown(checks.Truncate(r.in.ModelFailed, maxFailedText)) + "."
	}
	return s
}
