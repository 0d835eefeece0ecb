// Package exclusive runs a periodic duty on one replica at a time. Several
// servers may share one database; the watchdog, the redelivery sweep and
// pruning must not run on all of them at once (two watchdogs would conclude a
// stale job twice, two redelivery sweeps would ask GitHub for every missed
// webhook twice). A lease row in the store decides who does it: the holder
// renews it at every pass, and another replica takes it over when the holder
// stops renewing (it died, or shut down and released it).
package exclusive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Leaser takes and gives back named leases; store.Store implements it.
type Leaser interface {
	AcquireLease(ctx context.Context, name, owner string, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, owner string) error
}

// Options describe one duty.
type Options struct {
	// Name is the lease's name, the same on every replica.
	Name string
	// Owner names this replica; it must differ between replicas.
	Owner string
	// Every is the pause between passes.
	Every time.Duration
	// Timeout bounds one pass (default Every, at least a minute).
	Timeout time.Duration
	// Immediately makes the first pass at start instead of after Every.
	Immediately bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Log keys.
const (
	logKeyDuty  = "duty"
	logKeyOwner = "owner"
)

// Run makes a pass every o.Every while this replica holds the lease, until
// ctx ends; then it releases the lease so that another replica takes over at
// once. A failed pass is logged: the next one tries again. The lease lasts
// past two missed passes, so a slow pass is not taken over by another
// replica while it runs.
func Run(ctx context.Context, l Leaser, o Options, pass func(ctx context.Context) error) error {
	if o.Name == "" || o.Owner == "" || o.Every <= 0 {
		return fmt.Errorf("running an exclusive duty: name %q, owner %q and interval %s must be set", o.Name, o.Owner, o.Every)
	}
	if o.Timeout <= 0 {
		o.Timeout = max(o.Every, time.Minute)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	logger := zerolog.Ctx(ctx).With().Str(logKeyDuty, o.Name).Logger()
	ctx = logger.WithContext(ctx)
	ticker := time.NewTicker(o.Every)
	defer ticker.Stop()
	defer release(ctx, l, o)
	if !o.Immediately {
		if !wait(ctx, ticker) {
			return nil
		}
	}
	for {
		if err := once(ctx, l, o, pass); err != nil && ctx.Err() == nil {
			logger.Error().Err(err).Msg("exclusive duty failed; the next pass tries again")
		}
		if !wait(ctx, ticker) {
			return nil
		}
	}
}

func wait(ctx context.Context, ticker *time.Ticker) bool {
	select {
	case <-ctx.Done():
		return false
	case <-ticker.C:
		return true
	}
}

// once makes one pass if this replica holds the lease.
func once(ctx context.Context, l Leaser, o Options, pass func(ctx context.Context) error) error {
	until := o.Now().Add(2*o.Every + o.Timeout)
	held, err := l.AcquireLease(ctx, o.Name, o.Owner, until)
	if err != nil {
		return fmt.Errorf("taking the %s lease: %w", o.Name, err)
	}
	if !held {
		zerolog.Ctx(ctx).Debug().Msg("another replica holds the duty; skipping this pass")
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return pass(pctx)
}

func release(ctx context.Context, l Leaser, o Options) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := l.ReleaseLease(rctx, o.Name, o.Owner); err != nil && !errors.Is(err, context.Canceled) {
		zerolog.Ctx(ctx).Warn().Err(err).Str(logKeyOwner, o.Owner).Msg("releasing the duty's lease failed; it lapses on its own")
	}
}
