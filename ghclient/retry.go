// Package ghclient holds the middleware every GitHub API client of the server
// goes through: retries that honour GitHub's rate-limit signals, and metrics.
package ghclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/palantir/go-githubapp/githubapp"
)

// RetryOptions tunes the retry middleware.
type RetryOptions struct {
	// MaxRetries is the number of retries after the first attempt (default 4).
	MaxRetries int
	// MinWait and MaxWait bound the exponential backoff between attempts
	// (defaults 500 ms and 30 s).
	MinWait, MaxWait time.Duration
	// MaxRetryAfter is the longest wait a Retry-After or rate-limit reset may ask
	// for before the response is returned instead of waited on (default 60 s):
	// a webhook worker must not sleep for an hour on an exhausted quota.
	MaxRetryAfter time.Duration
	// SecondaryWait is how long to wait on a secondary rate limit that names no
	// wait (GitHub's documentation says at least a minute; default 60 s).
	SecondaryWait time.Duration
	// AttemptTimeout bounds one attempt (default 30 s). Each attempt has its
	// own: a timeout around the whole chain would end the call while it waits
	// out a Retry-After. An attempt that times out is retried like a dropped
	// connection, except for a POST that may have been applied.
	AttemptTimeout time.Duration
	// Now is the clock used to read X-RateLimit-Reset (default time.Now).
	Now func() time.Time
}

func (o RetryOptions) withDefaults() RetryOptions {
	if o.MaxRetries == 0 {
		o.MaxRetries = 4
	}
	if o.MinWait == 0 {
		o.MinWait = 500 * time.Millisecond
	}
	if o.MaxWait == 0 {
		o.MaxWait = 30 * time.Second
	}
	if o.MaxRetryAfter == 0 {
		o.MaxRetryAfter = 60 * time.Second
	}
	if o.SecondaryWait == 0 {
		o.SecondaryWait = time.Minute
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Retry returns a client middleware that retries requests GitHub answered with
// a 5xx, a 429, or a 403 that is a rate limit (secondary or primary), waiting as
// long as Retry-After or X-RateLimit-Reset says when they say it, and requests
// that failed or timed out on the way.
//
// A POST creates something, and a 5xx or a timeout does not say whether GitHub
// created it before failing (a proxy's 502 often comes after the work is done):
// retrying it blindly makes duplicates. So a POST is retried only when GitHub
// certainly did not act on it (a rate-limit answer, a connection that was never
// made, an installation token that could not be minted) or when repeating it is
// harmless (SafePOST); otherwise the error goes back to the caller, which looks
// for the object before creating it again.
func Retry(opts RetryOptions) githubapp.ClientMiddleware {
	o := opts.withDefaults()
	return func(next http.RoundTripper) http.RoundTripper {
		c := retryablehttp.NewClient()
		c.HTTPClient = &http.Client{
			Transport: next,
			// Redirects are go-github's business, not the retry layer's.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       o.AttemptTimeout,
		}
		c.Logger = nil
		c.RetryMax = o.MaxRetries
		c.RetryWaitMin = o.MinWait
		c.RetryWaitMax = o.MaxWait
		c.CheckRetry = o.checkRetry
		c.Backoff = o.backoff
		// After the last attempt, hand GitHub's own answer to go-github so the
		// caller sees the real status and message.
		c.ErrorHandler = retryablehttp.PassthroughErrorHandler
		return methodInContext{next: &retryablehttp.RoundTripper{Client: c}}
	}
}

// methodInContext puts the request's method and path in its context, where
// checkRetry (which retryablehttp gives only the context) can read them.
type methodInContext struct{ next http.RoundTripper }

type requestKey struct{}

func (m methodInContext) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := context.WithValue(r.Context(), requestKey{}, r.Method+" "+r.URL.Path)
	return m.next.RoundTrip(r.WithContext(ctx))
}

// safePOST matches the POSTs that are harmless to repeat: minting a token,
// adding a reaction (GitHub answers the existing one), cancelling a run, asking
// for a redelivery, and GraphQL queries.
var safePOST = regexp.MustCompile(`^POST .*(/app/installations/\d+/access_tokens|/reactions|/actions/runs/\d+/cancel|/app/hook/deliveries/\d+/attempts|/graphql)$`)

// SafePOST reports whether a POST to path may be repeated without creating a
// second object.
func SafePOST(path string) bool { return safePOST.MatchString("POST " + path) }

// mayRepeat reports whether the request in ctx may be sent again after an
// answer or error that does not say whether GitHub acted on it.
func mayRepeat(ctx context.Context) bool {
	req, _ := ctx.Value(requestKey{}).(string)
	return !strings.HasPrefix(req, "POST ") || safePOST.MatchString(req)
}

func (o RetryOptions) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if notSent(err) {
			return true, nil
		}
		if !mayRepeat(ctx) {
			return false, nil
		}
		// Transport errors: retryablehttp's policy already tells a dropped
		// connection or a timeout (retry) from a bad scheme or certificate (do
		// not).
		return retryablehttp.DefaultRetryPolicy(ctx, nil, err)
	}
	wait, limited := o.rateLimitWait(resp)
	if limited {
		// GitHub refused the request before acting on it: safe for any method.
		return wait <= o.MaxRetryAfter, nil
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return mayRepeat(ctx), nil
	}
	return false, nil
}

