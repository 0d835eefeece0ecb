package fakegithub

import (
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// diffContext is the number of unchanged lines git shows around a change.
const diffContext = 3

// fileDiff is a file's diff between the pull request's base and a commit, as GitHub shows it: the patch (the
// hunks of a unified diff with three lines of context), the line counts, and the lines of each side a review
// comment may be placed on.
type fileDiff struct {
	patch       string
	add, del    int
	left, right []lineSpan // per hunk: the old-side and new-side line ranges
}

// lineSpan is a range of lines, both ends included; an empty hunk side has end < start.
type lineSpan struct{ start, end int }

// diffFiles diffs base against head line by line.
func diffFiles(base, head []byte) fileDiff {
	a, b := lines(base), lines(head)
	var d fileDiff
	var out strings.Builder
	for _, group := range difflib.NewMatcherWithJunk(a, b, false, nil).GetGroupedOpCodes(diffContext) {
		first, last := group[0], group[len(group)-1]
		oldSpan := lineSpan{first.I1 + 1, last.I2}
		newSpan := lineSpan{first.J1 + 1, last.J2}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(oldSpan), hunkRange(newSpan))
		for _, op := range group {
			switch op.Tag {
			case 'e':
				for _, l := range a[op.I1:op.I2] {
					out.WriteString(" " + l + "\n")
				}
				continue
			case 'r', 'd':
				for _, l := range a[op.I1:op.I2] {
					out.WriteString("-" + l + "\n")
					d.del++
				}
			}
			if op.Tag == 'r' || op.Tag == 'i' {
				for _, l := range b[op.J1:op.J2] {
					out.WriteString("+" + l + "\n")
					d.add++
				}
			}
		}
		d.left = append(d.left, oldSpan)
		d.right = append(d.right, newSpan)
	}
	d.patch = strings.TrimSuffix(out.String(), "\n")
	return d
}

// hunkRange renders a hunk header's range as git does: "5,3", "5" for one line, "4,0" for none (after line 4).
func hunkRange(s lineSpan) string {
	n := s.end - s.start + 1
	switch n {
	case 1:
		return fmt.Sprint(s.start)
	case 0:
		return fmt.Sprintf("%d,0", s.start-1)
	}
	return fmt.Sprintf("%d,%d", s.start, n)
}

// hunkOf returns the index of the hunk whose side holds line, or -1.
func (d fileDiff) hunkOf(side string, line int) int {
	spans := d.right
	if side == "LEFT" {
		spans = d.left
	}
	for i, s := range spans {
		if line >= s.start && line <= s.end {
			return i
		}
	}
	return -1
}

// diffHunk returns the patch from the first hunk header up to and including line of side, as GitHub's
// diff_hunk of a review comment shows it.
func (d fileDiff) diffHunk(side string, line int) string {
	i := d.hunkOf(side, line)
	if i < 0 {
		return ""
	}
	var hunk []string
	n := -1
	oldLine, newLine := 0, 0
	for _, l := range strings.Split(d.patch, "\n") {
		if strings.HasPrefix(l, "@@") {
			n++
			oldLine, newLine = d.left[n].start, d.right[n].start
			if n == i {
				hunk = append(hunk, l)
			}
			continue
		}
		if n != i {
			continue
		}
		hunk = append(hunk, l)
		here := newLine
		if side == "LEFT" {
			here = oldLine
		}
		if here == line && (side == "LEFT" && !strings.HasPrefix(l, "+") || side != "LEFT" && !strings.HasPrefix(l, "-")) {
			break
		}
		if !strings.HasPrefix(l, "+") {
			oldLine++
		}
		if !strings.HasPrefix(l, "-") {
			newLine++
		}
	}
	return strings.Join(hunk, "\n")
}
