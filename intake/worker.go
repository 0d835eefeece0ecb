package intake

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/store"
)

// finishTimeout bounds recording a delivery's outcome, which happens after the
// handler's own timeout may have expired.
const finishTimeout = 30 * time.Second

// work runs queued deliveries until the queue is closed. ctx is cancelled
// only by a Shutdown whose deadline passed.
func (s *Scheduler) work(ctx context.Context) {
	defer s.workersDone.Done()
	for t := range s.queue {
		if ctx.Err() != nil {
			// Hard shutdown: leave it pending for the next start.
			s.release(t.dispatch.DeliveryID, false)
			continue
		}
		s.run(ctx, t)
		// Deliveries were deferred while the queue was full; now that it is
		// nearly empty, have the sweeper bring them in without waiting for its
		// tick. Not sooner: a sweep reads payloads from the store.
		if s.behind.Load() && len(s.queue) <= cap(s.queue)/4 {
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
	}
}

// run calls the handler of one delivery with its own timeout and records the
// outcome.
func (s *Scheduler) run(base context.Context, t task) {
	d := t.dispatch
	ctx := githubapp.InitializeResponder(t.logger.WithContext(base))
	ctx, cancel := context.WithTimeout(ctx, s.opts.handlerTimeout)
	err := execute(ctx, d)
	cancel()
	if base.Err() != nil {
		// Interrupted by shutdown, not failed: run it again after restart.
		t.logger.Warn().Err(err).Msg("Delivery interrupted by shutdown, left pending")
		s.release(d.DeliveryID, false)
		return
	}
	status, errText := store.DeliveryProcessed, ""
	switch attempt := t.attempts + 1; {
	case err != nil && attempt < s.opts.maxAttempts:
		// Pending again: the sweeper runs it after the backoff.
		status, errText = store.DeliveryPending, err.Error()
		s.metrics.retried.WithLabelValues(d.EventType).Inc()
		t.logger.Warn().Err(err).Int(logKeyAttempt, attempt).Dur(logKeyRetryIn, s.retryDelay(attempt)).
			Msg("Webhook handler failed; will retry")
	case err != nil:
		status, errText = store.DeliveryFailed, err.Error()
		s.metrics.failed.WithLabelValues(d.EventType).Inc()
		t.logger.Error().Err(err).Int(logKeyAttempt, attempt).Msg("Webhook handler failed")
	default:
		s.metrics.processed.WithLabelValues(d.EventType).Inc()
	}
	// The worker moves on while the outcome is written: the store commits
	// concurrent outcomes together, and a worker waiting for each commit
	// would cap throughput at workers per commit latency.
	s.recording <- struct{}{}
	s.recordings.Add(1)
	go func() {
		defer func() {
			<-s.recording
			s.recordings.Done()
		}()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		if err := s.store.FinishDelivery(fctx, d.DeliveryID, status, errText); err != nil {
			// It stays pending and runs again later: handlers are idempotent
			// on their trigger, so a repeat is safer than a loss.
			t.logger.Error().Err(err).Msg("Recording the delivery outcome failed")
		}
		s.release(d.DeliveryID, true)
	}()
}

// execute calls the handler, turning a panic into an error.
func execute(ctx context.Context, d githubapp.Dispatch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			zerolog.Ctx(ctx).Error().Str("stack", string(debug.Stack())).Msg("Webhook handler panicked")
			err = fmt.Errorf("handler for %s panicked: %v", d.EventType, r)
		}
	}()
	return d.Execute(ctx)
}

// sweepLoop re-reads pending deliveries on every tick, and when a worker says
// the queue has room again for deliveries that were deferred.
func (s *Scheduler) sweepLoop(ctx context.Context) {
	defer close(s.sweeperDone)
	ticker := time.NewTicker(s.opts.sweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stopSweeper:
			return
		case <-ticker.C:
		case <-s.kick:
		}
		sctx, cancel := context.WithTimeout(ctx, finishTimeout)
		if _, err := s.sweep(sctx); err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Msg("Sweeping pending deliveries failed")
		}
		cancel()
	}
}

