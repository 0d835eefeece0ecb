package guard

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/checks/redact"
)

// Rules of the diff checks.
const (
	RuleSecret   = "secret-in-diff"
	RuleDiffSize = "diff-too-large"
	RuleMasked   = "masked-value"
)

// masks are what the model reads in place of a value: a secret's redaction
// and a sensitive value's placeholder. Written back, they would replace the
// value itself.
var masks = []string{redact.Marker, policy.SensitivePlaceholder}

// FileDiff is one changed file.
type FileDiff struct {
	Path string
	// Before is nil for a new file, After nil for a deleted one.
	Before, After []byte
}

// Unified renders the change as a unified diff (a/ and b/ prefixes, three
// lines of context), the way git shows it.
func Unified(files []FileDiff) string {
	var b strings.Builder
	for _, f := range files {
		from, to := "a/"+f.Path, "b/"+f.Path
		if f.Before == nil {
			from = "/dev/null"
		}
		if f.After == nil {
			to = "/dev/null"
		}
		d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: splitLines(f.Before), B: splitLines(f.After), FromFile: from, ToFile: to, Context: 3,
		})
		b.WriteString(d)
	}
	return b.String()
}

// splitLines splits text into lines that keep their newline, as difflib
// wants; a last line without one gets git's marker.
func splitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	if last := lines[len(lines)-1]; last == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] = last + "\n\\ No newline at end of file\n"
	}
	return lines
}

// Lines counts the lines a change adds and removes.
func Lines(f FileDiff) (added, removed int) {
	m := difflib.NewMatcher(splitLines(f.Before), splitLines(f.After))
	for _, op := range m.GetOpCodes() {
		switch op.Tag {
		case 'r':
			removed += op.I2 - op.I1
			added += op.J2 - op.J1
		case 'd':
			removed += op.I2 - op.I1
		case 'i':
			added += op.J2 - op.J1
		}
	}
	return added, removed
}

// AddedLines returns the lines a change adds, with their 1-based numbers in
// the new file.
func AddedLines(f FileDiff) map[int]string {
	out := map[int]string{}
	after := splitLines(f.After)
	m := difflib.NewMatcher(splitLines(f.Before), after)
	for _, op := range m.GetOpCodes() {
		if op.Tag == 'r' || op.Tag == 'i' {
			for j := op.J1; j < op.J2; j++ {
				out[j+1] = strings.TrimSuffix(after[j], "\n")
			}
		}
	}
	return out
}

// quotedAssign matches `name = "value"` and `"name": "value"`.
var quotedAssign = regexp.MustCompile(`([A-Za-z0-9_.-]+)(["']?\s*(?:=|:)\s*)"([^"\n]*)"`)

// holdsSecret reports whether a line holds a secret. checks/redact errs
// towards redacting (any value of a token-named setting), which is right for
// what is shown but would refuse http_tokens = "required": here a quoted
// value of a secret-named setting counts only when it could be a credential
// (eight characters or more, not only letters). Keys, tokens and private keys
// recognised by their shape always count.
func holdsSecret(line string) bool {
	masked := quotedAssign.ReplaceAllStringFunc(line, func(m string) string {
		sub := quotedAssign.FindStringSubmatch(m)
		if v := sub[3]; len(v) < 8 || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
			return sub[1] + sub[2] + `"true"` // a value redaction keeps
		}
		return m
	})
	return redact.String(masked) != masked
}

// CheckDiff applies the diff rules to the whole change: no added line may
// hold something secret-looking (checks/redact's patterns: keys, tokens,
// private keys, password and secret assignments), and the lines added and
// removed may not exceed maxLines. A violation names the file and line, never
// the secret.
func CheckDiff(files []FileDiff, maxLines int) []Violation {
	var out []Violation
	total := 0
	for _, f := range files {
		a, r := Lines(f)
		total += a + r
		// A line that was there before, but for its spacing (terraform fmt
		// aligns the = signs), adds no secret.
		existing := map[string]bool{}
		for _, l := range splitLines(f.Before) {
			existing[strings.Join(strings.Fields(l), "")] = true
		}
		for n, line := range AddedLines(f) {
			if existing[strings.Join(strings.Fields(line), "")] {
				continue
			}
			if holdsSecret(line) {
				out = append(out, Violation{Path: f.Path, Rule: RuleSecret, Detail: fmt.Sprintf("line %d holds something that looks like a secret", n)})
			}
			if slices.ContainsFunc(masks, func(m string) bool { return strings.Contains(line, m) }) {
				out = append(out, Violation{Path: f.Path, Rule: RuleMasked, Detail: fmt.Sprintf("line %d writes a value as it was shown, masked; change the block with edit instead of rewriting it", n)})
			}
		}
	}
	if maxLines > 0 && total > maxLines {
		out = append(out, Violation{Rule: RuleDiffSize, Detail: fmt.Sprintf("the change adds and removes %d lines, more than agent.max_diff_lines (%d)", total, maxLines)})
	}
	sortViolations(out)
	return out
}
