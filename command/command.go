// Package command finds `/agent` commands in GitHub comment bodies.
//
// A command is a line of visible prose that starts with `/agent`, the way
// GitHub renders the comment. The block structure comes from goldmark's
// CommonMark parser (with GFM tables), so quoted text (including lazy
// continuation lines of a quote), fenced and indented code, tables and HTML
// blocks never yield a command; a linear scan of the paragraphs that hold a
// candidate line finds code spans and inline HTML (comments included) that
// run across lines. Where the rendering is doubtful the parser errs towards
// finding no command: acting on text a reader cannot see is the failure that
// matters.
package command

import (
	"bytes"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Prefix starts every command.
const Prefix = "/agent"

// The known subcommands.
const (
	Fix    = "fix"
	Plan   = "plan"
	Review = "review"
	Cancel = "cancel"
	Help   = "help"
)

// Limits on what Parse returns.
const (
	// MaxArgsBytes caps Command.Args.
	MaxArgsBytes = 4000
	// MaxNameBytes caps the unknown word kept in Command.Name.
	MaxNameBytes = 64
	// MaxCommands caps the commands Parse returns for one body.
	MaxCommands = 10
	// MaxNesting caps the quotes and list items one line may open. No command
	// comment nests that deep, and deeper nesting makes Markdown parsing
	// quadratic in the line's length.
	MaxNesting = 64
)

// Command is one `/agent` command found in a comment.
type Command struct {
	// Name is the subcommand in lower case (fix, plan, review, cancel, help),
	// or the unknown word as typed (at most MaxNameBytes). `/agent` alone is
	// help.
	Name string
	// Args is the rest of the command's line: trimmed, HTML comments removed,
	// at most MaxArgsBytes. Only that line: the lines below it are not part of
	// the command.
	Args string
	// Known reports whether Name is a known subcommand.
	Known bool
	// Line is the 1-based line of body the command is on.
	Line int
}

// Parse returns the `/agent` commands at the start of a line of body, in
// order, at most MaxCommands. The caller acts on the first one only; the
// others are returned so that a reply can mention them.
//
// Body is read through Clean, so hidden and bidi control characters are
// removed before matching: `/ag<U+200B>ent fix` is `/agent fix`, and
// `/agent<U+200B>fix` is `/agentfix`, which is not a command — what is matched
// is what a reader sees. The rules:
//
//   - The line may be indented by at most three spaces (four or a tab make it
//     code), and must be part of a paragraph (or a setext heading) outside any
//     block quote: list items (`- /agent fix`), ATX headings, tables, quotes,
//     code and HTML blocks do not count.
//   - `/agent` and the subcommand are matched ignoring ASCII case only
//     (`/Agent FIX` is fix); non-ASCII look-alikes never match.
//   - `/agent` must be followed by white space or the end of the line
//     (`/agents`, `/agent:` are not commands). The subcommand is the next
//     word; the rest of the line is Args.
//   - A line that starts inside a code span or inline HTML (a comment, a tag
//     spanning lines) is no command; a "tag" longer than 1,024 bytes hides
//     the rest of its paragraph.
//   - Only the first MaxBodyBytes of body are read, and a body with a line
//     nested more than MaxNesting quotes or list items deep, or indented more
//     than maxIndent columns (lists nest by indentation too), has no
//     command. These bound the work an adversarial comment can cause to
//     linear in its length (TestParseIsLinear counts the steps).
//
// Link reference definitions are not recognised: they cost quadratic time to
// parse, and the only command line one can hide ("[x]:\n/agent 'title'") is
// `/agent` followed by nothing or a quoted title, which Parse reads as help or
// an unknown word: a reply, never a job.
func Parse(body string) []Command { return parse(body, nil) }

// parseMarkdown parses src as Markdown. goldmark panics on some inputs (an
// index out of range in its fenced code parser for "/agent\n\t`"): a
// hostile comment must not crash its handler, so a panic reads as no
// document.
func parseMarkdown(src []byte, m *meter) (doc ast.Node, ok bool) {
	defer func() {
		if recover() != nil {
			doc, ok = nil, false
		}
	}()
	return newMarkdownParser().Parse(m.reader(text.NewReader(src))), true
}

// parse is Parse, counting its steps in m (when not nil).
func parse(body string, m *meter) []Command {
	src := []byte(Clean(body))
	m.add(len(src))
	if !containsFold(src, Prefix) {
		return nil // most comments: no need to parse Markdown
	}
	m.add(len(src))
	if tooDeep(src) {
		return nil // fail safe: such a body is no command comment
	}
	doc, ok := parseMarkdown(src, m)
	if !ok {
		return nil // fail safe: a body the Markdown parser cannot read is no command comment
	}
	starts := lineStarts(src)
	var cmds []Command
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindBlockquote:
			return ast.WalkSkipChildren, nil
		case ast.KindParagraph, ast.KindTextBlock, ast.KindHeading:
			cmds = appendBlock(cmds, src, starts, n, m)
			if len(cmds) >= MaxCommands {
				cmds = cmds[:MaxCommands]
				return ast.WalkStop, nil
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return cmds
}

// newMarkdownParser returns a parser for GitHub Flavored Markdown's block
// structure: CommonMark blocks and GFM tables. Inline constructs are left to
// scanInline, which looks for the few that matter in linear time. It is built
// per call: cheap next to parsing, and nothing is shared between goroutines.
func newMarkdownParser() parser.Parser {
	return parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithParagraphTransformers(util.Prioritized(extension.NewTableParagraphTransformer(), 200)),
	)
}

// span is a half-open byte range of the source.
type span struct{ start, stop int }

// appendBlock appends the commands on the lines of the text block n.
func appendBlock(cmds []Command, src []byte, starts []int, n ast.Node, m *meter) []Command {
	lines := n.Lines()
	var scanned bool
	var hidden, comments []span
	h := 0 // hidden[:h] end before the current line: lines come in order
	for i := 0; i < lines.Len(); i++ {
		m.add(1)
		seg := lines.At(i)
		ln := lineIndex(starts, seg.Start)
		p := starts[ln]
		for k := 0; k < 3 && p < len(src) && src[p] == ' '; k++ {
			p++
		}
		// The command must be this block's own text: a list marker or deeper
		// indentation before it means it is not at the start of the line.
		if p < seg.Start || p >= seg.Stop || !hasPrefixFold(src[p:], Prefix) {
			continue
		}
		if !scanned {
			hidden, comments = blockSpans(src, lines, m)
			scanned = true
		}
		for h < len(hidden) && hidden[h].stop <= p {
			h++
			m.add(1)
		}
		if h < len(hidden) && hidden[h].start <= p {
			continue // in a code span or inline HTML
		}
		end := len(src)
		if j := bytes.IndexByte(src[p:], '\n'); j >= 0 {
			end = p + j
		}
		cmd, ok := parseLine(visible(src, p, end, comments))
		if !ok {
			continue
		}
		cmd.Line = ln + 1
		cmds = append(cmds, cmd)
	}
	return cmds
}

// blockSpans returns the hidden spans and HTML comments of a text block, as
// offsets of src, in order. The block's lines are joined first: inline
// constructs run across lines, but not across the container markers between
// them.
func blockSpans(src []byte, lines *text.Segments, m *meter) (hidden, comments []span) {
	type piece struct{ at, src, n int }
	var buf []byte
	pieces := make([]piece, 0, lines.Len())
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		pieces = append(pieces, piece{len(buf), seg.Start, seg.Stop - seg.Start})
		buf = append(buf, src[seg.Start:seg.Stop]...)
	}
	// Spans and pieces are both in order: one pass over each maps every span
	// onto the pieces it covers.
	toSrc := func(spans []span) []span {
		var out []span
		k := 0
		for _, sp := range spans {
			for k < len(pieces) && pieces[k].at+pieces[k].n <= sp.start {
				k++
				m.add(1)
			}
			for j := k; j < len(pieces) && pieces[j].at < sp.stop; j++ {
				m.add(1)
				pc := pieces[j]
				lo, hi := max(sp.start, pc.at), min(sp.stop, pc.at+pc.n)
				if lo < hi {
					out = append(out, span{pc.src + lo - pc.at, pc.src + hi - pc.at})
				}
			}
		}
		return out
	}
	h, c := scanInline(buf, m)
	return toSrc(h), toSrc(c)
}

