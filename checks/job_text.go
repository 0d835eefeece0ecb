package checks

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// untrusted prepares user-provided text for a job message: secrets redacted,
// control and bidi characters dropped, length bounded.
func untrusted(s string) string {
	s = Redact(s)
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == utf8.RuneError, unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	return truncate(s, maxEcho)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = " …(truncated)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// oneLine collapses untrusted text onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(untrusted(s)), " ")
}

// inlineCode renders untrusted text as one inline code span, so markdown,
// mentions and links in it stay inert. Backticks inside are replaced: a span
// cannot be made to end early.
func inlineCode(s string) string {
	s = strings.ReplaceAll(oneLine(s), "`", "'")
	if s == "" {
		return "``"
	}
	return "`" + s + "`"
}

// fence renders untrusted text as a fenced code block whose fence is longer
// than any backtick run inside it.
func fence(s string) string {
	return CodeFence("text", strings.TrimRight(untrusted(s), "\n"))
}

// CodeFence renders s as a fenced code block of a language whose fence is
// longer than any backtick run in s.
func CodeFence(lang, s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	return f + lang + "\n" + s + "\n" + f
}

// plural renders "1 attempt", "3 attempts".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// triggerText says in words what started a job.
func triggerText(j JobInfo) string {
	switch j.Source {
	case "issue_comment":
		return fmt.Sprintf("`/agent %s` comment", j.Kind)
	case "pull_request_review_comment":
		return fmt.Sprintf("`/agent %s` review comment", j.Kind)
	case "issues":
		if j.TriggerDetail == "" {
			return "remediation label"
		}
		return "label " + inlineCode(j.TriggerDetail)
	case "pull_request":
		return "pull request update (automatic review)"
	case "check_run", "check_suite":
		if j.TriggerDetail == "" {
			return "failing check (automatic fix)"
		}
		return "failing check " + inlineCode(j.TriggerDetail) + " (automatic fix)"
	}
	return inlineCode(j.Source)
}
