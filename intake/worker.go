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
		if !s.holdsLease(t) {
			// This replica could not renew its leases for a while: another
			// may have claimed the delivery. Leave it to whoever holds it.
			t.logger.Warn().Msg("Delivery lease may have lapsed; not running it here")
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

// holdsLease reports whether t's lease, as taken or last renewed, has a
// margin left: a sixth of the lease, for clocks and the store's latency.
func (s *Scheduler) holdsLease(t task) bool {
	s.mu.Lock()
	renewed := s.renewed
	s.mu.Unlock()
	until := renewed.Add(s.opts.lease)
	if t.leasedUntil.After(until) {
		until = t.leasedUntil
	}
	return time.Now().Before(until.Add(-s.opts.lease / 6))
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
	record := s.outcome(t, err)
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
		if err := record(fctx); err != nil {
			// It stays pending and runs again later: handlers are idempotent
			// on their trigger, so a repeat is safer than a loss.
			t.logger.Error().Err(err).Msg("Recording the delivery outcome failed")
		}
		s.release(d.DeliveryID, true)
	}()
}

// outcome counts and logs the result of an attempt and returns how to record
// it: processed, pending until its next attempt, or failed for good.
func (s *Scheduler) outcome(t task, err error) func(context.Context) error {
	d := t.dispatch
	if err == nil {
		s.metrics.processed.WithLabelValues(d.EventType).Inc()
		return func(ctx context.Context) error {
			return s.store.FinishDelivery(ctx, d.DeliveryID, store.DeliveryProcessed, "")
		}
	}
	attempt := t.attempts + 1
	wait, again := s.opts.retry.Next(attempt, time.Since(t.received))
	if !again {
		s.metrics.failed.WithLabelValues(d.EventType).Inc()
		t.logger.Error().Err(err).Int(logKeyAttempt, attempt).Msg("Webhook handler failed")
		return func(ctx context.Context) error {
			return s.store.FinishDelivery(ctx, d.DeliveryID, store.DeliveryFailed, err.Error())
		}
	}
	s.metrics.retried.WithLabelValues(d.EventType).Inc()
	t.logger.Warn().Err(err).Int(logKeyAttempt, attempt).Dur(logKeyRetryIn, wait).Msg("Webhook handler failed; will retry")
	// Pending again: whichever replica's sweeper comes first after the wait
	// runs it.
	return func(ctx context.Context) error {
		return s.store.RetryDelivery(ctx, d.DeliveryID, err.Error(), time.Now().Add(wait))
	}
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

// sweepLoop claims pending deliveries on every tick, and when a worker says
// the queue has room again for deliveries that were deferred; it renews this
// replica's leases every third of a lease.
func (s *Scheduler) sweepLoop(ctx context.Context) {
	defer close(s.sweeperDone)
	ticker := time.NewTicker(s.opts.sweepInterval)
	defer ticker.Stop()
	renew := time.NewTicker(s.opts.lease / 3)
	defer renew.Stop()
	for {
		select {
		case <-s.stopSweeper:
			return
		case <-renew.C:
			s.renewLeases(ctx)
			continue
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

// renewLeases extends this replica's leases on the deliveries it holds.
func (s *Scheduler) renewLeases(ctx context.Context) {
	now := time.Now()
	rctx, cancel := context.WithTimeout(ctx, s.opts.lease/3)
	defer cancel()
	if err := s.store.RenewLeases(rctx, s.opts.replica, now.Add(s.opts.lease)); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("Renewing delivery leases failed")
		return
	}
	s.mu.Lock()
	s.renewed = now
	s.mu.Unlock()
}

// Recover claims and queues the pending deliveries no live replica holds:
// those a previous process stored but did not finish, once their leases have
// lapsed (at once after a clean shutdown, which releases them). It is a sweep;
// the sweeper keeps doing it periodically.
func (s *Scheduler) Recover(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrShuttingDown
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()

	n, err := s.sweep(ctx)
	if err != nil {
		return fmt.Errorf("recovering pending deliveries: %w", err)
	}
	zerolog.Ctx(ctx).Info().Int(logKeyRecovered, n).Str(logKeyReplica, s.opts.replica).Msg("Queued deliveries stored before start-up")
	return nil
}

// sweep claims pending deliveries that no worker here holds, as many as the
// queue has room for, and returns how many it queued.
func (s *Scheduler) sweep(ctx context.Context) (int, error) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()

	s.mu.Lock()
	room := cap(s.queue) - len(s.queue)
	held := len(s.claims)
	s.sweeping = true
	s.finished = map[string]struct{}{}
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

	// The claim returns the deliveries held here too; read enough to get past them.
	leasedUntil := time.Now().Add(s.opts.lease)
	pending, err := s.store.ClaimDeliveries(ctx, s.opts.replica, leasedUntil, held+room)
	if err != nil {
		return 0, fmt.Errorf("claiming pending deliveries: %w", err)
	}
	unhandled, queued := s.queueClaimed(ctx, pending, leasedUntil)
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

// queueClaimed queues the claimed deliveries that are not queued or running
// here already, while the queue has room, and returns those no handler takes.
func (s *Scheduler) queueClaimed(ctx context.Context, pending []store.Delivery, leasedUntil time.Time) ([]store.Delivery, int) {
	var unhandled []store.Delivery
	queued := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range pending {
		if _, ok := s.claims[d.ID]; ok {
			continue
		}
		if _, ok := s.finished[d.ID]; ok {
			continue
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
			attempts:    d.Attempts,
			received:    d.ReceivedAt,
			leasedUntil: leasedUntil,
		}
		s.claims[d.ID] = struct{}{}
		select {
		case s.queue <- t:
			queued++
			continue
		default:
		}
		delete(s.claims, d.ID)
		s.behind.Store(true)
		break
	}
	return unhandled, queued
}
