package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

func TestNewServiceValidates(t *testing.T) {
	h := newHarness(t, nil)
	clients := githubapp.NewClientCreator(h.fake.URL, h.fake.URL+"graphql", h.fake.AppID(), h.fake.PrivateKeyPEM())
	tests := []struct {
		name string
		o    ServiceOptions
		want string
	}{
		{"no store", ServiceOptions{Clients: clients, AppID: 1}, "a store is required"},
		{"no clients", ServiceOptions{Store: h.store, AppID: 1}, "client creator is required"},
		{"no app id", ServiceOptions{Store: h.store, Clients: clients}, "App id must be positive"},
		// The harness registered the metrics on h.reg already.
		{"metrics twice", ServiceOptions{Store: h.store, Clients: clients, AppID: 1, Registerer: h.reg}, "already registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewService(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewService error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestServiceDefaults(t *testing.T) {
	h := newHarness(t, func(o *ServiceOptions) { o.DispatchBackoff = nil; o.Now = nil })
	if got := h.svc.backoff; len(got) != 3 || got[0] != 5*time.Second || got[1] != 10*time.Second || got[2] != 20*time.Second {
		t.Errorf("default backoff = %v, want [5s 10s 20s]", got)
	}
	if h.svc.queuedTimeout != 5*time.Minute || h.svc.runningTimeout != 90*time.Second {
		t.Errorf("default timeouts = %s, %s", h.svc.queuedTimeout, h.svc.runningTimeout)
	}
	noRetry := newHarness(t, func(o *ServiceOptions) { o.DispatchBackoff = []time.Duration{} })
	if len(noRetry.svc.backoff) != 0 {
		t.Errorf("an empty backoff became %v, want no retries", noRetry.svc.backoff)
	}
}

func TestMetricsExposed(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.submit(commentTask(ActionRun, wire.KindFix, "bob", h.addComment("bob", "/agent fix")))
	want := `
# HELP infra_agent_policy_decisions_total Policy decisions, by trigger source and verdict: allowed, static, denied or ignored.
# TYPE infra_agent_policy_decisions_total counter
infra_agent_policy_decisions_total{source="issue_comment",verdict="allowed"} 1
infra_agent_policy_decisions_total{source="issue_comment",verdict="denied"} 1
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want), "infra_agent_policy_decisions_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(h.svc.metrics.transitions.WithLabelValues("fix", "dispatched")); got != 1 {
		t.Errorf("dispatched transitions = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(h.reg, "infra_agent_jobs_created_total"); err != nil || n != len(wire.Kinds) {
		t.Errorf("jobs created series = %d (%v), want one per kind", n, err)
	}

	// The gauge reads the store, where another replica's jobs are too.
	other, _, _, err := h.store.CreateJob(context.Background(), store.Job{
		TriggerKey: "elsewhere", InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, Number: 99, Kind: wire.KindReview,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	running := store.JobRunning
	if _, err := h.store.UpdateJob(context.Background(), other.ID, nil, store.JobUpdate{State: &running}); err != nil {
		t.Fatal(err)
	}
	active := map[string]float64{}
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "infra_agent_jobs_active" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			active[labels["kind"]+"/"+labels["state"]] = m.GetGauge().GetValue()
		}
	}
	if len(active) != len(wire.Kinds)*len(store.ActiveStates) || active["fix/dispatched"] != 1 || active["review/running"] != 1 || active["fix/queued"] != 0 {
		t.Errorf("infra_agent_jobs_active = %v, want fix/dispatched 1, review/running 1, the rest 0", active)
	}
}

func TestRecordInstallation(t *testing.T) {
	h := newHarness(t, nil)
	in := store.Installation{ID: 77, Account: "acme", Action: "created", Repos: []string{"acme/infra"}}
	if err := h.svc.RecordInstallation(h.ctx("delivery-install"), in); err != nil {
		t.Fatal(err)
	}
	got, err := h.store.GetInstallation(context.Background(), 77)
	if err != nil {
		t.Fatal(err)
	}
	if got.Account != "acme" || got.Action != "created" || len(got.Repos) != 1 || !got.UpdatedAt.Equal(h.clock.Now()) {
		t.Errorf("installation = %+v", got)
	}
	h.expectCalls()
}
