package checks

import (
	"fmt"
	"math"
	"strings"
)

// MaxOutputChars is GitHub's limit on a check run's output.summary and
// output.text. GitHub counts characters; outputs here are measured in UTF-8
// bytes, which are never fewer, so a text within the limit in bytes is within
// it in characters (and in UTF-16 code units) too.
const MaxOutputChars = 65535

// unlimited is the budget of renderings that are not posted (the check
// command's terminal, markdown and JSON reports).
const unlimited = math.MaxInt

// item is one unit of a section that is shown whole, shown as its one-line
// fallback, or left out and counted.
type item struct {
	// pass orders who gets space first: 1 before 2 before 3.
	pass int
	// kind is what the item counts as when it is cut, e.g. "delete", "warning".
	kind string
	// render returns the item and a shorter fallback ("" for none). It runs
	// only for items that may still fit, so huge plans render only what shows.
	render func() (full, short string)
}

// section is a run of items under a heading that is always shown.
type section struct {
	head        string
	open, close string // wrap the shown items (a code fence); omitted when none is shown
	items       []item
	// noun names the items in the cut notice: "changes", "findings".
	noun string

	shown []string
	cut   map[string]int
	kinds []string // kinds in order of first appearance, for a stable notice
}

// fitSections decides which items of the sections are shown within limit
// bytes, reserving room for footer. Items are considered pass by pass, in
// order; a pass stops at the first item whose fallback does not fit either.
// It reports whether anything was cut.
func fitSections(sections []*section, limit int, footer string) bool {
	used := len(footer)
	passes := 0
	for _, s := range sections {
		s.shown = make([]string, len(s.items))
		s.cut = map[string]int{}
		s.kinds = s.kinds[:0]
		seen := map[string]bool{}
		for _, it := range s.items {
			if !seen[it.kind] {
				seen[it.kind] = true
				s.kinds = append(s.kinds, it.kind)
			}
			passes = max(passes, it.pass)
		}
		used = addSat(used, len(s.head)+len(s.open)+len(s.close)+s.noticeBound())
	}
	truncated := false
	for pass := 1; pass <= passes; pass++ {
		full := false
		for _, s := range sections {
			for i, it := range s.items {
				if it.pass != pass {
					continue
				}
				if !full {
					text, short := it.render()
					switch {
					case used+len(text) <= limit:
						s.shown[i] = text
					case short != "" && used+len(short) <= limit:
						s.shown[i] = short
					default:
						full = true
					}
					used += len(s.shown[i])
				}
				if s.shown[i] == "" {
					s.cut[it.kind]++
					truncated = true
				}
			}
		}
	}
	return truncated
}

func addSat(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// render writes the section: head, shown items and, when items were cut, a
// notice saying how many of which kind.
func (s *section) render(b *strings.Builder) {
	b.WriteString(s.head)
	shownAny := false
	for _, t := range s.shown {
		if t != "" {
			shownAny = true
			break
		}
	}
	if shownAny {
		b.WriteString(s.open)
		for _, t := range s.shown {
			b.WriteString(t)
		}
		b.WriteString(s.close)
	}
	if n := s.cutTotal(); n > 0 {
		b.WriteString(s.notice(s.cut, n))
	}
}

func (s *section) cutTotal() int {
	n := 0
	for _, c := range s.cut {
		n += c
	}
	return n
}

// notice says what was cut: "_… 9,000 more changes not shown (8,000 create,
// 1,000 update)._".
func (s *section) notice(cut map[string]int, total int) string {
	var parts []string
	for _, k := range s.kinds {
		if cut[k] > 0 {
			parts = append(parts, thousands(cut[k])+" "+k)
		}
	}
	return fmt.Sprintf("\n_… %s more %s not shown (%s): GitHub limits this text to %s characters._\n\n",
		thousands(total), s.noun, strings.Join(parts, ", "), thousands(MaxOutputChars))
}

// noticeBound is the longest notice the section can need.
func (s *section) noticeBound() int {
	all := map[string]int{}
	for _, it := range s.items {
		all[it.kind] = len(s.items)
	}
	if len(all) == 0 {
		return 0
	}
	return len(s.notice(all, len(s.items)*len(all)))
}

// clamp is the last line of defence of the limit: should a text still be too
// long (a thousand roots' headings), it is cut at a line boundary with a note.
func clamp(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const note = "\n\n_… output cut here: GitHub limits this text to 65,535 characters._\n"
	head := cutBytes(s, limit-len(note))
	if i := strings.LastIndexByte(head, '\n'); i > 0 {
		head = head[:i]
	}
	return head + note
}

// thousands formats n with comma separators: 12,345.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
