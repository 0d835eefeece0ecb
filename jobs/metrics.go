package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// metrics are the job layer's Prometheus series.
type metrics struct {
	created     *prometheus.CounterVec // by kind
	transitions *prometheus.CounterVec // by kind and the state entered
	dispatches  *prometheus.CounterVec // by result: ok, retry, failed
	decisions   *prometheus.CounterVec // by source and verdict
}

// newMetrics builds the series and registers them with reg when it is set,
// with a gauge of the active jobs in the store active.
func newMetrics(reg prometheus.Registerer, active store.Store) (*metrics, error) {
	m := &metrics{
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "infra_agent_jobs_created_total",
			Help: "Jobs created, by kind.",
		}, []string{"kind"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "infra_agent_job_transitions_total",
			Help: "Job state changes, by kind and the state entered.",
		}, []string{"kind", "state"}),
		dispatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "infra_agent_dispatch_attempts_total",
			Help: "Workflow dispatch attempts, by result: ok, retry (failed, will retry) or failed (gave up).",
		}, []string{"result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "infra_agent_policy_decisions_total",
			Help: "Policy decisions, by trigger source and verdict: allowed, static, denied or ignored.",
		}, []string{"source", "verdict"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.created, m.transitions, m.dispatches, m.decisions, newActiveJobs(active)} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("registering job metrics: another service already registered them: %w", err)
			}
			return nil, fmt.Errorf("registering job metrics: %w", err)
		}
	}
	// Every series exists from the start, so rates and alerts see zeros.
	for _, k := range wire.Kinds {
		m.created.WithLabelValues(string(k))
		for _, st := range []store.JobState{store.JobQueued, store.JobDispatched, store.JobRunning, store.JobSucceeded,
			store.JobFailed, store.JobCancelled, store.JobSuperseded, store.JobTimedOut} {
			m.transitions.WithLabelValues(string(k), string(st))
		}
	}
	for _, r := range []string{"ok", "retry", "failed"} {
		m.dispatches.WithLabelValues(r)
	}
	return m, nil
}

func (m *metrics) jobCreated(k wire.Kind) {
	m.created.WithLabelValues(string(k)).Inc()
	m.transitions.WithLabelValues(string(k), string(store.JobQueued)).Inc()
}

func (m *metrics) jobEntered(k wire.Kind, st store.JobState) {
	m.transitions.WithLabelValues(string(k), string(st)).Inc()
}

func (m *metrics) decision(src Source, d Decision) {
	verdict := "allowed"
	switch {
	case d.Allowed && d.Static:
		verdict = "static"
	case !d.Allowed && d.Quiet:
		verdict = "ignored"
	case !d.Allowed:
		verdict = "denied"
	}
	m.decisions.WithLabelValues(string(src), verdict).Inc()
}

// activeJobsTimeout bounds the store read of one scrape.
const activeJobsTimeout = 5 * time.Second

// activeJobs is the number of active jobs by kind and state, read from the
// store at every scrape: the counters above are per replica, while a job is
// created on one replica and ended by another (or by a runner, or the
// watchdog), so only the store knows how many are waiting or running.
type activeJobs struct {
	store store.Store
	desc  *prometheus.Desc
}

func newActiveJobs(st store.Store) activeJobs {
	return activeJobs{store: st, desc: prometheus.NewDesc("infra_agent_jobs_active",
		"Jobs in an active state (queued, dispatched, running), by kind and state, across all replicas.",
		[]string{"kind", "state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c activeJobs) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A scrape has no context of its own.
func (c activeJobs) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), activeJobsTimeout)
	defer cancel()
	jobs, err := c.store.ListJobs(ctx, store.JobFilter{States: store.ActiveStates})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, fmt.Errorf("counting active jobs: %w", err))
		return
	}
	type key struct {
		kind  wire.Kind
		state store.JobState
	}
	n := map[key]int{}
	for _, j := range jobs {
		n[key{j.Kind, j.State}]++
	}
	for _, k := range wire.Kinds {
		for _, st := range store.ActiveStates {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n[key{k, st}]), string(k), string(st))
		}
	}
}
