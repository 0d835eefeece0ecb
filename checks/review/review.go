// Package review renders infra-agent's pull request review: the inline
// comments (policy findings on the lines of the diff, the deterministic fixes
// as one-click suggestions, the model's opinions, marked as such), the body
// (a risk summary from the plans, what changed since the last review, what
// could not go on a line), and which earlier comments to hide because what
// they said was fixed or moved. It is pure: the caller lists what GitHub
// has and posts what this package decides. GitHub's limits are enforced
// here.
package review

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/infra-agent/infra-agent/checks"
)

// Event is the one review event infra-agent sends. A review of this App
// never approves and never requests changes: branch protection and human
// reviewers decide, and an App's approval could count toward a required
// review.
const Event = "COMMENT"

// MaxComments is how many inline comments one review carries. GitHub
// documents no limit for one request, but answers large reviews with 502
// and every comment notifies; what is beyond it is listed in the body.
const MaxComments = 30

// MaxText is GitHub's limit on a review body and on each comment:
// 65,536 characters. Texts here are measured in UTF-8 bytes, never fewer.
const MaxText = 65536

// Classifiers GitHub's minimizeComment takes, for the comments it hides.
const (
	Resolved = "RESOLVED"
	Outdated = "OUTDATED"
)

// ModelComment is a model's comment on a line of a file.
type ModelComment struct {
	Path string
	Line int
	Body string
}

// Input is everything a review is made of.
type Input struct {
	JobID   string
	HeadSHA string
	// RunURL links the workflow run with the full log; optional.
	RunURL string
	Report checks.Report
	Diff   Diff
	// Changes are the deterministic fixes, offered as suggestions.
	Changes []Change
	Risk    Risk
	// Model are the model's comments; ModelName names it and ModelTokens
	// counts the tokens it used. ModelFailed says why the model's part did
	// not complete (a failed call, a budget reached): the comments it made
	// before are kept. ModelNote says why there is no model ("no model is
	// configured"), when there is none.
	Model       []ModelComment
	ModelName   string
	ModelTokens int
	ModelFailed string
	ModelNote   string
	Prior       Prior
}

// Comment is an inline comment of the review.
type Comment struct {
	Path string
	// Line is the (last) line; StartLine the first of a multi-line comment,
	// 0 for one line. Both on the RIGHT side.
	Line, StartLine int
	Body            string
}

// Hide is an earlier comment to minimise, and why (Resolved, Outdated).
type Hide struct {
	Comment PriorComment
	Reason  string
}

// Review is a review ready to post.
type Review struct {
	// Comments are the inline comments, at most MaxComments.
	Comments []Comment
	// Hide are the earlier comments to minimise before posting.
	Hide []Hide

	in      Input
	entries []*entry
	kept    []PriorComment
	fixed   []PriorComment
	// gone, fresh and still count what the last review said that is gone,
	// what is new, and what is still there.
	gone, fresh, still int
	refused            []ModelComment
}

// entry is one thing the review says: a finding, a fix, a model comment.
type entry struct {
	kind, fp   string
	path       string
	start, end int // the lines a comment would span
	rank       int // who gets an inline slot first
	finding    *checks.Finding
	fix        *hunk
	model      *ModelComment
	inline     bool
	keptBy     *PriorComment
	why        string // why it is not inline
	fixWhy     string // why its fix is not a suggestion
}

// Build decides the review: what goes inline, what in the body, which
// earlier comments are hidden.
func Build(in Input) *Review {
	r := &Review{in: in}
	r.collect()
	r.reconcile()
	r.place()
	return r
}

// collect turns the findings, fixes and model comments into entries, a
// finding on a line a suggestion replaces merged into that suggestion.
func (r *Review) collect() {
	seen := map[string]bool{}
	var fixes []*entry
	for _, c := range r.in.Changes {
		for _, h := range hunks(c) {
			h := h
			n := 0
			for seen[hunkFP(h, n)] {
				n++
			}
			e := &entry{kind: kindFix, fp: hunkFP(h, n), path: h.path, start: h.start, end: h.end, rank: 1, fix: &h}
			seen[e.fp] = true
			fixes = append(fixes, e)
		}
	}
	for _, f := range allFindings(r.in.Report) {
		f := f
		fp := findingFP(f)
		if seen[fp] {
			continue
		}
		seen[fp] = true
		e := &entry{kind: kindFinding, fp: fp, path: f.File, start: f.Line, end: f.Line, rank: 2, finding: &f}
		if f.Severity == checks.SeverityFailure {
			e.rank = 0
		}
		if s := fixFor(fixes, f); s != nil {
			// The suggestion answers the finding: one comment says both.
			s.finding, s.kind, s.fp, s.rank = &f, kindFinding, fp, min(s.rank, e.rank)
			continue
		}
		r.entries = append(r.entries, e)
	}
	r.entries = append(r.entries, fixes...)
	for _, m := range r.in.Model {
		m := m
		if !r.in.Diff.Commentable(m.Path, m.Line) {
			r.refused = append(r.refused, m)
			continue
		}
		fp := modelFP(m)
		if !seen[fp] {
			seen[fp] = true
			r.entries = append(r.entries, &entry{kind: kindModel, fp: fp, path: m.Path, start: m.Line, end: m.Line, rank: 3, model: &m})
		}
	}
	slices.SortStableFunc(r.entries, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.end, b.end), cmp.Compare(a.rank, b.rank))
	})
}

