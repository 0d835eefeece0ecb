package runner

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

// retryWorld is a go-github client whose calls go through the retry
// transport to a fake GitHub; waits are recorded, not slept.
func retryWorld(t *testing.T) (*fakegithub.Server, *github.Client, *[]time.Duration) {
	t.Helper()
	s := fakegithub.New(t)
	s.AddInstallation(1, "acme")
	s.AddRepo(fakegithub.Repo{ID: 10, Owner: "acme", Name: "infra", InstallationID: 1})
	s.AddPullRequest("acme", "infra", fakegithub.PullRequest{Number: 1, Title: "t", User: "octocat", HeadRef: "topic"})
	inst, err := ghinstallation.New(http.DefaultTransport, s.AppID(), 1, s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	inst.BaseURL = strings.TrimSuffix(s.URL, "/")
	var waited []time.Duration
	rt := &retryTransport{base: inst, waits: []time.Duration{time.Second, 2 * time.Second}, maxWait: time.Minute, now: time.Now,
		sleep: func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }}
	gh := github.NewClient(&http.Client{Transport: rt})
	base, _ := url.Parse(s.URL)
	gh.BaseURL = base
	return s, gh, &waited
}

func TestRetryTransport(t *testing.T) {
	ctx := context.Background()
	comment := func(gh *github.Client) error {
		_, _, err := gh.Issues.CreateComment(ctx, "acme", "infra", 1, &github.IssueComment{Body: github.String("hi")})
		return err
	}
	read := func(gh *github.Client) error {
		_, _, err := gh.PullRequests.Get(ctx, "acme", "infra", 1)
		return err
	}
	for _, tc := range []struct {
		name     string
		method   string
		status   int
		header   http.Header
		call     func(*github.Client) error
		wantErr  bool
		wantWait []time.Duration
		comments int
	}{
		{name: "read after a 502", method: "GET", status: 502, call: read, wantWait: []time.Duration{time.Second}},
		{name: "write after a 502 is the caller's to look at", method: "POST", status: 502, call: comment, wantErr: true},
		{name: "write after a secondary rate limit", method: "POST", status: 403, header: http.Header{"Retry-After": {"3"}},
			call: comment, wantWait: []time.Duration{3 * time.Second}, comments: 1},
		{name: "write after a 429", method: "POST", status: 429, call: comment, wantWait: []time.Duration{time.Second}, comments: 1},
		{name: "a wait too long is not waited", method: "POST", status: 429, header: http.Header{"Retry-After": {"3600"}},
			call: comment, wantErr: true},
		{name: "a refusal is not retried", method: "GET", status: 404, call: read, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, gh, waited := retryWorld(t)
			s.FailNext(tc.method, "^/repos/acme/infra/(pulls|issues)/1", 1, tc.status, tc.header)
			err := tc.call(gh)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if len(*waited) != len(tc.wantWait) || len(tc.wantWait) > 0 && (*waited)[0] != tc.wantWait[0] {
				t.Errorf("waited %v, want %v", *waited, tc.wantWait)
			}
			if n := len(s.Comments("acme", "infra", 1)); n != tc.comments {
				t.Errorf("%d comments, want %d", n, tc.comments)
			}
		})
	}
}
