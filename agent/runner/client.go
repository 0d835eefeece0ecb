package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/wire"
)

// DefaultBackoff is the wait before each retry of a call the server did not
// answer (or answered 5xx/429): five retries over about half a minute.
func DefaultBackoff() []time.Duration {
	return []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
}

// DefaultGitHubBackoff is the wait before each retry of a GitHub call that
// was refused for now and named no wait: three retries over seven seconds.
func DefaultGitHubBackoff() []time.Duration {
	return []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
}

// apiError is an answer of the runner API that refuses the call.
type apiError struct {
	status int
	body   wire.ErrorDetail
}

func (e *apiError) Error() string {
	msg := e.body.Message
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	return fmt.Sprintf("%d %s", e.status, msg)
}

// ended reports whether the error says the job ended on the server.
func (e *apiError) ended() bool { return e.status == http.StatusConflict && e.body.State != "" }

// serverClient calls the runner API of one server for one job.
type serverClient struct {
	base    string
	jobID   string
	http    *http.Client
	backoff []time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
}

// call posts msg to route with credential and decodes the answer into out.
// Network failures, 5xx and 429 are retried with backoff; other refusals are
// returned at once as *apiError. When every attempt failed, the error names
// the server's URL.
func (c *serverClient) call(ctx context.Context, route, credential string, msg, out any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encoding the %s message: %w", route, err)
	}
	url := wire.JobURL(c.base, c.jobID, route)
	var last error
	for attempt := 0; ; attempt++ {
		last = c.once(ctx, url, credential, body, out)
		var ae *apiError
		if last == nil || (errors.As(last, &ae) && ae.status < 500 && ae.status != http.StatusTooManyRequests) {
			return last
		}
		if attempt >= len(c.backoff) || ctx.Err() != nil {
			break
		}
		zerolog.Ctx(ctx).Warn().Err(last).Str(logKeyRoute, route).Int(logKeyAttempt, attempt+1).Msg("the server did not answer; retrying")
		if err := c.sleep(ctx, c.backoff[attempt]); err != nil {
			break
		}
	}
	return fmt.Errorf("the infra-agent server at %s could not be reached (%s, %d attempts): %w", c.base, route, len(c.backoff)+1, last)
}

func (c *serverClient) once(ctx context.Context, url, credential string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+credential)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{status: resp.StatusCode}
		var eb wire.ErrorBody
		if json.Unmarshal(raw, &eb) == nil {
			e.body = eb.Error
		}
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}

// idToken asks the Actions runtime for an OIDC ID token with audience: GET
// ACTIONS_ID_TOKEN_REQUEST_URL&audience=… with the request token as bearer.
// The workflow must grant `permissions: id-token: write`.
func idToken(ctx context.Context, client *http.Client, requestURL, requestToken, audience string) (string, error) {
	if requestURL == "" || requestToken == "" {
		return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: " +
			"run in GitHub Actions with `permissions: id-token: write`")
	}
	sep := "&"
	if !bytes.ContainsRune([]byte(requestURL), '?') {
		sep = "?"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, requestURL+sep+"audience="+url.QueryEscape(audience), nil)
	if err != nil {
		return "", fmt.Errorf("building the OIDC token request: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+requestToken)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting an OIDC token from the Actions runtime: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("requesting an OIDC token from the Actions runtime: %s", resp.Status)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.Value == "" {
		return "", fmt.Errorf("the Actions runtime answered no OIDC token (%v)", err)
	}
	return out.Value, nil
}
