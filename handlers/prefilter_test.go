package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// commentPayload is a real issue_comment payload (Atlantis's, with an
// installation) whose action and comment body are written by the caller as
// JSON literals, in whatever encoding a test wants.
func commentPayload(t *testing.T, actionJSON, commentJSON string) []byte {
	t.Helper()
	base := applyEdits(t, readPayload(t, "extra/atlantis__githubIssueCommentEvent.json"),
		[]edit{withInstallation(), set("action", "@@ACTION@@"), set("comment.body", "@@BODY@@")})
	out := strings.Replace(string(base), `"@@ACTION@@"`, actionJSON, 1)
	i := strings.Index(out, `"body":"@@BODY@@"`)
	if i < 0 {
		t.Fatal("no comment body in the payload")
	}
	return []byte(out[:i] + commentJSON + out[i+len(`"body":"@@BODY@@"`):])
}

func TestIssueCommentIgnorable(t *testing.T) {
	tests := []struct {
		name            string
		action, comment string // JSON: the action's value, the comment's body member(s)
		want            string // the reason; "" when not ignorable
	}{
		{"no command", `"created"`, `"body":"Looks good to me."`, "no command"},
		{"command", `"created"`, `"body":"/agent fix the tags"`, ""},
		{"command on a later line", `"created"`, `"body":"Hm.\r\n/agent plan"`, ""},
		{"quoted command", `"created"`, `"body":"> /agent fix"`, "no command"},
		{"edited", `"edited"`, `"body":"/agent fix"`, "comment edited"},
		{"deleted", `"deleted"`, `"body":"/agent fix"`, "comment deleted"},
		{"escaped slash", `"created"`, `"body":"\/agent fix"`, ""},
		{"escaped letters", `"created"`, `"body":"\u002fa\u0067ent fix"`, ""},
		{"hidden character inside", `"created"`, `"body":"/ag\u200bent fix"`, ""},
		{"escaped action", `"cr\u0065ated"`, `"body":"hello"`, "no command"},
		{"null body", `"created"`, `"body":null`, "no command"},
		{"body twice", `"created"`, `"body":"hello","body":"/agent fix"`, ""},
		{"body in another case", `"created"`, `"body":"hello","Body":"/agent fix"`, ""},
		{"body with an underscore", `"created"`, `"body":"hello","bo_dy":"/agent fix"`, ""},
		{"body named with a long s", `"created"`, `"body":"hello","ſody":"x"`, ""},
		{"body not a string", `"created"`, `"body":["/agent fix"]`, ""},
		{"action not a string", `7`, `"body":"hello"`, ""},
		{"null action", `null`, `"body":"/agent fix"`, "comment "},
		{"lone surrogate before the command", `"created"`, `"body":"\ud800/agent fix"`, "no command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := commentPayload(t, tc.action, tc.comment)
			if !json.Valid(payload) {
				t.Fatalf("test payload is not JSON: %s", payload)
			}
			reason, ok := (&IssueComment{}).Ignorable("issue_comment", payload)
			if ok != (tc.want != "") || reason != tc.want {
				t.Errorf("Ignorable = %q, %v; want %q, %v", reason, ok, tc.want, tc.want != "")
			}
		})
	}
	for name, payload := range map[string]string{
		"comment null":    `{"action":"created","comment":null}`,
		"comment missing": `{"action":"created"}`,
	} {
		if reason, ok := (&IssueComment{}).Ignorable("issue_comment", []byte(payload)); !ok || reason != "no command" {
			t.Errorf("%s: Ignorable = %q, %v; want no command", name, reason, ok)
		}
	}
	for name, payload := range map[string]string{
		"not JSON":           `/agent fix`,
		"truncated":          `{"action":"created","comment":{"body":"hello"`,
		"array":              `["created"]`,
		"action twice":       `{"action":"edited","action":"created","comment":{"body":"hello"}}`,
		"action in capitals": `{"action":"edited","ACTION":"created","comment":{"body":"/agent fix"}}`,
		"comment twice":      `{"action":"created","comment":{"body":"hello"},"comment":{"id":1}}`,
		"comment a string":   `{"action":"created","comment":"/agent fix"}`,
	} {
		if reason, ok := (&IssueComment{}).Ignorable("issue_comment", []byte(payload)); ok {
			t.Errorf("%s: ignorable (%s); a payload in doubt must be decoded in full", name, reason)
		}
	}
}

