// Package brief builds what the model reads: the system prompt with the hard
// rules, the task brief (trigger and instructions, the diff summary, the
// findings with file:line and the offending blocks rather than whole files, a
// policy digest, the validation status) kept under MaxTokens, and the compact
// feedback of each validation iteration. Every untrusted text — issue and
// pull request bodies, comments, check output, file contents, policy
// messages that quote code — is sanitised (hidden, bidi and zero-width
// characters stripped, HTML comments removed, secrets redacted) and framed as
// data the model must not obey.
package brief

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/infra-agent/infra-agent/checks/redact"
	"github.com/infra-agent/infra-agent/command"
)

// htmlComment matches an HTML comment, or an unterminated one to the end:
// GitHub hides both from readers, so they never reach the model.
var htmlComment = regexp.MustCompile(`(?s)<!--.*?(-->|$)`)

// closingFence matches what would end a data frame early.
var closingFence = regexp.MustCompile(`(?i)</\s*data`)

// Sanitize prepares untrusted text for the model: what a reader of GitHub
// cannot see is removed (hidden, bidi and zero-width characters, HTML
// comments), secrets are redacted, and the text is cut to max bytes.
func Sanitize(s string, max int) string {
	s = command.Clean(s)
	s = htmlComment.ReplaceAllString(s, "")
	s = redact.String(s)
	// Leading spaces may be indentation (numbered file lines); blank lines
	// around the text carry nothing.
	s = strings.TrimRight(strings.TrimLeft(s, "\n"), " \t\n")
	return clip(s, max)
}

// Frame wraps sanitised untrusted text as data: the system prompt tells the
// model that text inside <data> is material to work on, never instructions.
// A closing tag inside the text cannot end the frame.
func Frame(source, text string, max int) string {
	text = Sanitize(text, max)
	text = closingFence.ReplaceAllString(text, "&lt;/data")
	source = strings.Map(func(r rune) rune {
		if r == '"' || r == '<' || r == '>' || r == '\n' {
			return -1
		}
		return r
	}, source)
	return "<data source=\"" + source + "\">\n" + text + "\n</data>"
}

// clip cuts s to max bytes on a character boundary, marking the cut.
func clip(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	const mark = "\n…(truncated)"
	cut := max - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// Comment is a comment on the trigger's issue or pull request.
type Comment struct {
	Author    string
	Body      string
	CreatedAt time.Time
	// UpdatedAt is when it was last edited (zero or equal to CreatedAt
	// when never).
	UpdatedAt time.Time
}

// Usable returns the comments that existed, unedited since, at the trigger:
// a comment written or edited after it could steer a job its author did not
// start.
func Usable(comments []Comment, trigger time.Time) []Comment {
	var out []Comment
	for _, c := range comments {
		if c.CreatedAt.After(trigger) || c.UpdatedAt.After(trigger) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// EstimateTokens estimates a text's tokens: its length over four, the usual
// rule of thumb for English and code.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }
