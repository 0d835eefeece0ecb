package main

import (
	"context"
	"net/http"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/broker"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/ingress"
	"github.com/infra-agent/infra-agent/store"
)

// newMuxes routes the server's HTTP endpoints: the main one, and the metrics
// one when cfg.MetricsAddr is set (nil otherwise: the main one serves
// /metrics). Every request carries the logger in its context, which
// go-githubapp's dispatcher and the handlers log with. The webhook route is
// guarded before the dispatcher reads a body (package ingress).
func newMuxes(logger zerolog.Logger, webhooks http.Handler, reg *prometheus.Registry, st store.Store, runners *broker.Broker, cfg config.Server) (http.Handler, http.Handler, error) {
	guarded, err := guardWebhooks(webhooks, cfg, reg)
	if err != nil {
		return nil, nil, err
	}
	health := healthHandler(st)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	mux := http.NewServeMux()
	runners.Register(mux)
	mux.Handle("POST "+githubapp.DefaultWebhookRoute, guarded)
	mux.Handle("GET /healthz", health)
	if cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", metrics)
		return withLogger(logger, mux), nil, nil
	}
	side := http.NewServeMux()
	side.Handle("GET /metrics", metrics)
	side.Handle("GET /healthz", health)
	return withLogger(logger, mux), withLogger(logger, side), nil
}

// guardWebhooks puts the webhook route's handler behind package ingress,
// registering the guard's metrics with reg when it is not nil.
func guardWebhooks(webhooks http.Handler, cfg config.Server, reg prometheus.Registerer) (http.Handler, error) {
	return ingress.Guard(webhooks, ingress.Options{MaxBody: config.MaxWebhookBytes, Budget: cfg.MaxUnverifiedBytes, Registerer: reg})
}

// healthHandler answers 200 when the database answers.
func healthHandler(st store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Msg("health check: database")
			http.Error(w, `{"status":"unavailable","database":"unreachable"}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
}

func withLogger(logger zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(logger.WithContext(r.Context())))
	})
}
