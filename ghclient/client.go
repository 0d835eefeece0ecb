package ghclient

import (
	"fmt"

	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure NewClientCreator.
type Options struct {
	// UserAgent names the server in every request.
	UserAgent string
	// Retry tunes the retries; its AttemptTimeout bounds each attempt.
	Retry RetryOptions
	// CacheEntries bounds each installation client's response cache (default
	// DefaultCacheEntries).
	CacheEntries int
}

// NewClientCreator returns go-githubapp's client creator for the App in cfg,
// with conditional-request caching (one bounded cache per installation),
// retries that honour rate limits, and metrics registered with reg.
//
// No timeout wraps a whole call: each attempt has its own (Retry), and the
// caller's context bounds the call with its retries and waits.
func NewClientCreator(cfg githubapp.Config, reg prometheus.Registerer, o Options) (githubapp.ClientCreator, error) {
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	entries := o.CacheEntries
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg,
		githubapp.WithClientUserAgent(o.UserAgent),
		// alwaysValidate: every cached read is revalidated with If-None-Match;
		// a 304 does not count against the rate limit and is never stale.
		githubapp.WithClientCaching(true, func() httpcache.Cache { return NewCache(entries) }),
		githubapp.WithClientMiddleware(m.Middleware(), Retry(o.Retry)),
	)
	if err != nil {
		return nil, fmt.Errorf("creating GitHub clients: %w", err)
	}
	return cc, nil
}
