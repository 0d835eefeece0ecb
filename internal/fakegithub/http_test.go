package fakegithub_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
)

func TestConditionalRequests(t *testing.T) {
	s := seeded(t)
	auth := "token " + mint(t, s, installationID, nil)
	first, body := call(t, s, "GET", "/repos/acme/infra", auth, nil, nil)
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || etag == "" || len(body) == 0 {
		t.Fatalf("first GET: %d, ETag %q", first.StatusCode, etag)
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used",
		"X-RateLimit-Resource"} {
		if first.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	second, body := call(t, s, "GET", "/repos/acme/infra", auth, nil, http.Header{"If-None-Match": {etag}})
	if second.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("conditional GET: %d with %d bytes, want 304 and no body", second.StatusCode, len(body))
	}
	if second.Header.Get("X-RateLimit-Remaining") != first.Header.Get("X-RateLimit-Remaining") {
		t.Errorf("a 304 counted against the rate limit: remaining %s then %s",
			first.Header.Get("X-RateLimit-Remaining"), second.Header.Get("X-RateLimit-Remaining"))
	}
	third, _ := call(t, s, "GET", "/repos/acme/infra", auth, nil, http.Header{"If-None-Match": {`W/"stale"`}})
	if third.StatusCode != http.StatusOK {
		t.Errorf("GET with a stale ETag: %d, want 200", third.StatusCode)
	}
	var statuses []int
	for _, r := range s.Requests() {
		if r.Path == "/repos/acme/infra" {
			statuses = append(statuses, r.Status)
		}
	}
	if !slices.Equal(statuses, []int{200, 304, 200}) {
		t.Errorf("recorded statuses %v, want [200 304 200]", statuses)
	}
}

// TestConditionalRequestsThroughGoGitHubApp uses go-githubapp's client creator with httpcache, revalidating
// every cached response: the second read is a 304 at the fake and a full response for the caller.
func TestConditionalRequestsThroughGoGitHubApp(t *testing.T) {
	s := seeded(t)
	cc := githubapp.NewClientCreator(s.URL, s.URL+"api/graphql", s.AppID(), s.PrivateKeyPEM(),
		githubapp.WithClientCaching(true, func() httpcache.Cache { return httpcache.NewMemoryCache() }))
	gh, err := cc.NewInstallationClient(installationID)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	for i := range 2 {
		repo, resp, err := gh.Repositories.Get(context.Background(), owner, repoName)
		if err != nil || repo.GetFullName() != "acme/infra" {
			t.Fatalf("read %d: %v %v", i, repo, err)
		}
		if cached := resp.Header.Get(httpcache.XFromCache) == "1"; cached != (i == 1) {
			t.Errorf("read %d: from cache = %v", i, cached)
		}
	}
	if calls := s.Calls(); len(calls) != 2 {
		t.Errorf("calls = %v, want two (the second a revalidation)", calls)
	}
}

func TestFailNextThenSuccess(t *testing.T) {
	s := seeded(t)
	gh := s.Client(t, installationID)
	s.FailNext("GET", `^/repos/acme/infra$`, 1, http.StatusBadGateway, nil)
	_, resp, err := gh.Repositories.Get(context.Background(), owner, repoName)
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("first call: %v, want a 502 ErrorResponse", err)
	}
	if _, _, err := gh.Repositories.Get(context.Background(), owner, repoName); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if len(s.Violations()) != 0 {
		t.Errorf("injected failures are not violations: %q", s.Violations())
	}
}

func TestFailNextSecondaryRateLimit(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{{"403 with Retry-After", http.StatusForbidden}, {"429", http.StatusTooManyRequests}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			s.FailNext("POST", `/check-runs$`, 1, tt.status, http.Header{"Retry-After": {"1"}})
			gh := s.Client(t, installationID)
			_, _, err := gh.Checks.CreateCheckRun(context.Background(), owner, repoName,
				github.CreateCheckRunOptions{Name: "infra-agent/plan", HeadSHA: headSHA})
			var abuse *github.AbuseRateLimitError
			if tt.status == http.StatusForbidden && (!errors.As(err, &abuse) || abuse.GetRetryAfter() != time.Second) {
				t.Fatalf("err = %#v, want an AbuseRateLimitError retrying after 1s", err)
			}
			var ge *github.ErrorResponse
			if tt.status == http.StatusTooManyRequests && (!errors.As(err, &ge) || ge.Response.StatusCode != 429 ||
				ge.Response.Header.Get("Retry-After") != "1") {
				t.Fatalf("err = %#v, want a 429 with Retry-After", err)
			}
			if len(s.CheckRuns(owner, repoName)) != 0 {
				t.Error("a failed request created a check run")
			}
		})
	}
}

func TestFailNextPrimaryRateLimit(t *testing.T) {
	s := seeded(t)
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	s.FailNext("", `^/repos/`, 1, http.StatusForbidden, http.Header{
		"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {reset}})
	_, _, err := s.Client(t, installationID).Repositories.Get(context.Background(), owner, repoName)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Remaining != 0 {
		t.Fatalf("err = %#v, want a RateLimitError", err)
	}
}

func TestCallsAndRequests(t *testing.T) {
	s := seeded(t)
	gh := s.Client(t, installationID)
	ctx := context.Background()
	if _, _, err := gh.Repositories.Get(ctx, owner, repoName); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.PullRequests.ListFiles(ctx, owner, repoName, 1, &github.ListOptions{PerPage: 5}); err == nil {
		t.Fatal("listing files of an absent pull request succeeded")
	}
	want := []string{"GET /repos/acme/infra", "GET /repos/acme/infra/pulls/1/files"}
	if got := s.Calls(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Calls() = %q, want %q", got, want)
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Path != "/app/installations/7/access_tokens" || reqs[2].Query.Get("per_page") != "5" ||
		reqs[1].Header.Get("Authorization") == "" {
		t.Errorf("Requests() = %+v", reqs)
	}
}

// TestConcurrentUse hammers one fake from many goroutines; run with -race to check the locking.
func TestConcurrentUse(t *testing.T) {
	s := seeded(t)
	gh := s.Client(t, installationID)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, _, err := gh.Checks.CreateCheckRun(context.Background(), owner, repoName,
				github.CreateCheckRunOptions{Name: "run-" + strconv.Itoa(i), HeadSHA: headSHA})
			if err != nil {
				t.Errorf("create %d: %v", i, err)
			}
			_ = s.CheckRuns(owner, repoName)
		})
	}
	wg.Wait()
	if n := len(s.CheckRuns(owner, repoName)); n != 20 {
		t.Errorf("%d check runs, want 20", n)
	}
}

// TestDeterministicIDs: the same requests against two fakes yield the same ids and tokens.
func TestDeterministicIDs(t *testing.T) {
	run := func() (int64, string) {
		s := seeded(t)
		cr, _, err := s.Client(t, installationID).Checks.CreateCheckRun(context.Background(), owner, repoName,
			github.CreateCheckRunOptions{Name: "infra-agent/plan", HeadSHA: headSHA})
		if err != nil {
			t.Fatal(err)
		}
		return cr.GetID(), s.Tokens()[0].Token
	}
	id1, tok1 := run()
	id2, tok2 := run()
	if id1 != id2 || tok1 != tok2 {
		t.Errorf("ids %d/%d, tokens %s/%s differ between runs", id1, id2, tok1, tok2)
	}
}