// parseLine parses a line that may start with Prefix.
func parseLine(line string) (Command, bool) {
	if !hasPrefixFold([]byte(line), Prefix) {
		return Command{}, false
	}
	rest := line[len(Prefix):]
	if r, _ := utf8.DecodeRuneInString(rest); rest != "" && !unicode.IsSpace(r) {
		return Command{}, false
	}
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	word, args := rest, ""
	if i := strings.IndexFunc(rest, unicode.IsSpace); i >= 0 {
		word, args = rest[:i], rest[i:]
	}
	cmd := Command{Args: truncate(strings.TrimSpace(args), MaxArgsBytes)}
	cmd.Args = strings.TrimRightFunc(cmd.Args, unicode.IsSpace)
	switch name := asciiLower(word); name {
	case "":
		cmd.Name, cmd.Known = Help, true
	case Fix, Plan, Review, Cancel, Help:
		cmd.Name, cmd.Known = name, true
	default:
		cmd.Name = truncate(word, MaxNameBytes)
	}
	return cmd, true
}

// visible returns src[start:end] without the parts inside comments.
func visible(src []byte, start, end int, comments []span) string {
	var b strings.Builder
	for _, c := range comments {
		if c.stop <= start || c.start >= end {
			continue
		}
		if c.start > start {
			b.Write(src[start:c.start])
		}
		start = max(start, c.stop)
	}
	if start < end {
		b.Write(src[start:end])
	}
	return b.String()
}

