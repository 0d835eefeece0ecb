package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

func testListAndCountJobs(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

	// Created in this order; each on its own subject so none supersedes another.
	specs := []struct {
		key          string
		installation int64
		repo         string
		number       int
		kind         wire.Kind
		source       string
		state        store.JobState
	}{
		{"j0", 1, "infra", 1, wire.KindFix, "issue_comment", store.JobQueued},
		{"j1", 1, "infra", 2, wire.KindReview, "pull_request", store.JobRunning},
		{"j2", 1, "web", 1, wire.KindPlan, "issue_comment", store.JobSucceeded},
		{"j3", 2, "infra", 1, wire.KindRemediate, "issues", store.JobFailed},
		{"j4", 2, "web", 5, wire.KindFix, "check_run", store.JobDispatched},
	}
	ids := map[string]string{}
	for i, sp := range specs {
		j := newJob(sp.key, sp.number)
		j.InstallationID, j.Repo, j.Kind, j.TriggerSource, j.State = sp.installation, sp.repo, sp.kind, sp.source, sp.state
		j.RepoID = sp.installation*100 + map[string]int64{"infra": 1, "web": 2}[sp.repo]
		j.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		created, _ := createJob(t, s, j)
		ids[created.ID] = sp.key
	}

	cases := []struct {
		name   string
		filter store.JobFilter
		want   []string
	}{
		{"all, oldest first", store.JobFilter{}, []string{"j0", "j1", "j2", "j3", "j4"}},
		{"active states", store.JobFilter{States: store.ActiveStates}, []string{"j0", "j1", "j4"}},
		{"one state", store.JobFilter{States: []store.JobState{store.JobFailed}}, []string{"j3"}},
		{"kind", store.JobFilter{Kind: wire.KindFix}, []string{"j0", "j4"}},
		{"installation", store.JobFilter{InstallationID: 2}, []string{"j3", "j4"}},
		{"repository", store.JobFilter{Owner: "octo-org", Repo: "web"}, []string{"j2", "j4"}},
		{"subject", store.JobFilter{InstallationID: 1, Owner: "octo-org", Repo: "infra", Number: 1}, []string{"j0"}},
		{"trigger source", store.JobFilter{TriggerSource: "issue_comment"}, []string{"j0", "j2"}},
		{"updated before", store.JobFilter{UpdatedBefore: t0.Add(2 * time.Minute)}, []string{"j0", "j1"}},
		{"stale active", store.JobFilter{States: store.ActiveStates, UpdatedBefore: t0.Add(90 * time.Second)}, []string{"j0", "j1"}},
		{"limit", store.JobFilter{Limit: 2}, []string{"j0", "j1"}},
		{"no match", store.JobFilter{Owner: "someone-else"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			jobs, err := s.ListJobs(ctx, tc.filter)
			if err != nil {
				t.Fatalf("ListJobs: %v", err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, ids[j.ID])
			}
			assertStrings(t, "jobs", got, tc.want)

			n, err := s.CountJobs(ctx, tc.filter)
			if err != nil {
				t.Fatalf("CountJobs: %v", err)
			}
			want := len(tc.want)
			if tc.filter.Limit > 0 {
				want = len(specs) // CountJobs ignores the limit
			}
			if n != want {
				t.Errorf("CountJobs = %d, want %d", n, want)
			}
		})
	}
	if len(ids) != len(specs) {
		t.Errorf("created %d distinct jobs, want %d", len(ids), len(specs))
	}
}