// Recover queues the deliveries that were stored but not finished before this
// process started, as many as the queue holds; the sweeper runs the rest as
// the queue drains. Call it once at start-up, before or after serving.
//
// With several replicas on one database, a delivery another replica stored
// just before this one started may run on both; handlers are idempotent on
// their trigger (store.CreateJob), so the repeat creates nothing.
func (s *Scheduler) Recover(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrShuttingDown
	}
	s.active.Add(1)
	if s.recovered.IsZero() {
		s.recovered = time.Now()
	}
	s.mu.Unlock()
	defer s.active.Done()

	n, err := s.sweep(ctx)
	if err != nil {
		return fmt.Errorf("recovering pending deliveries: %w", err)
	}
	zerolog.Ctx(ctx).Info().Int(logKeyRecovered, n).Msg("Queued deliveries stored before start-up")
	return nil
}

// retryDelay is how long after its attempts-th failed attempt a delivery is
// tried again: the backoff, doubled for each attempt after the first.
func (s *Scheduler) retryDelay(attempts int) time.Duration {
	return s.opts.retryBackoff << min(max(attempts-1, 0), 16)
}

// sweep queues pending deliveries that no worker here holds, as many as the
// queue has room for, and returns how many it queued.
func (s *Scheduler) sweep(ctx context.Context) (int, error) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()

	s.mu.Lock()
	room := cap(s.queue) - len(s.queue)
	held := len(s.claims)
	s.sweeping = true
	s.finished = map[string]struct{}{}
	recovered := s.recovered
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.sweeping = false
		s.finished = nil
		s.mu.Unlock()
	}()
	if room == 0 {
		s.behind.Store(true)
		return 0, nil
	}
	s.behind.Store(false)

	// Pending includes the deliveries held here; read enough to get past them.
	pending, err := s.store.PendingDeliveries(ctx, held+room)
	if err != nil {
		return 0, fmt.Errorf("reading pending deliveries: %w", err)
	}
	graceCutoff := time.Now().Add(-s.opts.sweepGrace)
	var unhandled []store.Delivery
	queued := 0

	s.mu.Lock()
	for _, d := range pending {
		if _, ok := s.claims[d.ID]; ok {
			continue
		}
		if _, ok := s.finished[d.ID]; ok {
			continue
		}
		_, ours := s.overflowed[d.ID]
		if !ours && d.ReceivedAt.After(graceCutoff) && (recovered.IsZero() || d.ReceivedAt.After(recovered)) {
			continue
		}
		if d.Attempts > 0 && time.Now().Before(d.LastAttemptAt.Add(s.retryDelay(d.Attempts))) {
			continue // a failed attempt's backoff is not over
		}
		h, ok := s.handlers[d.Event]
		if !ok {
			unhandled = append(unhandled, d)
			continue
		}
		t := task{
			dispatch: githubapp.Dispatch{Handler: h, EventType: d.Event, DeliveryID: d.ID, Payload: d.Payload},
			logger: zerolog.Ctx(ctx).With().
				Str(githubapp.LogKeyEventType, d.Event).
				Str(githubapp.LogKeyDeliveryID, d.ID).
				Logger(),
			attempts: d.Attempts,
		}
		s.claims[d.ID] = struct{}{}
		select {
		case s.queue <- t:
			delete(s.overflowed, d.ID)
			queued++
			continue
		default:
		}
		delete(s.claims, d.ID)
		s.behind.Store(true)
		break
	}
	s.mu.Unlock()
	if len(pending) == held+room {
		// The read was cut at its limit: more may be waiting, so sweep again
		// as soon as the queue has room.
		s.behind.Store(true)
	}

	// A stored event no handler takes (the handler list changed between
	// versions) would stay pending forever.
	for _, d := range unhandled {
		if err := s.store.FinishDelivery(ctx, d.ID, store.DeliveryFailed, "no handler for event "+d.Event); err != nil {
			return queued, fmt.Errorf("failing unhandled delivery %s: %w", d.ID, err)
		}
	}
	if queued > 0 {
		zerolog.Ctx(ctx).Info().Int(logKeyEnqueued, queued).Msg("Queued pending deliveries")
	}
	return queued, nil
}
