package ghclient

import (
	"net/http"
	"strconv"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts GitHub API calls and records the rate-limit quota GitHub
// reports on every response.
type Metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	remaining *prometheus.GaugeVec
}

// NewMetrics registers the GitHub client metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "infra_agent_github_requests_total",
			Help: "GitHub API requests by method and status code (0 for transport errors).",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "infra_agent_github_request_duration_seconds",
			Help:    "GitHub API request latency, retries included.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "infra_agent_github_rate_limit_remaining",
			Help: "The X-RateLimit-Remaining GitHub reported last, by rate-limit resource.",
		}, []string{"resource"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.remaining} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Middleware returns the client middleware that records the metrics.
func (m *Metrics) Middleware() githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			start := time.Now()
			resp, err := next.RoundTrip(r)
			m.latency.WithLabelValues(r.Method).Observe(time.Since(start).Seconds())
			code := 0
			if resp != nil {
				code = resp.StatusCode
				if rem := resp.Header.Get("X-RateLimit-Remaining"); rem != "" {
					if n, perr := strconv.ParseFloat(rem, 64); perr == nil {
						res := resp.Header.Get("X-RateLimit-Resource")
						if res == "" {
							res = "core"
						}
						m.remaining.WithLabelValues(res).Set(n)
					}
				}
			}
			m.requests.WithLabelValues(r.Method, strconv.Itoa(code)).Inc()
			return resp, err
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
