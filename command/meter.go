package command

import "github.com/yuin/goldmark/text"

// meter counts the steps a parse takes: bytes examined by the inline scan,
// spans and lines walked, and bytes of the lines the Markdown parser reads.
// It exists so that a test can hold the claim that parsing is linear by
// counting work, not by timing it. A nil meter counts nothing.
type meter struct{ steps int }

func (m *meter) add(n int) {
	if m != nil {
		m.steps += n
	}
}

// reader returns r, counting through m the bytes of every line the Markdown
// parser peeks at: a parser that re-read its input would show it here.
func (m *meter) reader(r text.Reader) text.Reader {
	if m == nil {
		return r
	}
	return &countingReader{Reader: r, m: m}
}

type countingReader struct {
	text.Reader
	m *meter
}

func (r *countingReader) PeekLine() ([]byte, text.Segment) {
	line, seg := r.Reader.PeekLine()
	r.m.add(len(line) + 1)
	return line, seg
}

func (r *countingReader) Peek() byte {
	r.m.add(1)
	return r.Reader.Peek()
}

func (r *countingReader) Advance(n int) {
	r.m.add(1)
	r.Reader.Advance(n)
}
