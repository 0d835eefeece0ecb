// Package intake makes webhook deliveries durable before GitHub gets its 2xx.
//
// Scheduler is a githubapp.Scheduler: the go-githubapp dispatcher verifies the
// signature and hands each delivery to Schedule, which records it in the store
// (concurrent deliveries share one group commit) and only then lets the
// dispatcher answer. Stored deliveries run asynchronously on a bounded queue
// served by a fixed number of workers; a delivery that finds the queue full
// stays pending in the store and a sweeper runs it later, as does Recover for
// deliveries a previous process stored but did not finish.
//
//	s, err := intake.Start(ctx, st, handlers, intake.WithWorkers(8))
//	_ = s.Recover(ctx)
//	hook := githubapp.NewEventDispatcher(handlers, secret, githubapp.WithScheduler(s))
//	...
//	_ = s.Shutdown(ctx)
package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fastjson"

	"github.com/infra-agent/infra-agent/ingress"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/store/groupcommit"
)

// maxDeliveryIDLength bounds X-GitHub-Delivery (GitHub sends a 36-character
// GUID); anything longer is not from GitHub.
const maxDeliveryIDLength = 128

// Log keys.
const (
	logKeyReason     = "reason"
	logKeyQueueDepth = "queue_depth"
	logKeyRecovered  = "recovered"
	logKeyEnqueued   = "enqueued"
	logKeyAttempt    = "attempt"
	logKeyRetryIn    = "retry_in"
	logKeyReplica    = "replica"
)

// ErrShuttingDown is returned by Schedule and Recover after Shutdown began.
// It wraps githubapp.ErrCapacityExceeded, which the dispatcher answers with
// 503, so GitHub records the delivery as failed and it can be redelivered.
var ErrShuttingDown = fmt.Errorf("intake is shutting down: %w", githubapp.ErrCapacityExceeded)

// Option configures a Scheduler.
type Option func(*options)

type options struct {
	workers        int
	queueSize      int
	maxBatch       int
	handlerTimeout time.Duration
	sweepInterval  time.Duration
	lease          time.Duration
	replica        string
	retry          RetryPolicy
	registerer     prometheus.Registerer
}

// WithWorkers sets how many deliveries run at once (default 4).
func WithWorkers(n int) Option { return func(o *options) { o.workers = n } }

// WithQueueSize bounds the in-memory queue (default 1024). A stored delivery
// that finds it full waits in the store for the sweeper.
func WithQueueSize(n int) Option { return func(o *options) { o.queueSize = n } }

// WithMaxBatch caps how many deliveries one group commit holds (default 256).
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = n } }

// WithHandlerTimeout bounds one handler run (default 2 minutes).
func WithHandlerTimeout(d time.Duration) Option { return func(o *options) { o.handlerTimeout = d } }

// WithSweepInterval sets how often the sweeper claims pending deliveries
// (default: half the lease or half the retry backoff, whichever is shorter).
func WithSweepInterval(d time.Duration) Option { return func(o *options) { o.sweepInterval = d } }

// WithLease sets how long this replica's claim on a delivery lasts without
// renewal (default 30 seconds): the time after which another replica takes
// over the deliveries of one that died. Leases are renewed every third of it.
func WithLease(d time.Duration) Option { return func(o *options) { o.lease = d } }

// WithReplica names this replica in the store's leases (default: host name,
// process id and a random suffix). Names must differ between replicas.
func WithReplica(name string) Option { return func(o *options) { o.replica = name } }

