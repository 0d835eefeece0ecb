package checks

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMarkedStaysWithinTheCommentLimit(t *testing.T) {
	marker := ReplyMarker("denied:issue_comment:42")
	for _, body := range []string{"short", strings.Repeat("é", maxComment)} {
		got := Marked(body, marker)
		if !strings.HasSuffix(got, "\n"+marker) {
			t.Errorf("the marker is not the last line: %q", got[max(0, len(got)-80):])
		}
		if n := utf8.RuneCountInString(got); n > maxComment || len(got) > maxComment {
			t.Errorf("marked comment is %d characters (%d bytes), over GitHub's %d", n, len(got), maxComment)
		}
	}
	if m := ReplyMarker("a--b"); strings.Count(m, "--") != 2 {
		t.Errorf("marker %q: a key must not end the HTML comment early", m)
	}
}
