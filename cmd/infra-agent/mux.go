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
	"github.com/infra-agent/infra-agent/store"
)

// newMux routes the server's HTTP endpoints. Every request carries the logger
// in its context, which go-githubapp's dispatcher and the handlers log with.
func newMux(logger zerolog.Logger, webhooks http.Handler, reg *prometheus.Registry, st store.Store, runners *broker.Broker) http.Handler {
	mux := http.NewServeMux()
	runners.Register(mux)
	mux.Handle("POST "+githubapp.DefaultWebhookRoute, http.MaxBytesHandler(webhooks, maxWebhookBytes))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
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
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return withLogger(logger, mux)
}

func withLogger(logger zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(logger.WithContext(r.Context())))
	})
}
