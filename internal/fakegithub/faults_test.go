package fakegithub_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

// TestFailNextAfterApplying: the operation happens and the client is told it failed, which is what makes a
// blind retry of a POST create a duplicate.
func TestFailNextAfterApplying(t *testing.T) {
	s := seeded(t)
	gh := s.Client(t, installationID)
	s.FailNextAfterApplying("POST", `/check-runs$`, 1, http.StatusBadGateway)
	_, resp, err := gh.Checks.CreateCheckRun(context.Background(), owner, repoName,
		github.CreateCheckRunOptions{Name: "infra-agent/plan", HeadSHA: headSHA, ExternalID: github.String("job-1")})
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("err = %v, want a 502", err)
	}
	crs := s.CheckRuns(owner, repoName)
	if len(crs) != 1 || crs[0].ExternalID != "job-1" {
		t.Fatalf("check runs = %+v, want the one the failed request created", crs)
	}
	got := s.InjectedFaults()
	if len(got) != 1 || got[0].Fault != "502-after-applying" || got[0].Method != "POST" {
		t.Errorf("InjectedFaults() = %+v", got)
	}
	if len(s.Violations()) != 0 {
		t.Errorf("injected failures are not violations: %q", s.Violations())
	}
}

// TestInjectFaults: about the share of requests asked for fails, with every kind, reproducibly from the seed;
// an applied-then-502 leaves its effect.
func TestInjectFaults(t *testing.T) {
	run := func(seed uint64) ([]fakegithub.InjectedFault, int, int) {
		s := seeded(t)
		// Raw requests: go-github refuses to send more after a secondary rate limit until Retry-After passes.
		auth := "token " + mint(t, s, installationID, nil)
		s.InjectFaults(fakegithub.Faults{Rate: 0.2, Seed: seed})
		failed := 0
		for i := range 400 {
			resp, _ := call(t, s, "POST", "/repos/acme/infra/check-runs", auth,
				map[string]any{"name": "infra-agent/plan", "head_sha": headSHA}, nil)
			if resp.StatusCode != http.StatusCreated {
				failed++
			}
			if i == 199 {
				s.StopFaults()
			}
		}
		return s.InjectedFaults(), failed, len(s.CheckRuns(owner, repoName))
	}
	faults, failed, created := run(7)
	if len(faults) < 20 || len(faults) > 60 || failed != len(faults) {
		t.Fatalf("%d faults, %d failed requests out of 200 at a rate of 0.2", len(faults), failed)
	}
	kinds := map[fakegithub.Fault]int{}
	for _, f := range faults {
		kinds[f.Fault]++
	}
	for _, k := range []fakegithub.Fault{fakegithub.Fault500, fakegithub.Fault502, fakegithub.FaultSecondaryRateLimit,
		fakegithub.Fault429, fakegithub.FaultAppliedThen502} {
		if kinds[k] == 0 {
			t.Errorf("no %s fault among %v", k, kinds)
		}
	}
	if want := 400 - failed + kinds[fakegithub.FaultAppliedThen502]; created != want {
		t.Errorf("%d check runs exist, want %d: the applied-then-502 requests' runs and the successful ones", created, want)
	}
	again, _, _ := run(7)
	if len(again) != len(faults) {
		t.Errorf("seed 7 gave %d faults, then %d: not reproducible", len(faults), len(again))
	}
}

func TestInjectFaultsRateLimitHeaders(t *testing.T) {
	s := seeded(t)
	gh := s.Client(t, installationID)
	if _, _, err := gh.Repositories.Get(context.Background(), owner, repoName); err != nil {
		t.Fatal(err)
	}
	s.InjectFaults(fakegithub.Faults{Rate: 1, Kinds: []fakegithub.Fault{fakegithub.FaultSecondaryRateLimit}})
	_, _, err := gh.Repositories.Get(context.Background(), owner, repoName)
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter().Seconds() != 1 {
		t.Fatalf("err = %#v, want a secondary rate limit with Retry-After: 1", err)
	}
}