// FuzzIssueCommentIgnorable is the pre-filter's contract: whatever the
// action, the body and how the JSON spells them, a delivery the pre-filter
// ignores is one the full decode ignores too (or cannot decode). Bodies are
// written into a real payload four ways: as encoding/json writes them, raw
// (invalid UTF-8 left in), with every non-ASCII character and '/' escaped,
// and with a second, case-changed body member. raw, when not empty, is the
// payload itself.
func FuzzIssueCommentIgnorable(f *testing.F) {
	for _, body := range []string{
		"Looks good.", "/agent fix", "/agent", "/Agent PLAN", "> /agent fix", "```\n/agent fix\n```",
		"/ag\u200bent fix", "\xff/agent fix", "x\r/agent plan", "<!--\n/agent fix\n-->", "    /agent fix", "\xed\xa0\x80/agent fix",
	} {
		for shape := range 4 {
			f.Add("created", body, uint8(shape), []byte(nil))
		}
	}
	f.Add("edited", "/agent fix", uint8(0), []byte(nil))
	f.Add("", "", uint8(0), []byte(`{"action":"created","comment":{"body":"hi","Body":"/agent fix"}}`))
	f.Add("", "", uint8(0), []byte(`{"action":"created","comment":{"body":"/agent fix","body":null}}`))
	f.Add("", "", uint8(0), []byte(`{"Action":"created","action":"edited","comment":{"body":"/agent fix"}}`))
	f.Fuzz(func(t *testing.T, action, body string, shape uint8, raw []byte) {
		payload := raw
		if len(raw) == 0 {
			payload = commentPayload(t, quote(action, 0), writeBody(body, shape))
		}
		sub := &recordingSubmitter{}
		h := &IssueComment{Jobs: sub}
		reason, ignorable := h.Ignorable("issue_comment", payload)
		if !ignorable {
			return
		}
		err := h.handleEvent(context.Background(), "issue_comment", "d-fuzz", payload)
		if tasks := sub.recorded(); len(tasks) > 0 {
			t.Fatalf("the pre-filter ignored (%s) a delivery that submits %+v:\n%s", reason, tasks, payload)
		}
		if err != nil && !strings.Contains(err.Error(), "decoding issue_comment payload") {
			t.Fatalf("the pre-filter ignored (%s) a delivery the handler acts on (%v):\n%s", reason, err, payload)
		}
	})
}

// writeBody writes the comment's body member for a shape (see
// FuzzIssueCommentIgnorable).
func writeBody(body string, shape uint8) string {
	switch shape % 4 {
	case 3:
		return `"body":` + quote("a harmless body", 0) + `,"Body":` + quote(body, 0)
	default:
		return `"body":` + quote(body, shape%4)
	}
}

// quote writes s as a JSON string: 0 as encoding/json does, 1 with only the
// escapes JSON requires (invalid UTF-8 left raw), 2 with every non-ASCII
// character and '/' as \u escapes.
func quote(s string, how uint8) string {
	if how == 0 {
		b, _ := json.Marshal(s)
		return string(b)
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case s[i] == '"' || s[i] == '\\':
			b.WriteByte('\\')
			b.WriteByte(s[i])
		case s[i] < 0x20:
			fmt.Fprintf(&b, `\u%04x`, s[i])
		case how == 2 && (s[i] == '/' || s[i] >= utf8.RuneSelf) && !(r == utf8.RuneError && size == 1):
			if r > 0xFFFF {
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}
