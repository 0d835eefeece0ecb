// Package exclusive runs a periodic duty on one replica at a time. Several
// servers may share one database; the watchdog, the redelivery sweep and
// pruning must not run on all of them at once (two watchdogs would conclude a
// stale job twice, two redelivery sweeps would ask GitHub for every missed
// webhook twice). A lease row in the store decides who does it: the holder
// renews it every third of its length, during passes too, and another
// replica (or the same one restarted) takes it over when the holder stops
// renewing because it died, or at once when it shut down and released it.
package exclusive

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Leaser takes and gives back named leases; store.Store implements it.
type Leaser interface {
	AcquireLease(ctx context.Context, name, owner string, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, owner string) error
}

// DefaultLease is how long a holder's lease lasts without renewal.
const DefaultLease = 30 * time.Second

// Options describe one duty.
type Options struct {
	// Name is the lease's name, the same on every replica.
	Name string
	// Owner names this replica; it must differ between replicas.
	Owner string
	// Every is the pause between passes.
	Every time.Duration
	// Lease is how long the lease lasts without renewal (default
	// DefaultLease): how soon another replica takes over from one that died.
	Lease time.Duration
	// Timeout bounds one pass (default Every, at least a minute).
	Timeout time.Duration
	// Immediately makes this replica's first pass as soon as it holds the
	// lease, instead of Every after it started.
	Immediately bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Log keys.
const (
	logKeyDuty  = "duty"
	logKeyOwner = "owner"
)

// Run keeps the lease while it can and makes a pass every o.Every while it
// holds it, until ctx ends; then it releases the lease so that another
// replica takes over at once. A failed pass is logged: the next one tries
// again.
func Run(ctx context.Context, l Leaser, o Options, pass func(ctx context.Context) error) error {
	if o.Name == "" || o.Owner == "" || o.Every <= 0 {
		return fmt.Errorf("running an exclusive duty: name %q, owner %q and interval %s must be set", o.Name, o.Owner, o.Every)
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Timeout <= 0 {
		o.Timeout = max(o.Every, time.Minute)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	logger := zerolog.Ctx(ctx).With().Str(logKeyDuty, o.Name).Logger()
	ctx = logger.WithContext(ctx)
	defer release(ctx, l, o)
	ticker := time.NewTicker(min(o.Every, o.Lease/3))
	defer ticker.Stop()
	last := o.Now() // when this replica last passed (or started)
	if o.Immediately {
		last = last.Add(-o.Every)
	}
	for {
		asked := time.Now()
		held, err := l.AcquireLease(ctx, o.Name, o.Owner, o.Now().Add(o.Lease))
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error().Err(err).Msg("renewing the duty's lease failed")
		case held && o.Now().Sub(last) >= o.Every:
			last = o.Now()
			if err := o.passHeld(ctx, l, asked, pass); err != nil && ctx.Err() == nil {
				logger.Error().Err(err).Msg("exclusive duty failed; the next pass tries again")
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// passHeld makes one pass, renewing the lease while it runs. The pass ends
// (its context is cancelled) a sixth of a lease before the lease would lapse
// unrenewed, since another replica may take it from then on: a renewal
// that is late or finds the lease lost stops the pass instead of letting
// it run beside another replica's. asked is when the lease was last renewed
// (the time the renewal was asked for, the safe side).
func (o Options) passHeld(ctx context.Context, l Leaser, asked time.Time, pass func(ctx context.Context) error) error {
	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	margin := o.Lease / 6
	lapse := time.AfterFunc(time.Until(asked.Add(o.Lease-margin)), cancel)
	defer lapse.Stop()
	done := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			asked := time.Now()
			held, err := l.AcquireLease(pctx, o.Name, o.Owner, o.Now().Add(o.Lease))
			switch {
			case err != nil && pctx.Err() == nil:
				zerolog.Ctx(ctx).Error().Err(err).Msg("renewing the duty's lease during a pass failed")
			case err == nil && !held:
				zerolog.Ctx(ctx).Warn().Msg("the duty's lease was lost during a pass; the pass stops")
				cancel()
			case err == nil:
				lapse.Reset(time.Until(asked.Add(o.Lease - margin)))
			}
		}
	}()
	err := pass(pctx)
	close(done)
	<-renewed
	return err
}

func release(ctx context.Context, l Leaser, o Options) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := l.ReleaseLease(rctx, o.Name, o.Owner); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str(logKeyOwner, o.Owner).Msg("releasing the duty's lease failed; it lapses on its own")
	}
}
