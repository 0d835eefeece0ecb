package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/exclusive"
	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/store"
)

// How often the redelivery sweep and pruning run (the watchdog's interval is a
// setting).
const (
	redeliveryEvery = 10 * time.Minute
	pruneEvery      = time.Hour
)

// startDuties starts the duties one replica at a time performs: the watchdog,
// the redelivery sweep and pruning. The returned function stops them and
// waits; their leases are released for another replica to take at once.
func (s *daemon) startDuties(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	owner := s.sched.Replica()
	pruned := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "infra_agent_pruned_total",
		Help: "Rows deleted by pruning, by table: deliveries past delivery_retention, ended jobs and replies past job_retention.",
	}, []string{"table"})
	if err := s.reg.Register(pruned); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("registering the pruning metric")
	}
	duties := []struct {
		opts exclusive.Options
		pass func(context.Context) error
	}{
		{exclusive.Options{Name: "watchdog", Every: s.cfg.WatchdogInterval, Timeout: time.Minute}, s.svc.Sweep},
		// Webhooks GitHub could not deliver while the server was down or
		// failing are asked for again: at once by a replica that takes the
		// duty over, since it may be the one that was down.
		{exclusive.Options{Name: "redelivery", Every: redeliveryEvery, Timeout: 2 * time.Minute, Immediately: true},
			intake.NewRedelivery(s.appClient.Apps, s.store, intake.RedeliveryOptions{}).Pass},
		{exclusive.Options{Name: "prune", Every: pruneEvery, Timeout: 5 * time.Minute, Immediately: true},
			func(ctx context.Context) error { return s.prune(ctx, pruned) }},
	}
	var wg sync.WaitGroup
	for _, d := range duties {
		d.opts.Owner, d.opts.Lease = owner, s.cfg.Lease
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := exclusive.Run(ctx, s.store, d.opts, d.pass); err != nil {
				zerolog.Ctx(ctx).Error().Err(err).Msg("starting a background duty")
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// prune deletes the deliveries and jobs past their retention.
func (s *daemon) prune(ctx context.Context, pruned *prometheus.CounterVec) error {
	now := time.Now()
	p, err := s.store.Prune(ctx, now.Add(-s.cfg.DeliveryRetention), now.Add(-s.cfg.JobRetention))
	for table, n := range map[string]int{"deliveries": p.Deliveries, "jobs": p.Jobs, "replies": p.Replies} {
		pruned.WithLabelValues(table).Add(float64(n))
	}
	if err != nil {
		return fmt.Errorf("pruning: %w", err)
	}
	if p != (store.Pruned{}) {
		zerolog.Ctx(ctx).Info().Int("deliveries", p.Deliveries).Int("jobs", p.Jobs).Int("replies", p.Replies).Msg("pruned old rows")
	}
	return nil
}
