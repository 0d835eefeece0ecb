package review

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// File is one file of a pull request as GitHub lists it (GET
// /repos/{owner}/{repo}/pulls/{pull_number}/files).
type File struct {
	Path string
	// Status is added, removed, modified, renamed, copied, changed or
	// unchanged.
	Status string
	// Patch holds the unified diff's hunks. GitHub leaves it out for binary
	// files and for diffs too large to show: such a file has no line a
	// comment may go on.
	Patch string
}

// Diff knows the lines of a pull request a review comment may be placed on:
// GitHub accepts a comment only on a line of one of the diff's hunks, and
// this review comments on the new version of a file (side RIGHT), so the
// lines are the hunks' new-side lines, context and additions alike.
type Diff struct {
	hunks map[string][]span // path -> the hunks' new-side line ranges, in order
}

// span is a range of lines, both ends included.
type span struct{ start, end int }

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

// NewDiff reads the files' patches. A patch that is not a unified diff is an
// error: guessing would put comments where GitHub refuses them.
func NewDiff(files []File) (Diff, error) {
	d := Diff{hunks: map[string][]span{}}
	for _, f := range files {
		if f.Status == "removed" || f.Patch == "" {
			continue
		}
		spans, err := parsePatch(f.Patch)
		if err != nil {
			return Diff{}, fmt.Errorf("the diff of %s: %w", f.Path, err)
		}
		if len(spans) > 0 {
			d.hunks[f.Path] = spans
		}
	}
	return d, nil
}

// parsePatch returns the new-side line range of each hunk, checking each
// hunk's body against its header's counts.
func parsePatch(patch string) ([]span, error) {
	var spans []span
	lines := strings.Split(strings.TrimSuffix(patch, "\n"), "\n")
	for i := 0; i < len(lines); {
		m := hunkHeader.FindStringSubmatch(lines[i])
		if m == nil {
			return nil, fmt.Errorf("line %d: %q is not a hunk header", i+1, cut(lines[i], 40))
		}
		oldCount, newStart, newCount := count(m[2]), atoi(m[3]), count(m[4])
		i++
		seenOld, seenNew := 0, 0
		for ; i < len(lines) && !strings.HasPrefix(lines[i], "@@"); i++ {
			switch l := lines[i]; {
			case strings.HasPrefix(l, "+"):
				seenNew++
			case strings.HasPrefix(l, "-"):
				seenOld++
			case strings.HasPrefix(l, `\`): // "\ No newline at end of file"
			default: // context; GitHub may drop the space of an empty context line
				seenOld++
				seenNew++
			}
		}
		if seenOld != oldCount || seenNew != newCount {
			return nil, fmt.Errorf("a hunk at +%d says -%d/+%d lines and has -%d/+%d", newStart, oldCount, newCount, seenOld, seenNew)
		}
		if newCount > 0 {
			spans = append(spans, span{newStart, newStart + newCount - 1})
		}
	}
	return spans, nil
}

// count reads a hunk header's line count, which is 1 when left out.
func count(s string) int {
	if s == "" {
		return 1
	}
	return atoi(s)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Commentable reports whether a comment may go on line of path.
func (d Diff) Commentable(path string, line int) bool {
	return d.Range(path, line, line)
}

// Range reports whether a comment may span lines start to end of path:
// GitHub wants both ends in the same hunk.
func (d Diff) Range(path string, start, end int) bool {
	if start < 1 || end < start {
		return false
	}
	spans := d.hunks[path]
	i := sort.Search(len(spans), func(i int) bool { return spans[i].end >= end })
	return i < len(spans) && spans[i].start <= start
}

// Lines counts the lines a comment may go on, for the review's summary.
func (d Diff) Lines() int {
	n := 0
	for _, spans := range d.hunks {
		for _, s := range spans {
			n += s.end - s.start + 1
		}
	}
	return n
}

// Summary lists, per file, the lines a comment may go on: "main.tf: lines
// 11-20". It tells a model where its comments can be posted.
func (d Diff) Summary() string {
	paths := make([]string, 0, len(d.hunks))
	for p := range d.hunks {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		var ranges []string
		for _, s := range d.hunks[p] {
			if s.start == s.end {
				ranges = append(ranges, strconv.Itoa(s.start))
			} else {
				ranges = append(ranges, fmt.Sprintf("%d-%d", s.start, s.end))
			}
		}
		fmt.Fprintf(&b, "%s: lines %s\n", p, strings.Join(ranges, ", "))
	}
	return b.String()
}
