package jobs

import (
	"errors"
	"fmt"

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

// newMetrics builds the series and registers them with reg when it is set.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
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
	for _, c := range []prometheus.Collector{m.created, m.transitions, m.dispatches, m.decisions} {
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
