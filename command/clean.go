package command

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxBodyBytes bounds the work Parse and Clean do: GitHub caps a comment at
// 65,536 characters, which UTF-8 encodes in at most four times as many bytes.
// Text beyond it is ignored.
const MaxBodyBytes = 4 * 65536

// Clean returns s as Parse reads it: cut to MaxBodyBytes, invalid UTF-8
// dropped, CRLF and lone CR turned into LF, and every character a reader
// cannot see removed — zero-width and bidi controls (U+200B–U+200F,
// U+202A–U+202E, U+2066–U+2069, U+FEFF, ...; all of Unicode's Cf category),
// other default-ignorable code points (U+034F, U+115F, U+3164, tag
// characters, ...), variation selectors, and control characters other than tab
// and newline. What is left is what GitHub shows, so text hidden from a
// reviewer never reaches a command or the model.
func Clean(s string) string {
	if len(s) > MaxBodyBytes {
		cut := MaxBodyBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			// invalid byte: dropped, as GitHub would not store it
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue // the \n that follows ends the line
			}
			b.WriteByte('\n')
		case hidden(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hidden reports whether r is invisible in rendered text.
func hidden(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r,
		unicode.Cc,
		unicode.Cf,
		unicode.Other_Default_Ignorable_Code_Point,
		unicode.Variation_Selector,
	)
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
