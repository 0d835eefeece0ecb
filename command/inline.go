package command

import "bytes"

// maxTagBytes bounds the scan of one inline HTML tag. A longer "tag" hides the
// rest of its paragraph: real tags are far shorter, and the bound keeps the
// scan linear in the paragraph's length.
const maxTagBytes = 1024

// inlineScanner finds the inline constructs of one paragraph's text that hide
// what they contain from a reader of the rendered comment: code spans (their
// text shows as code, not as a command) and raw HTML (tags, comments,
// processing instructions, declarations, CDATA), following CommonMark's
// precedence: the construct that starts first wins, and backslash escapes and
// autolinks take their characters out of play. Emphasis and links change
// nothing about where a line starts and are not parsed.
//
// Every search remembers where it stopped, so a paragraph is scanned in time
// linear in its length even when it is full of openers that never close:
// goldmark's own inline parser is quadratic on those.
type inlineScanner struct {
	m     *meter
	text  []byte
	runs  map[int][]int // backtick run length → start of each maximal run, ascending
	next  map[int]int   // backtick run length → index of the first run not yet passed
	finds map[string]found
}

// found memoizes a search for a needle: searching from any position in
// [from, at] finds at (at == -1: nothing after from).
type found struct{ from, at int }

// scanInline returns the hidden spans of text, and among them the HTML
// comments.
func scanInline(text []byte, m *meter) (hidden, comments []span) {
	s := &inlineScanner{m: m, text: text, runs: map[int][]int{}, next: map[int]int{}, finds: map[string]found{}}
	for i := 0; i < len(text); {
		m.add(1)
		if text[i] != '`' {
			i++
			continue
		}
		k := s.run(i)
		s.runs[k] = append(s.runs[k], i)
		i += k
	}
	for i := 0; i < len(text); {
		m.add(1)
		switch text[i] {
		case '\\':
			if i+1 < len(text) && isASCIIPunct(text[i+1]) {
				i += 2
				continue
			}
			i++
		case '`':
			k := s.run(i)
			if end, ok := s.closeCode(i+k, k); ok {
				hidden = append(hidden, span{i, end})
				i = end
				continue
			}
			i += k
		case '<':
			if end, ok := s.autolink(i); ok {
				i = end
				continue
			}
			if end, comment, ok := s.rawHTML(i); ok {
				hidden = append(hidden, span{i, end})
				if comment {
					comments = append(comments, span{i, end})
				}
				i = end
				continue
			}
			i++
		default:
			i++
		}
	}
	return hidden, comments
}

// run returns the number of backticks starting at i.
func (s *inlineScanner) run(i int) int {
	k := 0
	for i+k < len(s.text) && s.text[i+k] == '`' {
		k++
	}
	s.m.add(k)
	return k
}

// closeCode returns the end of the first maximal run of exactly k backticks
// starting at or after from.
func (s *inlineScanner) closeCode(from, k int) (int, bool) {
	starts := s.runs[k]
	j := s.next[k]
	for j < len(starts) && starts[j] < from {
		j++
		s.m.add(1)
	}
	s.next[k] = j
	if j == len(starts) {
		return 0, false
	}
	return starts[j] + k, true
}

// find returns the index of needle at or after from, or -1.
func (s *inlineScanner) find(needle string, from int) int {
	if f, ok := s.finds[needle]; ok && from >= f.from && (f.at < 0 || from <= f.at) {
		return f.at
	}
	at := -1
	if from <= len(s.text) {
		if j := bytes.Index(s.text[from:], []byte(needle)); j >= 0 {
			at = from + j
			s.m.add(j)
		} else {
			s.m.add(len(s.text) - from)
		}
	}
	s.finds[needle] = found{from, at}
	return at
}

// closeWith returns the end of the construct that ends with the first
// needle at or after from.
func (s *inlineScanner) closeWith(needle string, from int) (int, bool) {
	at := s.find(needle, from)
	if at < 0 {
		return 0, false
	}
	return at + len(needle), true
}

// rawHTML matches inline raw HTML at i (text[i] == '<').
func (s *inlineScanner) rawHTML(i int) (end int, comment, ok bool) {
	t := s.text[i:]
	switch {
	case bytes.HasPrefix(t, []byte("<!-->")):
		return i + 5, true, true
	case bytes.HasPrefix(t, []byte("<!--->")):
		return i + 6, true, true
	case bytes.HasPrefix(t, []byte("<!--")):
		end, ok = s.closeWith("-->", i+4)
		return end, true, ok
	case bytes.HasPrefix(t, []byte("<?")):
		end, ok = s.closeWith("?>", i+2)
		return end, false, ok
	case bytes.HasPrefix(t, []byte("<![CDATA[")):
		end, ok = s.closeWith("]]>", i+9)
		return end, false, ok
	case len(t) > 2 && t[1] == '!' && isASCIILetter(t[2]):
		end, ok = s.closeWith(">", i+2)
		return end, false, ok
	case len(t) > 2 && t[1] == '/' && isASCIILetter(t[2]):
		end, ok = s.closingTag(i)
		return end, false, ok
	case len(t) > 1 && isASCIILetter(t[1]):
		end, ok = s.openTag(i)
		return end, false, ok
	}
	return 0, false, false
}