// notSent reports whether err means the request never reached GitHub: the
// connection could not be made, the name not resolved, or the installation
// token the request needed could not be minted.
func notSent(err error) bool {
	var (
		op    *net.OpError
		dns   *net.DNSError
		token *ghinstallation.HTTPError
	)
	switch {
	case errors.As(err, &token):
		return true
	case errors.As(err, &dns):
		return true
	case errors.As(err, &op):
		return op.Op == "dial"
	}
	return false
}

// rateLimitWait reports whether resp is a rate-limit answer and how long
// GitHub asks to wait before the next attempt (0 when it does not say).
func (o RetryOptions) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if t, err := http.ParseTime(s); err == nil {
			return max(t.Sub(o.Now()), 0), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(reset, 0).Sub(o.Now()), 0), true
		}
		return o.MaxRetryAfter + 1, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return 0, true
	}
	// A secondary rate limit without headers: GitHub says to wait at least a
	// minute. Anything else with 403 is a permission problem, not retried.
	if secondaryLimitBody(resp) {
		return o.SecondaryWait, true
	}
	return 0, false
}

// secondaryLimitBody peeks at a 403 body for GitHub's secondary-rate-limit
// message and puts the body back for the caller.
func secondaryLimitBody(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	peek, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	return bytes.Contains(bytes.ToLower(peek), []byte("secondary rate limit"))
}

func (o RetryOptions) backoff(min, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if wait, limited := o.rateLimitWait(resp); limited && wait > 0 {
			return wait
		}
	}
	mult := math.Pow(2, float64(attempt)) * float64(min)
	if mult > float64(maxWait) {
		return maxWait
	}
	return time.Duration(mult)
}

// answer is what an error says about how GitHub answered a request.
type answer int

const (
	notSentAnswer answer = iota // the request never reached GitHub
	rateLimited                 // refused for now, before anything was done
	serverError                 // a 5xx
	clientError                 // another 4xx: refused for good
	noAnswer                    // sent, and then the connection failed or timed out
)

func classify(err error) answer {
	var (
		rate  *github.RateLimitError
		abuse *github.AbuseRateLimitError
		er    *github.ErrorResponse
	)
	switch {
	case notSent(err):
		return notSentAnswer
	case errors.As(err, &rate), errors.As(err, &abuse):
		return rateLimited
	case errors.As(err, &er):
		switch code := statusOf(er); {
		case code == http.StatusTooManyRequests:
			return rateLimited
		case code >= 500 || code == 0:
			return serverError
		}
		return clientError
	}
	return noAnswer
}

func statusOf(er *github.ErrorResponse) int {
	if er.Response == nil {
		return 0
	}
	return er.Response.StatusCode
}

// Ambiguous reports whether err leaves open whether GitHub acted on the
// request: a server error, a timeout or a connection lost after sending. The
// caller of a POST that failed this way looks for what it meant to create
// before trying again.
func Ambiguous(err error) bool {
	if err == nil {
		return false
	}
	switch classify(err) {
	case serverError, noAnswer:
		return true
	}
	return false
}

// Transient reports whether err may go away when the request is made again
// later: rate limits, server errors, and failures to reach GitHub or to hear
// back from it. A 4xx other than 429 will not.
func Transient(err error) bool {
	return err != nil && classify(err) != clientError
}
