package command

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// FuzzParse checks Parse's invariants on arbitrary bodies: it never panics,
// every command sits at the start of a visible line, and nothing inside a
// fence, a quote or an HTML comment is ever a command.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases() {
		if len(tc.body) < 4096 {
			f.Add(tc.body)
		}
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := Parse(body)
		clean := Clean(body)
		checkCommands(t, clean, got)

		if again := Parse(clean); !reflect.DeepEqual(again, got) {
			t.Fatalf("Parse(Clean(body)) = %#v, Parse(body) = %#v", again, got)
		}
		// Differential: never act on a line that goldmark's own CommonMark
		// inline parser says is inside a code span or raw HTML.
		if len(clean) <= 2048 && !tooDeep([]byte(clean)) {
			visible := map[int]bool{}
			for _, line := range goldmarkCommandLines([]byte(clean)) {
				visible[line] = true
			}
			for _, c := range got {
				if !visible[c.Line] {
					t.Fatalf("command %#v on a line goldmark hides", c)
				}
			}
		}
		if len(body) > MaxBodyBytes/4 {
			return // the wrappers below could push it past the bound
		}

		// A fence longer than any run of backticks in the body never closes.
		fence := strings.Repeat("`", strings.Count(clean, "`")+3)
		if cmds := Parse(fence + "\n" + clean); cmds != nil {
			t.Fatalf("command inside a fence: %#v", cmds)
		}
		// Every line quoted.
		if cmds := Parse("> " + strings.ReplaceAll(clean, "\n", "\n> ")); cmds != nil {
			t.Fatalf("command inside a quote: %#v", cmds)
		}
		// An HTML comment that the body does not close.
		if !strings.Contains(clean, "-->") {
			if cmds := Parse("<!--\n" + clean + "\n-->"); cmds != nil {
				t.Fatalf("command inside an HTML comment: %#v", cmds)
			}
		}
		// CRLF line endings change nothing.
		if !strings.Contains(body, "\r") {
			crlf := Parse(strings.ReplaceAll(body, "\n", "\r\n"))
			if !reflect.DeepEqual(crlf, got) {
				t.Fatalf("with CRLF: %#v, with LF: %#v", crlf, got)
			}
		}
	})
}

// goldmarkCommandLines returns the lines Parse would consider, using
// goldmark's inline parser (quadratic on adversarial input, exact on small
// input) instead of scanInline to find code spans and raw HTML.
func goldmarkCommandLines(src []byte) []int {
	p := parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewCodeSpanParser(), 100),
			util.Prioritized(parser.NewAutoLinkParser(), 300),
			util.Prioritized(parser.NewRawHTMLParser(), 400),
		),
		parser.WithParagraphTransformers(util.Prioritized(extension.NewTableParagraphTransformer(), 200)),
	)
	doc := p.Parse(text.NewReader(src))
	starts := lineStarts(src)
	var lines []int
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindBlockquote:
			return ast.WalkSkipChildren, nil
		case ast.KindParagraph, ast.KindTextBlock, ast.KindHeading:
		default:
			return ast.WalkContinue, nil
		}
		var hidden []span
		_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
			if !entering {
				return ast.WalkContinue, nil
			}
			switch c := c.(type) {
			case *ast.CodeSpan:
				for t := c.FirstChild(); t != nil; t = t.NextSibling() {
					if txt, ok := t.(*ast.Text); ok {
						hidden = append(hidden, span{txt.Segment.Start, txt.Segment.Stop})
					}
				}
			case *ast.RawHTML:
				for i := 0; i < c.Segments.Len(); i++ {
					hidden = append(hidden, span{c.Segments.At(i).Start, c.Segments.At(i).Stop})
				}
			}
			return ast.WalkContinue, nil
		})
		for i := 0; i < n.Lines().Len(); i++ {
			seg := n.Lines().At(i)
			ln := lineIndex(starts, seg.Start)
			p := starts[ln]
			for k := 0; k < 3 && p < len(src) && src[p] == ' '; k++ {
				p++
			}
			if p >= seg.Start && p < seg.Stop && !within(hidden, p) {
				lines = append(lines, ln+1)
			}
		}
		return ast.WalkSkipChildren, nil
	})
	return lines
}

// checkCommands asserts what every returned command must satisfy.
func checkCommands(t *testing.T, clean string, cmds []Command) {
	t.Helper()
	if len(cmds) > MaxCommands {
		t.Fatalf("%d commands, more than %d", len(cmds), MaxCommands)
	}
	lines := strings.Split(clean, "\n")
	prev := 0
	for _, c := range cmds {
		if c.Line <= prev || c.Line > len(lines) {
			t.Fatalf("command %#v: line out of order or range (previous %d, %d lines)", c, prev, len(lines))
		}
		prev = c.Line
		line := lines[c.Line-1]
		for k := 0; k < 3 && strings.HasPrefix(line, " "); k++ {
			line = line[1:]
		}
		if len(line) < len(Prefix) || asciiLower(line[:len(Prefix)]) != Prefix {
			t.Fatalf("command %#v: line %q does not start with %s", c, lines[c.Line-1], Prefix)
		}
		if c.Name == "" || len(c.Name) > MaxNameBytes || !utf8.ValidString(c.Name) || strings.IndexFunc(c.Name, unicode.IsSpace) >= 0 {
			t.Fatalf("command %#v: bad name", c)
		}
		switch c.Name {
		case Fix, Plan, Review, Cancel, Help:
			if !c.Known {
				t.Fatalf("command %#v: known name not marked known", c)
			}
		default:
			if c.Known {
				t.Fatalf("command %#v: unknown name marked known", c)
			}
		}
		if len(c.Args) > MaxArgsBytes || !utf8.ValidString(c.Args) || strings.Contains(c.Args, "\n") ||
			strings.TrimSpace(c.Args) != c.Args || Clean(c.Args) != c.Args {
			t.Fatalf("command %#v: bad args", c)
		}
	}
}

// within reports whether p lies in one of spans (the oracle's own lookup).
func within(spans []span, p int) bool {
	for _, s := range spans {
		if p >= s.start && p < s.stop {
			return true
		}
	}
	return false
}
