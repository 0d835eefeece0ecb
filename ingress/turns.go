package ingress

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
)

// maxPooledBody is the largest body buffer kept for reuse: most webhook
// payloads are 5-50 KB, and a rare large one should not pin its memory.
const maxPooledBody = 256 << 10

// turnKey is the context key of the function that ends a request's turn.
type turnKey struct{}

// serveRead reads r's body into memory, waits for a turn and serves r with
// next. The turn ends when next returns or calls Yield.
//
// Without turns, every arriving request is runnable at once. When the
// machine is short of CPU, the group commit's writer, which gives up its
// processor at each write and fsync of the commit, then queues behind all of
// them before it can go on; its commits grow longer and larger, each delivery
// waits longer, and more requests pile up. With them, at most Turns requests
// compete with the writer, and the others wait, parked, in order of arrival.
func (g *guard) serveRead(w http.ResponseWriter, r *http.Request) {
	buf := g.buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			g.buffers.Put(buf)
		}
	}()
	if r.ContentLength > 0 && r.ContentLength <= maxPooledBody {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // room to read the EOF without growing
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, g.opts.MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		g.refuse(w, r, http.StatusRequestEntityTooLarge, "too_large", "payload larger than GitHub sends")
		return
	case err != nil:
		// The client went away or sent too slowly (the server's read timeout).
		g.refuse(w, r, http.StatusBadRequest, "unreadable", "reading the body failed")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))

	g.waiting.Add(1)
	select {
	case g.turns <- struct{}{}:
		g.waiting.Add(-1)
	case <-r.Context().Done():
		g.waiting.Add(-1)
		return // the client went away while waiting
	}
	var once sync.Once
	end := func() { once.Do(func() { <-g.turns }) }
	defer end()
	g.next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), turnKey{}, end)))
}

// Yield ends the turn of the request ctx belongs to, if it has one: what the
// caller does next is waiting (for a commit), not work, and the next request
// may start. It may be called more than once.
func Yield(ctx context.Context) {
	if end, ok := ctx.Value(turnKey{}).(func()); ok {
		end()
	}
}