// WithRetries sets when a delivery whose handler failed is tried again
// (default DefaultRetryPolicy). A handler fails mostly when GitHub does (an
// outage past the client's own retries); handlers are idempotent on their
// trigger, so a retry does not repeat what the failed attempt did.
func WithRetries(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithRegisterer registers the intake's metrics with r.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

// Prefilter is implemented by a handler that can tell, from a delivery's
// payload alone and without decoding the whole event, that it triggers
// nothing whatever the time, the configuration or GitHub's state: a comment
// without a command, say, which is most of what GitHub sends. Such a delivery
// is recorded as processed, its id kept for deduplication but not its
// payload, and never queued: it costs one small row in the group commit
// instead of a payload written, read back, decoded and finished.
type Prefilter interface {
	Ignorable(eventType string, payload []byte) (reason string, ignorable bool)
}

// task is one delivery on its way to a worker. It carries the logger of the
// request that delivered it, not the request's context: the work outlives the
// request.
type task struct {
	dispatch githubapp.Dispatch
	logger   zerolog.Logger
	// attempts counts the earlier, failed, attempts.
	attempts int
	// received is when the delivery arrived: retries stop at the retry window.
	received time.Time
	// leasedUntil is when the lease taken with the task ends, unless renewed.
	leasedUntil time.Time
}

// Scheduler records deliveries durably and runs them asynchronously. Create
// it with Start.
type Scheduler struct {
	store    store.Store
	handlers map[string]githubapp.EventHandler
	opts     options
	metrics  *metrics
	commits  *groupcommit.Batcher[store.Delivery, bool]
	queue    chan task

	// mu guards the fields below it.
	mu       sync.Mutex
	closing  bool
	active   sync.WaitGroup      // Schedule and Recover calls under way
	claims   map[string]struct{} // deliveries queued or running here
	sweeping bool
	finished map[string]struct{} // finished while a sweep was reading: its read may be stale
	// renewed is when this replica's leases were last renewed (or taken).
	renewed time.Time

	sweepMu     sync.Mutex // one sweep at a time
	behind      atomic.Bool
	kick        chan struct{}
	stopSweeper chan struct{}
	sweeperDone chan struct{}
	workersDone sync.WaitGroup
	recording   chan struct{} // bounds the outcomes being written at once
	recordings  sync.WaitGroup
	cancelWork  context.CancelFunc
	shutdown    sync.Once
	drained     chan struct{}
}

var _ githubapp.Scheduler = (*Scheduler)(nil)

// Start creates a Scheduler for the handlers (looked up by event type like the
// dispatcher does: the first handler for an event wins) and starts its writer,
// workers and sweeper. ctx supplies the logger of the background work; its
// cancellation does not stop it, Shutdown does.
func Start(ctx context.Context, st store.Store, handlers []githubapp.EventHandler, opts ...Option) (*Scheduler, error) {
	o := options{
		workers:        4,
		queueSize:      1024,
		maxBatch:       256,
		handlerTimeout: 2 * time.Minute,
		lease:          DefaultLease,
		retry:          DefaultRetryPolicy(),
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.sweepInterval == 0 {
		o.sweepInterval = min(o.lease, o.retry.Backoff) / 2
	}
	if o.replica == "" {
		o.replica = replicaName()
	}
	if err := o.retry.validate(); err != nil {
		return nil, fmt.Errorf("starting intake: %w", err)
	}
	switch {
	case st == nil:
		return nil, errors.New("starting intake: no store")
	case o.workers < 1:
		return nil, fmt.Errorf("starting intake: %d workers, want at least 1", o.workers)
	case o.queueSize < 1:
		return nil, fmt.Errorf("starting intake: queue size %d, want at least 1", o.queueSize)
	case o.maxBatch < 1:
		return nil, fmt.Errorf("starting intake: batch size %d, want at least 1", o.maxBatch)
	case o.handlerTimeout <= 0 || o.sweepInterval <= 0 || o.lease <= 0:
		return nil, errors.New("starting intake: handler timeout, sweep interval and lease must be positive")
	}
	s := &Scheduler{
		store:       st,
		handlers:    map[string]githubapp.EventHandler{},
		opts:        o,
		queue:       make(chan task, o.queueSize),
		claims:      map[string]struct{}{},
		renewed:     time.Now(),
		kick:        make(chan struct{}, 1),
		stopSweeper: make(chan struct{}),
		sweeperDone: make(chan struct{}),
		drained:     make(chan struct{}),
		recording:   make(chan struct{}, o.maxBatch),
	}
	for i := len(handlers) - 1; i >= 0; i-- {
		for _, event := range handlers[i].Handles() {
			s.handlers[event] = handlers[i]
		}
	}
	m, err := newMetrics(o.registerer, func() float64 { return float64(len(s.queue)) })
	if err != nil {
		return nil, err
	}
	s.metrics = m

	base := context.WithoutCancel(ctx)
	s.commits = groupcommit.New(base, st.InsertDeliveries, groupcommit.Options{
		MaxBatch: o.maxBatch,
		Observe: func(size int, took time.Duration, _ error) {
			s.metrics.batchSize.Observe(float64(size))
			s.metrics.commit.Observe(took.Seconds())
		},
	})
	work, cancel := context.WithCancel(base)
	s.cancelWork = cancel
	for i := 0; i < o.workers; i++ {
		s.workersDone.Add(1)
		go s.work(work)
	}
	go s.sweepLoop(base)
	zerolog.Ctx(ctx).Debug().Str(logKeyReplica, o.replica).Msg("Webhook intake started")
	return s, nil
}

// Replica returns the name this replica's leases are held under.
func (s *Scheduler) Replica() string { return s.opts.replica }

// Schedule records d and queues it. It returns once d is committed to the
// store (nil), known already (nil: GitHub redelivered it), refused as invalid
// (a githubapp.ValidationError: 400), or could not be stored (an error: 5xx,
// so GitHub keeps it as failed). A delivery its handler's Prefilter ignores
// is committed as processed and not queued.
func (s *Scheduler) Schedule(ctx context.Context, d githubapp.Dispatch) error {
	if err := validate(d); err != nil {
		return err
	}
	var reason string
	filter, ignorable := d.Handler.(Prefilter)
	if ignorable {
		reason, ignorable = filter.Ignorable(d.EventType, d.Payload)
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrShuttingDown
	}
	s.active.Add(1)
	// Claim before storing: once the commit is visible the sweeper may read
	// the delivery as pending, and only one of us may queue it.
	claimed := !ignorable && s.claimLocked(d.DeliveryID)
	s.mu.Unlock()
	defer s.active.Done()

	s.metrics.received.WithLabelValues(d.EventType).Inc()
	now := time.Now()
	rec := s.record(d, now, ignorable)
	// Waiting for the commit is not work: the next request may start.
	ingress.Yield(ctx)
	created, err := s.commits.Do(ctx, rec)
	if err != nil {
		if claimed {
			s.release(d.DeliveryID, false)
		}
		return fmt.Errorf("recording delivery %s: %w", d.DeliveryID, err)
	}
	logger := zerolog.Ctx(ctx)
	switch {
	case !created:
		if claimed {
			s.release(d.DeliveryID, false)
		}
		s.metrics.duplicate.WithLabelValues(d.EventType).Inc()
		logger.Info().Msg("Ignoring duplicate webhook delivery")
	case ignorable:
		s.metrics.filtered.WithLabelValues(d.EventType).Inc()
		logger.Debug().Str(logKeyReason, reason).Msg("Delivery recorded as processed: its handler ignores it")
	default:
		s.enqueue(task{dispatch: d, logger: *logger, received: now, leasedUntil: rec.LeaseUntil}, claimed)
	}
	return nil
}

// record is d as Schedule stores it at now: pending and leased to this
// replica, or, when its handler ignores it, processed with its id only.
func (s *Scheduler) record(d githubapp.Dispatch, now time.Time, ignorable bool) store.Delivery {
	if ignorable {
		// The id makes a redelivery a duplicate; the payload would never be
		// read again, and nothing runs the delivery, so it needs no lease.
		return store.Delivery{ID: d.DeliveryID, Event: d.EventType, ReceivedAt: now, Status: store.DeliveryProcessed}
	}
	return store.Delivery{
		ID:         d.DeliveryID,
		Event:      d.EventType,
		Payload:    d.Payload,
		ReceivedAt: now,
		Status:     store.DeliveryPending,
		// Leased to this replica from the start: no other replica's sweep
		// takes it while it waits in this one's queue.
		LeaseOwner: s.opts.replica,
		LeaseUntil: now.Add(s.opts.lease),
	}
}

func validate(d githubapp.Dispatch) error {
	invalid := func(cause string) error {
		return githubapp.ValidationError{EventType: d.EventType, DeliveryID: d.DeliveryID, Cause: errors.New(cause)}
	}
	switch {
	case d.DeliveryID == "":
		return invalid("missing X-GitHub-Delivery header")
	case len(d.DeliveryID) > maxDeliveryIDLength:
		return invalid(fmt.Sprintf("X-GitHub-Delivery is longer than %d characters", maxDeliveryIDLength))
	case d.Handler == nil:
		return invalid("no handler for the event")
	case fastjson.ValidateBytes(d.Payload) != nil:
		// fastjson validates without building values, about 8 times faster
		// than encoding/json.Valid on GitHub's 10-30 KB payloads: at a
		// thousand deliveries a second that is a tenth of a core.
		return invalid("payload is not valid JSON")
	}
	return nil
}

// enqueue queues a stored delivery, claiming it first unless the caller did.
// A full queue leaves it pending for the sweeper: it is already durable.
func (s *Scheduler) enqueue(t task, claimed bool) {
	id := t.dispatch.DeliveryID
	s.mu.Lock()
	defer s.mu.Unlock()
	if !claimed && !s.claimLocked(id) {
		return // queued or running already
	}
	select {
	case s.queue <- t:
	default:
		// Still leased to this replica: its own sweeper claims it again.
		delete(s.claims, id)
		s.behind.Store(true)
		s.metrics.deferred.WithLabelValues(t.dispatch.EventType).Inc()
		t.logger.Warn().Int(logKeyQueueDepth, len(s.queue)).Msg("Delivery queue full, leaving the stored delivery to the sweeper")
	}
}

// claimLocked marks id as queued or running here; false when it already is.
func (s *Scheduler) claimLocked(id string) bool {
	if _, ok := s.claims[id]; ok {
		return false
	}
	s.claims[id] = struct{}{}
	return true
}

// release drops the claim on id. finished says the delivery's outcome was
// written, so a sweep that read it as pending before must not run it again.
func (s *Scheduler) release(id string, finished bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.claims, id)
	if finished && s.sweeping {
		s.finished[id] = struct{}{}
	}
}

// Shutdown stops accepting deliveries (Schedule returns ErrShuttingDown, which
// the dispatcher answers with 503), commits what was accepted, and waits for
// the queued and running deliveries to finish. When ctx ends first, running
// handlers are cancelled, what is still queued stays pending in the store for
// the next start, and ctx's error is returned.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.shutdown.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		go func() {
			s.active.Wait()
			s.commits.Close()
			close(s.stopSweeper)
			<-s.sweeperDone
			close(s.queue)
			s.workersDone.Wait()
			s.recordings.Wait()
			s.releaseLeases(ctx)
			close(s.drained)
		}()
	})
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		s.cancelWork()
		return fmt.Errorf("draining intake: %w", ctx.Err())
	}
}

// releaseLeases ends this replica's leases on what it leaves pending, so the
// next replica (or this one, restarted) takes those deliveries at once
// instead of waiting for the leases to lapse.
func (s *Scheduler) releaseLeases(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if err := s.store.RenewLeases(rctx, s.opts.replica, time.Time{}); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Releasing delivery leases at shutdown failed; they lapse on their own")
	}
}
