package checks

import (
	"regexp"
	"strings"
)

// Policy messages are written by the policy's author, often in Markdown
// (`code`, [links](...), *emphasis*). The policies come from the default
// branch, so their markup is rendered in check-run text; what they quote
// from the pull request is not trusted, so only inline code, emphasis and
// links to http(s) URLs render, and everything else markdown would act on
// (HTML, images, headings, tables, mentions) is escaped. Annotations are
// plain text: there the markup is taken out.

// markdownPunctuation is what escapeInto escapes.
const markdownPunctuation = "\\`*_[]<>|#~!&@"

// linkRE matches a Markdown link to an http(s) URL at the start of a string.
var linkRE = regexp.MustCompile(`^\[([^\[\]\n]+)\]\((https?://[^\s()<>]+)\)`)

// messageMarkdown renders a policy message for a markdown line: redacted, on
// one line, its code spans, emphasis and links rendered, the rest escaped.
func messageMarkdown(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		if code, n := codeSpan(s[i:]); n > 0 {
			b.WriteString(code)
			i += n
			continue
		}
		if m := linkRE.FindStringSubmatch(s[i:]); m != nil {
			b.WriteString("[" + escapeMarkdown(m[1]) + "](" + m[2] + ")")
			i += len(m[0])
			continue
		}
		if c := s[i]; c != '*' && c != '_' && strings.IndexByte(markdownPunctuation, c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// messagePlain renders a policy message as plain text, for annotations and
// terminals: code spans lose their backticks, links become "text (url)",
// emphasis markers go.
func messagePlain(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if code, n := codeSpan(s[i:]); n > 0 {
			b.WriteString(strings.TrimSpace(strings.Trim(code, "`")))
			i += n
			continue
		}
		if m := linkRE.FindStringSubmatch(s[i:]); m != nil {
			b.WriteString(m[1] + " (" + m[2] + ")")
			i += len(m[0])
			continue
		}
		if strings.HasPrefix(s[i:], "**") || strings.HasPrefix(s[i:], "__") {
			i += 2
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// codeSpan returns the code span s starts with and its length, or 0: a run
// of backticks, text without a line break, the same run closing it.
func codeSpan(s string) (string, int) {
	n := 0
	for n < len(s) && s[n] == '`' {
		n++
	}
	if n == 0 {
		return "", 0
	}
	fence := s[:n]
	rest := s[n:]
	for off := 0; off < len(rest); {
		j := strings.Index(rest[off:], fence)
		if j < 0 {
			return "", 0
		}
		end := off + j
		// The closing run must be exactly as long as the opening one.
		if end+n < len(rest) && rest[end+n] == '`' {
			off = end + n + 1
			for off < len(rest) && rest[off] == '`' {
				off++
			}
			continue
		}
		if end == 0 || strings.ContainsAny(rest[:end], "\n") {
			return "", 0
		}
		return s[:n+end+n], n + end + n
	}
	return "", 0
}
