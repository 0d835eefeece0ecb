package intake

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the intake's Prometheus collectors. They exist even when no
// registerer is given, so the code never checks for nil.
type metrics struct {
	received  *prometheus.CounterVec
	duplicate *prometheus.CounterVec
	deferred  *prometheus.CounterVec
	filtered  *prometheus.CounterVec
	processed *prometheus.CounterVec
	failed    *prometheus.CounterVec
	retried   *prometheus.CounterVec
	batchSize prometheus.Histogram
	commit    prometheus.Histogram
	depth     prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, queueDepth func() float64) (*metrics, error) {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"event"})
	}
	m := &metrics{
		received:  counter("infra_agent_deliveries_received_total", "Webhook deliveries that passed validation and were offered to the store, by event."),
		duplicate: counter("infra_agent_deliveries_duplicate_total", "Deliveries whose X-GitHub-Delivery id was already stored: acknowledged, not run again."),
		deferred:  counter("infra_agent_deliveries_deferred_total", "Stored deliveries that found the queue full and were left pending for the sweeper."),
		filtered:  counter("infra_agent_deliveries_filtered_total", "Deliveries their handler's pre-filter proved to trigger nothing: recorded as processed (id only), never queued."),
		processed: counter("infra_agent_deliveries_processed_total", "Deliveries whose handler returned without error."),
		failed:    counter("infra_agent_deliveries_failed_total", "Deliveries whose handler failed on its last allowed attempt."),
		retried:   counter("infra_agent_deliveries_retried_total", "Failed handler attempts left pending for a retry."),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "infra_agent_delivery_batch_size",
			Help:    "Deliveries committed together in one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "infra_agent_delivery_commit_seconds",
			Help:    "Time one group commit of deliveries took.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
		depth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "infra_agent_delivery_queue_depth",
			Help: "Deliveries waiting in the in-memory queue for a worker.",
		}, queueDepth),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.duplicate, m.deferred, m.filtered, m.processed, m.failed, m.retried, m.batchSize, m.commit, m.depth} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering intake metrics: %w", err)
		}
	}
	return m, nil
}
