package review

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/infra-agent/infra-agent/checks"
)

// Change is a file the deterministic fixes (terraform fmt, the fixes the
// policies declare) changed, with what changed it.
type Change struct {
	Path          string
	Before, After []byte
	// Fixes says which fixes made the change. A hunk is credited to the
	// policy fix whose finding is on the closest line at or above it, else
	// to terraform fmt.
	Fixes []Fix
}

// Fix is one deterministic fix in a Change.
type Fix struct {
	// Kind is "fmt" or "policy".
	Kind string
	// Line is the line of the finding the fix is for (0: the whole file).
	Line int
	// Rule names the policy rule ("main.deny"); Description says what the
	// fix does ("set acl to \"private\" on aws_s3_bucket.data").
	Rule, Description string
}

// Fix kinds.
const (
	FixFmt    = "fmt"
	FixPolicy = "policy"
)

// hunk is one contiguous change of a file: lines start to end of the old
// content (1-based, both included) become lines. A pure insertion is
// anchored on the line above it (or below it, at the top of a file), which
// the replacement repeats, because a suggestion replaces whole lines.
type hunk struct {
	path       string
	start, end int
	old, lines []string
	fix        Fix
}

// hunks returns the changes from before to after, in order.
func hunks(c Change) []hunk {
	a, b := splitLines(c.Before), splitLines(c.After)
	m := difflib.NewMatcherWithJunk(a, b, false, nil)
	var out []hunk
	for _, op := range m.GetOpCodes() {
		if op.Tag == 'e' {
			continue
		}
		h := hunk{path: c.Path, start: op.I1 + 1, end: op.I2, old: a[op.I1:op.I2], lines: b[op.J1:op.J2]}
		if op.Tag == 'i' {
			if op.I1 > 0 {
				h.start, h.end = op.I1, op.I1
				h.old = a[op.I1-1 : op.I1]
				h.lines = append([]string{a[op.I1-1]}, h.lines...)
			} else if len(a) > 0 {
				h.start, h.end = 1, 1
				h.old = a[:1]
				h.lines = append(append([]string{}, h.lines...), a[0])
			} else {
				h.start, h.end = 0, 0 // the file was empty: no line to anchor on
			}
		}
		h.fix = credit(c.Fixes, h.start)
		out = append(out, h)
	}
	return out
}

// credit finds the fix a hunk starting at line belongs to.
func credit(fixes []Fix, line int) Fix {
	best := Fix{Kind: FixFmt, Description: "terraform fmt"}
	for _, f := range fixes {
		if f.Kind == FixPolicy && f.Line <= line && (best.Kind != FixPolicy || f.Line > best.Line) {
			best = f
		}
	}
	return best
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// maxSuggestion bounds the replacement a suggestion carries: a larger one
// (terraform fmt re-indenting a whole file) is named, not pasted.
const maxSuggestion = 16 << 10

// suggestable reports why a hunk cannot be a one-click suggestion, or "".
// A replacement that secret redaction would change is withheld: posting it
// redacted would corrupt the file when applied, and posting it whole would
// post a secret.
func (h hunk) suggestable() string {
	text := strings.Join(h.lines, "\n")
	switch {
	case h.start < 1:
		return "it creates a file"
	case len(text) > maxSuggestion:
		return "it is too large for a suggestion"
	case checks.Redact(text) != text || checks.Redact(strings.Join(h.old, "\n")) != strings.Join(h.old, "\n"):
		return "it touches a secret-looking value"
	}
	return ""
}

// suggestion renders the replacement as GitHub's suggestion block, fenced
// longer than any backtick run inside it. The content is the file's own,
// byte for byte: applying it must give the fixed file.
func (h hunk) suggestion() string {
	text := ""
	if len(h.lines) > 0 {
		text = strings.Join(h.lines, "\n") + "\n"
	}
	return checks.SuggestionBlock(text)
}

// unified renders the hunk as a diff block, for a fix that cannot be a
// suggestion on a line of the pull request's diff.
func (h hunk) unified() string {
	var b strings.Builder
	for _, l := range h.old {
		b.WriteString("-" + l + "\n")
	}
	for _, l := range h.lines {
		b.WriteString("+" + l + "\n")
	}
	return checks.CodeFence("diff", strings.TrimSuffix(checks.Redact(b.String()), "\n"))
}
