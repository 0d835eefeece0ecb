// Package groupcommit coalesces concurrent writes into shared commits. One
// writer goroutine takes every request that is waiting when it is free and
// commits them together, so N concurrent callers pay for one transaction (one
// fsync) instead of N; each caller returns only when its own request has been
// committed or has failed.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("group commit closed")

// Func commits a batch in one transaction and returns one result per item,
// in order. A returned error fails every item of the batch.
type Func[In, Out any] func(ctx context.Context, batch []In) ([]Out, error)

// Options tune a Batcher. Zero fields take the defaults.
type Options struct {
	// MaxBatch caps the number of items committed together (default 256).
	MaxBatch int
	// Timeout bounds one commit (default 10s).
	Timeout time.Duration
	// Observe, when set, is called after every commit with the batch size,
	// the time the commit took and its error.
	Observe func(size int, took time.Duration, err error)
	// AfterCommit, when set, runs on the writer after each commit's callers
	// have their results and before the next batch is taken: upkeep that
	// must not run beside a commit, and should not delay the one it follows.
	AfterCommit func(ctx context.Context)
}

type result[Out any] struct {
	out Out
	err error
}

type request[In, Out any] struct {
	in   In
	done chan result[Out]
}

// Batcher is a group committer. Create it with New and stop it with Close.
type Batcher[In, Out any] struct {
	commit Func[In, Out]
	opts   Options

	mu     sync.RWMutex // held for reading while sending, for writing to close
	closed bool
	reqs   chan request[In, Out]
	exited chan struct{}
}

// New starts a Batcher whose writer goroutine commits with commit. ctx carries
// the values (the logger) the commits run with; its cancellation is ignored,
// Close stops the writer.
func New[In, Out any](ctx context.Context, commit Func[In, Out], opts Options) *Batcher[In, Out] {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	b := &Batcher[In, Out]{
		commit: commit,
		opts:   opts,
		reqs:   make(chan request[In, Out], opts.MaxBatch),
		exited: make(chan struct{}),
	}
	go b.write(context.WithoutCancel(ctx))
	return b
}

// Do commits in together with whatever else is waiting and returns its result.
// Once in has been handed to the writer, Do waits for the commit even if ctx
// is cancelled: the commit is bounded by Options.Timeout, and a caller must
// not mistake a committed item for a lost one.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	req := request[In, Out]{in: in, done: make(chan result[Out], 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return zero, ErrClosed
	}
	b.reqs <- req
	b.mu.RUnlock()
	r := <-req.done
	return r.out, r.err
}

// Waiting returns how many requests wait for the writer to take them.
func (b *Batcher[In, Out]) Waiting() int { return len(b.reqs) }

// Close stops accepting requests, commits those already accepted and waits
// for the writer to exit.
func (b *Batcher[In, Out]) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.reqs)
	}
	b.mu.Unlock()
	<-b.exited
}

func (b *Batcher[In, Out]) write(ctx context.Context) {
	defer close(b.exited)
	batch := make([]request[In, Out], 0, b.opts.MaxBatch)
	for first := range b.reqs {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < b.opts.MaxBatch {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.flush(ctx, batch)
		if b.opts.AfterCommit != nil {
			b.opts.AfterCommit(ctx)
		}
	}
}

func (b *Batcher[In, Out]) flush(ctx context.Context, batch []request[In, Out]) {
	ins := make([]In, len(batch))
	for i, r := range batch {
		ins[i] = r.in
	}
	start := time.Now()
	outs, err := b.commitSafely(ctx, ins)
	if err == nil && len(outs) != len(ins) {
		err = fmt.Errorf("committing batch: %d results for %d items", len(outs), len(ins))
	}
	if b.opts.Observe != nil {
		b.opts.Observe(len(batch), time.Since(start), err)
	}
	for i, r := range batch {
		if err != nil {
			r.done <- result[Out]{err: err}
			continue
		}
		r.done <- result[Out]{out: outs[i]}
	}
}

// commitSafely runs the commit with its timeout; a panic fails the batch
// instead of killing the writer, which would leave every caller waiting.
func (b *Batcher[In, Out]) commitSafely(ctx context.Context, ins []In) (outs []Out, err error) {
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("committing batch: panic: %v", r)
		}
	}()
	return b.commit(ctx, ins)
}
