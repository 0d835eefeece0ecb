package ghclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

// fakeClient returns an installation client of the fake built the way the
// server builds its clients.
func fakeClient(t *testing.T, retry RetryOptions) (*fakegithub.Server, *github.Client) {
	t.Helper()
	fake := fakegithub.New(t)
	fake.AddInstallation(1, "acme")
	fake.AddRepo(fakegithub.Repo{ID: 1, Owner: "acme", Name: "infra", InstallationID: 1})
	fake.AddPullRequest("acme", "infra", fakegithub.PullRequest{Number: 2, HeadRef: "topic"})
	var cfg githubapp.Config
	cfg.V3APIURL, cfg.V4APIURL = fake.URL, fake.URL+"graphql"
	cfg.App.IntegrationID, cfg.App.PrivateKey = fake.AppID(), string(fake.PrivateKeyPEM())
	cc, err := NewClientCreator(cfg, prometheus.NewRegistry(), Options{UserAgent: "test", Retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	gh, err := cc.NewInstallationClient(1)
	if err != nil {
		t.Fatal(err)
	}
	return fake, gh
}

// TestRetryAfterOutlastsTheAttemptTimeout: a secondary rate limit asking for
// longer than one attempt may take is waited out, not turned into a deadline
// error (the server's 30 s client timeout used to wrap the retries and their
// waits).
func TestRetryAfterOutlastsTheAttemptTimeout(t *testing.T) {
	fake, gh := fakeClient(t, RetryOptions{AttemptTimeout: time.Second, MaxRetryAfter: 5 * time.Second})
	fake.FailNext("GET", `^/repos/acme/infra$`, 1, http.StatusForbidden, http.Header{"Retry-After": {"2"}})
	start := time.Now()
	if _, _, err := gh.Repositories.Get(context.Background(), "acme", "infra"); err != nil {
		t.Fatalf("Retry-After 2 s with 1 s attempts: %v", err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("answered after %s: the Retry-After was not honoured", took)
	}
}

// TestSlowAttemptIsRetried: an attempt that times out is tried again, except
// a POST, which GitHub may have applied.
func TestSlowAttemptIsRetried(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			var seen atomic.Int32
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if seen.Add(1) == 1 {
					time.Sleep(300 * time.Millisecond)
				}
				_, _ = w.Write([]byte(`{}`))
			}))
			defer ts.Close()
			client := &http.Client{Transport: Retry(RetryOptions{AttemptTimeout: 100 * time.Millisecond, MinWait: time.Millisecond})(http.DefaultTransport)}
			req, _ := http.NewRequest(method, ts.URL+"/repos/o/r/check-runs", strings.NewReader(`{}`))
			resp, err := client.Do(req)
			if method == http.MethodGet {
				if err != nil || seen.Load() != 2 {
					t.Fatalf("GET: %v after %d attempts, want success on the second", err, seen.Load())
				}
				resp.Body.Close()
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("the POST that timed out succeeded")
			}
			if seen.Load() != 1 || !Ambiguous(err) {
				t.Errorf("POST sent %d times (want 1), ambiguous %v (want true)", seen.Load(), Ambiguous(err))
			}
		})
	}
}

// TestPOSTRetries: a POST is repeated only when GitHub certainly did not act
// on it, or when repeating it is harmless.
func TestPOSTRetries(t *testing.T) {
	opts := RetryOptions{MinWait: time.Millisecond, MaxWait: time.Millisecond}
	create := func(gh *github.Client) error {
		_, _, err := gh.Checks.CreateCheckRun(context.Background(), "acme", "infra",
			github.CreateCheckRunOptions{Name: "infra-agent/plan", HeadSHA: strings.Repeat("1", 40)})
		return err
	}
	t.Run("applied then 502: not repeated", func(t *testing.T) {
		fake, gh := fakeClient(t, opts)
		fake.FailNextAfterApplying("POST", `/check-runs$`, 1, http.StatusBadGateway)
		err := create(gh)
		if err == nil || !Ambiguous(err) {
			t.Fatalf("err = %v, want an ambiguous error", err)
		}
		if n := len(fake.CheckRuns("acme", "infra")); n != 1 {
			t.Errorf("%d check runs, want the 1 the first request made", n)
		}
	})
	t.Run("429: repeated", func(t *testing.T) {
		fake, gh := fakeClient(t, opts)
		fake.FailNext("POST", `/check-runs$`, 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"0"}})
		if err := create(gh); err != nil {
			t.Fatal(err)
		}
		if n := len(fake.CheckRuns("acme", "infra")); n != 1 {
			t.Errorf("%d check runs, want 1", n)
		}
	})
	t.Run("a reaction is safe to repeat", func(t *testing.T) {
		fake, gh := fakeClient(t, opts)
		id := fake.AddComment("acme", "infra", 2, fakegithub.Comment{User: "alice", Body: "/agent plan"})
		fake.FailNextAfterApplying("POST", `/reactions$`, 1, http.StatusBadGateway)
		if _, _, err := gh.Reactions.CreateIssueCommentReaction(context.Background(), "acme", "infra", id, "eyes"); err != nil {
			t.Fatal(err)
		}
		if got := fake.Reactions("acme", "infra", id); len(got) != 1 {
			t.Errorf("reactions = %v, want one", got)
		}
	})
}

// refusing fails its first n round trips before anything is sent, as a
// connection that could not be made does.
type refusing struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (r *refusing) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return r.next.RoundTrip(req)
}

func TestPOSTRetriedWhenNeverSent(t *testing.T) {
	var seen atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	defer ts.Close()
	tr := &refusing{next: http.DefaultTransport}
	tr.n.Store(2)
	client := &http.Client{Transport: Retry(RetryOptions{MinWait: time.Millisecond, MaxWait: time.Millisecond})(tr)}
	resp, err := client.Post(ts.URL+"/repos/o/r/issues/1/comments", "application/json", strings.NewReader(`{"body":"x"}`))
	if err != nil {
		t.Fatalf("POST after two refused connections: %v", err)
	}
	resp.Body.Close()
	if seen.Load() != 1 {
		t.Errorf("server saw %d POSTs, want 1", seen.Load())
	}
}

func TestAmbiguous(t *testing.T) {
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Request: &http.Request{}} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"502", &github.ErrorResponse{Response: resp(502)}, true},
		{"422", &github.ErrorResponse{Response: resp(422)}, false},
		{"secondary rate limit", &github.AbuseRateLimitError{Response: resp(403)}, false},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("refused")}, false},
		{"connection reset while reading", &net.OpError{Op: "read", Err: errors.New("reset")}, true},
		{"timeout", context.DeadlineExceeded, true},
	}
	for _, tt := range tests {
		if got := Ambiguous(tt.err); got != tt.want {
			t.Errorf("%s: Ambiguous = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTransient(t *testing.T) {
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Request: &http.Request{}} }
	for name, tt := range map[string]struct {
		err  error
		want bool
	}{
		"502":                {&github.ErrorResponse{Response: resp(502)}, true},
		"429":                {&github.ErrorResponse{Response: resp(429)}, true},
		"secondary limit":    {&github.AbuseRateLimitError{Response: resp(403)}, true},
		"404":                {&github.ErrorResponse{Response: resp(404)}, false},
		"422":                {&github.ErrorResponse{Response: resp(422)}, false},
		"an attempt timeout": {context.DeadlineExceeded, true},
		"nil":                {nil, false},
	} {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("%s: Transient = %v, want %v", name, got, tt.want)
		}
	}
}