// closingTag matches `</name ws* >` at i.
func (s *inlineScanner) closingTag(i int) (int, bool) {
	j := s.space(s.tagName(i + 2))
	if j < len(s.text) && s.text[j] == '>' {
		return j + 1, true
	}
	return s.giveUp(i, j)
}

// openTag matches `<name (ws+ attr (ws* = ws* value)?)* ws* /? >` at i.
func (s *inlineScanner) openTag(i int) (int, bool) {
	t := s.text
	j := s.tagName(i + 1)
	for {
		k := s.space(j)
		switch {
		case k < len(t) && t[k] == '>':
			return k + 1, true
		case k+1 < len(t) && t[k] == '/' && t[k+1] == '>':
			return k + 2, true
		case k == j || k >= len(t) || !isAttrStart(t[k]) || k-i > maxTagBytes:
			return s.giveUp(i, k)
		}
		j = k + 1
		for j < len(t) && isAttrChar(t[j]) {
			j++
		}
		s.m.add(j - k)
		k = s.space(j)
		if k >= len(t) || t[k] != '=' {
			continue // an attribute without a value; j is after its name
		}
		k = s.space(k + 1)
		switch {
		case k >= len(t):
			return s.giveUp(i, k)
		case t[k] == '"' || t[k] == '\'':
			limit := min(len(t), i+maxTagBytes+1)
			q := bytes.IndexByte(t[k+1:max(k+1, limit)], t[k])
			if q < 0 {
				s.m.add(limit - k)
				return s.giveUp(i, limit)
			}
			s.m.add(q)
			j = k + 1 + q + 1
		default:
			j = k
			for j < len(t) && isUnquotedChar(t[j]) {
				j++
			}
			s.m.add(j - k)
			if j == k {
				return s.giveUp(i, j)
			}
		}
	}
}

// giveUp ends a tag scan that stopped at end without finding '>': no tag,
// unless the scan went past maxTagBytes. Then the rest of the paragraph is
// hidden, which keeps the work bounded and errs towards finding no command.
func (s *inlineScanner) giveUp(start, end int) (int, bool) {
	if end-start > maxTagBytes {
		return len(s.text), true
	}
	return 0, false
}

// tagName returns the end of the tag name starting at i.
func (s *inlineScanner) tagName(i int) int {
	start := i
	for i < len(s.text) && (isASCIILetter(s.text[i]) || isDigit(s.text[i]) || s.text[i] == '-') {
		i++
	}
	s.m.add(i - start)
	return i
}

// space returns the end of the white space (line endings included) at i.
func (s *inlineScanner) space(i int) int {
	start := i
	for i < len(s.text) && (s.text[i] == ' ' || s.text[i] == '\t' || s.text[i] == '\n') {
		i++
	}
	s.m.add(i - start)
	return i
}

// autolink matches a URI or email autolink at i (text[i] == '<'). Its
// characters are out of play for code spans and HTML.
func (s *inlineScanner) autolink(i int) (end int, ok bool) {
	t := s.text
	j := i + 1
	defer func() { s.m.add(j - i) }()
	for j < len(t) && j-i <= 33 && (isASCIILetter(t[j]) || (j > i+1 && (isDigit(t[j]) || t[j] == '+' || t[j] == '.' || t[j] == '-'))) {
		j++
	}
	if n := j - i - 1; n >= 2 && n <= 32 && j < len(t) && t[j] == ':' {
		for j++; j < len(t) && t[j] > ' ' && t[j] != '<' && t[j] != '>'; j++ {
		}
		if j < len(t) && t[j] == '>' {
			return j + 1, true
		}
		return 0, false
	}
	j = i + 1
	for j < len(t) && isEmailLocal(t[j]) {
		j++
	}
	if j == i+1 || j >= len(t) || t[j] != '@' {
		return 0, false
	}
	k := j + 1
	for k < len(t) && (isASCIILetter(t[k]) || isDigit(t[k]) || t[k] == '-' || t[k] == '.') {
		k++
	}
	if k > j+1 && k < len(t) && t[k] == '>' {
		return k + 1, true
	}
	return 0, false
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isASCIIPunct(c byte) bool {
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')
}

func isAttrStart(c byte) bool { return isASCIILetter(c) || c == '_' || c == ':' }

func isAttrChar(c byte) bool {
	return isAttrStart(c) || isDigit(c) || c == '.' || c == '-'
}

func isUnquotedChar(c byte) bool {
	return c > ' ' && c != '"' && c != '\'' && c != '=' && c != '<' && c != '>' && c != '`'
}

func isEmailLocal(c byte) bool {
	return isASCIILetter(c) || isDigit(c) || bytes.IndexByte([]byte(".!#$%&'*+/=?^_`{|}~-"), c) >= 0
}
