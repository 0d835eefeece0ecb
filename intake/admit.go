package intake

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
)

// maxPooledBody is the largest body buffer kept for reuse: most webhook
// payloads are 5-50 KB, and a rare large one should not pin its memory.
const maxPooledBody = 256 << 10

// Admit returns next (the webhook dispatcher) behind a bound of n on the
// requests being worked on at once: reading the signature, the JSON and
// writing the delivery into a group commit. A request waits for its turn
// with its body already read, so a client that sends slowly holds no turn,
// and gives its turn back as soon as Schedule starts waiting for the commit
// (or when it ends, if it never gets there).
//
// Without the bound, every arriving request is runnable at once. When the
// machine is short of CPU, the group commit's writer, which gives up its
// processor at each write and fsync of the commit, then queues behind all of
// them before it can go on; its commits grow longer and larger, each
// delivery waits longer, and more requests pile up. With it, at most n
// requests compete with the writer, and the others wait, parked, in order
// of arrival.
func Admit(next http.Handler, n int) http.Handler {
	a := &admission{next: next, turns: make(chan struct{}, max(n, 1))}
	a.buffers.New = func() any { return new(bytes.Buffer) }
	return a
}

type admission struct {
	next    http.Handler
	turns   chan struct{}
	buffers sync.Pool // *bytes.Buffer
}

// turnKey is the context key of the function that gives the turn back.
type turnKey struct{}

func (a *admission) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	buf := a.buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			a.buffers.Put(buf)
		}
	}()
	if r.ContentLength > 0 && r.ContentLength <= maxPooledBody {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // room to read the EOF without growing
	}
	// A read error (the body is too large, the client went away) is handed
	// on: the dispatcher answers it as it always has.
	_, err := buf.ReadFrom(r.Body)
	_ = r.Body.Close()
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(buf.Bytes()), errorReader{err}))

	select {
	case a.turns <- struct{}{}:
	case <-r.Context().Done():
		return // the client went away while waiting
	}
	var once sync.Once
	done := func() { once.Do(func() { <-a.turns }) }
	defer done()
	a.next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), turnKey{}, done)))
}

// errorReader returns err, or io.EOF when err is nil.
type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// giveTurnBack ends the turn of the request ctx belongs to, if it has one:
// what follows is waiting, not work.
func giveTurnBack(ctx context.Context) {
	if done, ok := ctx.Value(turnKey{}).(func()); ok {
		done()
	}
}
