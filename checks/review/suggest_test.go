package review

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks"
)

// apply does what GitHub does when every suggestion is committed: each
// replaces its lines with its content.
func apply(t *testing.T, before []byte, hs []hunk) string {
	t.Helper()
	lines := splitLines(before)
	for i := len(hs) - 1; i >= 0; i-- {
		h := hs[i]
		if h.start < 1 {
			t.Fatalf("hunk %d has no line to go on: %+v", i, h)
		}
		if !slices.Equal(lines[h.start-1:h.end], h.old) {
			t.Fatalf("hunk %d says lines %d-%d are %q, they are %q", i, h.start, h.end, h.old, lines[h.start-1:h.end])
		}
		lines = slices.Concat(lines[:h.start-1], h.lines, lines[h.end:])
	}
	return strings.Join(lines, "\n")
}

func TestSuggestionsGiveTheFixedFile(t *testing.T) {
	cases := map[string][2]string{
		"policy fix adds an attribute": {
			"resource \"aws_s3_bucket\" \"data\" {\n  bucket = \"data\"\n}\n",
			"resource \"aws_s3_bucket\" \"data\" {\n  bucket = \"data\"\n  acl    = \"private\"\n}\n"},
		"fmt realigns":      {"a = 1\nbb = 2\n", "a  = 1\nbb = 2\n"},
		"insert at the top": {"x = 1\n", "# header\nx = 1\n"},
		"append at the end": {"x = 1\n", "x = 1\ny = 2\n"},
		"delete a line":     {"x = 1\ny = 2\nz = 3\n", "x = 1\nz = 3\n"},
		"two far changes":   {"a\nb\nc\nd\ne\nf\ng\n", "A\nb\nc\nd\ne\nf\nG\n"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			hs := hunks(Change{Path: "main.tf", Before: []byte(c[0]), After: []byte(c[1])})
			if len(hs) == 0 {
				t.Fatal("no hunks")
			}
			if got := apply(t, []byte(c[0]), hs); got != strings.TrimSuffix(c[1], "\n") {
				t.Errorf("applying the suggestions gives\n%s\nwant\n%s", got, c[1])
			}
		})
	}
}

// TestSuggestionsRandom: whatever the edit, committing every suggestion gives
// the fixed file.
func TestSuggestionsRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	words := []string{"a = 1", "b = 2", "}", "resource \"x\" \"y\" {", "", "  tags = {}", "c = 3"}
	for i := 0; i < 500; i++ {
		var before []string
		for n := rnd.IntN(12) + 1; n > 0; n-- {
			before = append(before, words[rnd.IntN(len(words))])
		}
		after := slices.Clone(before)
		for n := rnd.IntN(4) + 1; n > 0; n-- {
			switch p := rnd.IntN(len(after) + 1); rnd.IntN(3) {
			case 0:
				after = slices.Insert(after, p, words[rnd.IntN(len(words))]+" # new")
			case 1:
				if p < len(after) && len(after) > 1 {
					after = slices.Delete(after, p, p+1)
				}
			default:
				if p < len(after) {
					after[p] += " # changed"
				}
			}
		}
		b, a := strings.Join(before, "\n")+"\n", strings.Join(after, "\n")+"\n"
		hs := hunks(Change{Path: "main.tf", Before: []byte(b), After: []byte(a)})
		if got := apply(t, []byte(b), hs); got != strings.TrimSuffix(a, "\n") {
			t.Fatalf("case %d: applying %d suggestions to\n%s\ngives\n%s\nwant\n%s", i, len(hs), b, got, a)
		}
	}
}

func TestSuggestionWithheld(t *testing.T) {
	secret := Change{Path: "main.tf", Before: []byte("x = 1\n"), After: []byte("x = 1\npassword = \"hunter2hunter2\"\n")}
	if why := hunks(secret)[0].suggestable(); why != "it touches a secret-looking value" {
		t.Errorf("a fix that writes a secret: %q", why)
	}
	huge := Change{Path: "main.tf", Before: []byte("x = 1\n"), After: []byte("x = 1\n" + strings.Repeat("# long line\n", 3000))}
	if why := hunks(huge)[0].suggestable(); why != "it is too large for a suggestion" {
		t.Errorf("a huge fix: %q", why)
	}
	empty := Change{Path: "main.tf", After: []byte("x = 1\n")}
	if why := hunks(empty)[0].suggestable(); why != "it creates a file" {
		t.Errorf("a fix of an empty file: %q", why)
	}
	// A suggestion is fenced longer than any backtick run in its content.
	h := hunks(Change{Path: "main.tf", Before: []byte("x = 1\n"), After: []byte("x = \"````\"\n")})[0]
	if s := h.suggestion(); !strings.HasPrefix(s, "`````suggestion\n") || !strings.HasSuffix(s, "\n`````") {
		t.Errorf("suggestion = %q", s)
	}
}

func TestCredit(t *testing.T) {
	fixes := []Fix{{Kind: FixPolicy, Line: 1, Rule: "main.a"}, {Kind: FixPolicy, Line: 10, Rule: "main.b"}, {Kind: FixFmt}}
	for line, want := range map[int]string{1: "main.a", 9: "main.a", 10: "main.b", 40: "main.b"} {
		if got := credit(fixes, line); got.Rule != want {
			t.Errorf("credit(%d) = %+v, want %s", line, got, want)
		}
	}
	if got := credit([]Fix{{Kind: FixPolicy, Line: 5}}, 2); got.Kind != FixFmt {
		t.Errorf("a hunk above every policy finding is fmt's, got %+v", got)
	}
}

// TestSameFixTwice: the same change made to two resources is two
// suggestions, each with its finding.
func TestSameFixTwice(t *testing.T) {
	before := "resource \"x\" \"a\" {\n  public = true\n}\n\nresource \"x\" \"b\" {\n  public = true\n}\n"
	after := strings.ReplaceAll(before, "true", "false")
	d, err := NewDiff([]File{{Path: "main.tf", Status: "added", Patch: "@@ -0,0 +1,7 @@\n" +
		"+" + strings.ReplaceAll(strings.TrimSuffix(before, "\n"), "\n", "\n+")}})
	if err != nil {
		t.Fatal(err)
	}
	f := func(line int, name string) checks.Finding {
		return checks.Finding{Severity: checks.SeverityFailure, Message: name + " is public", File: "main.tf", Line: line,
			Source: "policy", Namespace: "main", Rule: "deny", Address: "x." + name}
	}
	r := Build(Input{JobID: "j", Diff: d, Report: checks.Report{Roots: []checks.RootResult{{Dir: ".", Findings: []checks.Finding{f(1, "a"), f(5, "b")}}}},
		Changes: []Change{{Path: "main.tf", Before: []byte(before), After: []byte(after), Fixes: []Fix{
			{Kind: FixPolicy, Line: 1, Rule: "main.deny", Description: "public = false on x.a"},
			{Kind: FixPolicy, Line: 5, Rule: "main.deny", Description: "public = false on x.b"}}}}})
	if len(r.Comments) != 2 {
		t.Fatalf("%d comments, want 2", len(r.Comments))
	}
	for i, c := range r.Comments {
		name := []string{"a", "b"}[i]
		if c.Line != []int{2, 6}[i] || !strings.Contains(c.Body, name+" is public") || !strings.Contains(c.Body, "```suggestion\n  public = false\n```") {
			t.Errorf("comment %d on line %d:\n%s", i, c.Line, c.Body)
		}
	}
}
