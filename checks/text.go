package checks

// The text helpers other renderers (the pull request review) share, so
// untrusted text is made inert the same way everywhere.

// EscapeMarkdown makes untrusted text inert on one markdown line: redacted,
// without control characters, with the punctuation markdown acts on
// escaped.
func EscapeMarkdown(s string) string { return escapeMarkdown(s) }

// InlineCode renders untrusted text as one inline code span that cannot be
// made to end early.
func InlineCode(s string) string { return inlineCode(s) }

// Fence renders untrusted text as a fenced code block whose fence is longer
// than any backtick run inside it.
func Fence(s string) string { return fence(s) }

// Plural renders "1 finding", "3 findings".
func Plural(n int, word string) string { return plural(n, word) }

// Thousands formats n with comma separators: 65,536.
func Thousands(n int) string { return thousands(n) }

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func Truncate(s string, n int) string { return truncate(s, n) }