// fixFor returns the fix that answers a finding: the one credited to its
// policy rule at its line, else one whose lines overlap the finding's.
func fixFor(fixes []*entry, f checks.Finding) *entry {
	end := max(f.EndLine, f.Line)
	for _, e := range fixes {
		if e.finding == nil && e.path == f.File && e.fix.fix.Kind == FixPolicy && e.fix.fix.Line == f.Line &&
			(e.fix.fix.Rule == "" || e.fix.fix.Rule == f.RuleName()) {
			return e
		}
	}
	for _, e := range fixes {
		if e.finding == nil && e.path == f.File && f.Line <= e.end && end >= e.start {
			return e
		}
	}
	return nil
}

// allFindings lists the report's findings, failures first.
func allFindings(rep checks.Report) []checks.Finding {
	var out []checks.Finding
	for _, root := range rep.Roots {
		for _, f := range root.Findings {
			if f.Root == "" {
				f.Root = root.Dir
			}
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b checks.Finding) int {
		return cmp.Compare(severityRank(a.Severity), severityRank(b.Severity))
	})
	return out
}

func severityRank(s checks.Severity) int {
	if s == checks.SeverityFailure {
		return 0
	}
	return 1
}

// reconcile compares the entries with the comments the last review left
// open: a comment whose subject is still there and still on its line is
// kept (not posted again); one whose lines changed is hidden as outdated and
// posted anew; one whose subject is gone is hidden as resolved. A model's
// comment stands until its line changes.
func (r *Review) reconcile() {
	byFP := map[string]*entry{}
	for _, e := range r.entries {
		byFP[e.fp] = e
	}
	before, still := map[string]bool{}, map[string]bool{}
	for _, fp := range r.in.Prior.State.Body {
		before[fp] = true
	}
	modelLines := map[string]bool{}
	for _, p := range r.in.Prior.open() {
		kind, fp, ok := parseCommentMarker(p.Body)
		if !ok {
			continue
		}
		p := p
		before[fp] = true
		e := byFP[fp]
		switch {
		case e != nil && p.Line > 0 && e.keptBy == nil:
			e.keptBy = &p
			r.kept = append(r.kept, p)
		case e != nil:
			r.Hide = append(r.Hide, Hide{Comment: p, Reason: Outdated})
		case kind == kindModel && p.Line > 0:
			r.kept = append(r.kept, p)
			still[fp] = true
			modelLines[lineKey(p.Path, p.Line)] = true
		case kind == kindModel:
			r.Hide = append(r.Hide, Hide{Comment: p, Reason: Outdated})
		default:
			r.Hide = append(r.Hide, Hide{Comment: p, Reason: Resolved})
			r.fixed = append(r.fixed, p)
		}
	}
	for _, e := range r.entries {
		if before[e.fp] {
			still[e.fp] = true
		} else if r.in.Prior.ReviewID != 0 {
			r.fresh++
		}
		if e.kind == kindModel && e.keptBy == nil && modelLines[lineKey(e.path, e.end)] {
			// The model said something here before, and it still stands.
			e.keptBy = &PriorComment{}
		}
	}
	r.still = len(still)
	r.gone = len(before) - len(still)
}

func lineKey(path string, line int) string { return path + ":" + strconv.Itoa(line) }

// place decides which entries go inline: those on lines of the diff, by
// rank, up to MaxComments; the others are listed in the body.
func (r *Review) place() {
	var candidates []*entry
	for _, e := range r.entries {
		if e.keptBy != nil {
			continue
		}
		if e.fix != nil {
			why := e.fix.suggestable()
			if why == "" && !r.in.Diff.Range(e.path, e.fix.start, e.fix.end) {
				why = "its lines are not in this pull request's diff"
			}
			if why != "" {
				e.fixWhy = why
				if e.finding == nil {
					e.why = why
					continue
				}
				// The finding may still go on its own line, without the fix.
				e.start, e.end = e.finding.Line, e.finding.Line
			}
		}
		switch {
		case e.path == "" || e.end < 1:
			e.why = "not on a line"
		case !r.in.Diff.Range(e.path, e.start, e.end):
			e.why = "not on a line this pull request changes"
		default:
			candidates = append(candidates, e)
		}
	}
	slices.SortStableFunc(candidates, func(a, b *entry) int { return cmp.Compare(a.rank, b.rank) })
	for i, e := range candidates {
		if i >= MaxComments {
			e.why = "more than " + checks.Thousands(MaxComments) + " comments"
			continue
		}
		e.inline = true
	}
	for _, e := range r.entries {
		if e.inline {
			r.Comments = append(r.Comments, e.comment())
		}
	}
}
