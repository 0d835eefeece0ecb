package review

import (
	"fmt"
	"strings"

	"github.com/infra-agent/infra-agent/checks"
)

// bodyWriter writes a text within a limit: whole paragraphs and list items
// while they fit, then a line saying how many items were left out. The
// footer (the state marker) is always written.
type bodyWriter struct {
	b      strings.Builder
	limit  int
	footer string
}

// noticeRoom is kept free for the notice of a list that does not fit.
const noticeRoom = 160

func newBodyWriter(limit int, footer string) *bodyWriter {
	return &bodyWriter{limit: limit - len(footer), footer: footer}
}

func (w *bodyWriter) room() int { return w.limit - w.b.Len() - noticeRoom }

// text writes s if it fits.
func (w *bodyWriter) text(s string) {
	if s != "" && len(s) <= w.room() {
		w.b.WriteString(s)
	}
}

// list writes the heading and the items that fit as a markdown list, and
// a notice for the rest.
func (w *bodyWriter) list(heading, noun string, items []string) {
	if len(items) == 0 {
		return
	}
	if heading != "" {
		if len(heading)+2 > w.room() {
			return
		}
		w.b.WriteString(heading + "\n\n")
	}
	left := 0
	for i, it := range items {
		line := "- " + it + "\n"
		if len(line) > w.room() {
			left = len(items) - i
			break
		}
		w.b.WriteString(line)
	}
	if left > 0 {
		fmt.Fprintf(&w.b, "- _… %s more %s not shown: GitHub limits a review to %s characters. "+
			"The check runs list everything._\n", checks.Thousands(left), noun, checks.Thousands(MaxText))
	}
	w.b.WriteString("\n")
}

func (w *bodyWriter) String() string { return w.b.String() + w.footer }