// lineStarts returns the offset of the first byte of every line of src.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineIndex returns the 0-based line that offset p is on.
func lineIndex(starts []int, p int) int {
	return sort.Search(len(starts), func(i int) bool { return starts[i] > p }) - 1
}

// maxIndent bounds the indentation of a line, in columns (a tab counts 4):
// lists nest by indentation too, at least two columns a level, and a line
// indented past MaxNesting levels would keep that many containers open for
// every line after it.
const maxIndent = 2*MaxNesting + 4

// tooDeep reports whether a line of src opens more than MaxNesting block
// quotes and list items, or is indented past maxIndent. It counts generously
// (any white space between markers), so it may refuse a body that nests a
// little less than that.
func tooDeep(src []byte) bool {
	for _, line := range bytes.Split(src, []byte("\n")) {
		if indentWidth(line) > maxIndent {
			return true
		}
		depth := 0
		for i := 0; i < len(line); {
			switch c := line[i]; {
			case c == ' ' || c == '\t':
				i++
				continue
			case c == '>':
				i++
			case c == '-' || c == '+' || c == '*':
				i++
				if i < len(line) && line[i] != ' ' && line[i] != '\t' {
					i = len(line)
					continue
				}
			case c >= '0' && c <= '9':
				j := i
				for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
					j++
				}
				if j >= len(line) || (line[j] != '.' && line[j] != ')') {
					i = len(line)
					continue
				}
				i = j + 1
			default:
				i = len(line)
				continue
			}
			if depth++; depth > MaxNesting {
				return true
			}
		}
	}
	return false
}

// indentWidth returns the columns of a line's leading white space.
func indentWidth(line []byte) int {
	w := 0
	for _, c := range line {
		switch c {
		case ' ':
			w++
		case '\t':
			w += 4 - w%4
		default:
			return w
		}
	}
	return w
}

// asciiLower lowercases ASCII letters only, so that no Unicode case folding
// (the Kelvin sign folds to k) can turn a look-alike into a command.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// containsFold reports whether src contains the lower-case ASCII string sub,
// ignoring ASCII case.
func containsFold(src []byte, sub string) bool {
	for i := range src {
		if hasPrefixFold(src[i:], sub) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether b starts with the lower-case ASCII string
// prefix, ignoring ASCII case.
func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
