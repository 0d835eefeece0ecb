package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// retryTransport retries the GitHub calls that are safe to repeat: any call
// GitHub refused for now without acting on it (429, a secondary rate limit,
// an exhausted primary limit), waiting as long as it says within maxWait;
// and a read that failed with a 5xx or no answer. A write that failed that
// way may have been applied: it is handed back to its caller, which looks
// before it tries again (see the writeback package).
type retryTransport struct {
	base  http.RoundTripper
	waits []time.Duration // backoff before each retry, when GitHub names no wait
	// maxWait is the longest wait GitHub may ask for; a longer one is not
	// waited out, the answer is returned.
	maxWait time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	now     func() time.Time
}

func (t *retryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.base.RoundTrip(r)
		wait, retry := t.verdict(r, resp, err, attempt)
		if !retry {
			return resp, err
		}
		body, berr := rewind(r)
		if berr != nil {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
		}
		zerolog.Ctx(r.Context()).Warn().Str(logKeyMethod, r.Method).Str(logKeyPath, r.URL.Path).Int(logKeyAttempt, attempt+1).
			Dur(logKeyWait, wait).Msg("github call refused for now; retrying")
		if serr := t.sleep(r.Context(), wait); serr != nil {
			return nil, serr
		}
		r = r.Clone(r.Context())
		r.Body = body
	}
}

// verdict says whether to try a call again, and after how long.
func (t *retryTransport) verdict(r *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if attempt >= len(t.waits) || r.Context().Err() != nil {
		return 0, false
	}
	backoff := t.waits[attempt]
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	if err != nil {
		return backoff, read
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusForbidden && (resp.Header.Get("Retry-After") != "" || secondaryLimit(resp)):
		return t.asked(resp, backoff)
	case resp.StatusCode == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0":
		reset, _ := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
		wait := time.Unix(reset, 0).Sub(t.now())
		return max(wait, backoff), wait <= t.maxWait
	case resp.StatusCode >= 500:
		return backoff, read
	}
	return 0, false
}

// asked is the wait a rate-limited answer asks for (Retry-After in seconds),
// or backoff when it names none; too long a wait is not waited out.
func (t *retryTransport) asked(resp *http.Response, backoff time.Duration) (time.Duration, bool) {
	secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || secs < 0 {
		return backoff, true
	}
	wait := time.Duration(secs) * time.Second
	return wait, wait <= t.maxWait
}

// secondaryLimit reads whether a 403 is GitHub's secondary rate limit, by
// its message (it does not always send Retry-After).
func secondaryLimit(resp *http.Response) bool {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return err == nil && bytes.Contains(bytes.ToLower(data), []byte("secondary rate limit"))
}

// rewind returns a fresh copy of the request's body for another attempt.
func rewind(r *http.Request) (io.ReadCloser, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return r.Body, nil
	}
	if r.GetBody == nil {
		return nil, errNoRewind
	}
	return r.GetBody()
}

var errNoRewind = errors.New("the request body cannot be sent again")
