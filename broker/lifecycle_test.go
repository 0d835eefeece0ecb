package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// claimed claims a new job of kind and returns it with the answer.
func claimed(t *testing.T, w *world, kind wire.Kind) (store.Job, wire.ClaimResponse) {
	t.Helper()
	job := w.newJob(kind)
	status, resp, raw := w.claim(job.ID, w.oidc.Mint(w.claims(job)))
	if status != 200 {
		t.Fatalf("claim = %d %s", status, raw)
	}
	return job, resp
}

func TestHeartbeatAndComplete(t *testing.T) {
	w := newWorld(t, nil)
	job, resp := claimed(t, w, wire.KindReview)

	w.clock.Advance(20 * time.Second)
	var hb wire.HeartbeatResponse
	code, raw := w.post(job.ID, wire.HeartbeatRoute, resp.Session, wire.Heartbeat{
		Version: wire.APIVersion, Progress: "planning envs/prod",
		Calls: []wire.APICall{{Method: "GET", Path: "/repos/acme/infra/tarball/" + headSHA, Status: 302}},
	}, &hb)
	if code != 200 || hb.State != "running" || hb.Stop {
		t.Fatalf("heartbeat = %d %s", code, raw)
	}
	got, _ := w.store.GetJob(context.Background(), job.ID)
	if !got.HeartbeatAt.Equal(w.clock.Now()) {
		t.Errorf("heartbeat at %s, want %s", got.HeartbeatAt, w.clock.Now())
	}
	if cr := checkRun(t, w, job.CheckRunID); !strings.Contains(cr.Output.Title, "planning envs/prod") {
		t.Errorf("the check run does not show the progress: %+v", cr.Output)
	}
	// A second heartbeat within the minute changes nothing on GitHub.
	before := len(w.fake.Calls())
	w.clock.Advance(30 * time.Second)
	w.post(job.ID, wire.HeartbeatRoute, resp.Session, wire.Heartbeat{Version: wire.APIVersion, Progress: "policy"}, nil)
	if after := w.fake.Calls(); len(after) != before {
		t.Errorf("a heartbeat within a minute of the last progress called GitHub: %v", after[before:])
	}
	// The OIDC token of the bound run works too; wrong credentials do not.
	if code, raw := w.post(job.ID, wire.HeartbeatRoute, w.oidc.Mint(w.claims(job)), wire.Heartbeat{Version: wire.APIVersion}, nil); code != 200 {
		t.Errorf("heartbeat with the run's OIDC token = %d %s", code, raw)
	}
	for _, cred := range []string{"", wire.SessionPrefix + "forged", resp.Token.Value} {
		if code, _ := w.post(job.ID, wire.HeartbeatRoute, cred, wire.Heartbeat{Version: wire.APIVersion}, nil); code != 401 {
			t.Errorf("heartbeat with %.12q… = %d, want 401", cred, code)
		}
	}
	if code, _ := w.post(job.ID, wire.HeartbeatRoute, resp.Session, wire.Heartbeat{Version: 99}, nil); code != 400 {
		t.Errorf("heartbeat of another API version = %d, want 400", code)
	}

	var done wire.CompleteResponse
	code, raw = w.post(job.ID, wire.CompleteRoute, resp.Session, wire.Complete{
		Version: wire.APIVersion, Status: wire.StatusSucceeded, Conclusion: "success", Title: "Reviewed",
		Summary: "2 roots planned", Warnings: []string{"static AWS keys in the runner's environment"},
		Roots: []wire.RootResult{{Dir: "envs/prod", Plan: &wire.PlanCounts{Create: 2}}},
		Calls: []wire.APICall{{Method: "POST", Path: "/repos/acme/infra/check-runs", Status: 201}},
	}, &done)
	if code != 200 || done.State != "succeeded" || !done.TokenRevoked {
		t.Fatalf("complete = %d %s", code, raw)
	}
	if toks := w.runnerTokens(); len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("the token is not revoked at complete: %+v", toks)
	}
	cr := checkRun(t, w, job.CheckRunID)
	if cr.Status != "completed" || cr.Conclusion != "success" || cr.Output.Title != "Reviewed" ||
		!strings.Contains(cr.Output.Summary, "static AWS keys") || !strings.Contains(cr.Output.Summary, "`envs/prod`") {
		t.Errorf("check run = %s %s %+v", cr.Status, cr.Conclusion, cr.Output)
	}
	got, _ = w.store.GetJob(context.Background(), job.ID)
	if got.State != store.JobSucceeded || !got.CheckRunDone {
		t.Errorf("job = %s done=%v", got.State, got.CheckRunDone)
	}
	var types []string
	events, _ := w.store.ListAuditEvents(context.Background(), job.ID)
	for _, e := range events {
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "credential_issued,github_call,github_call,credential_revoked" {
		t.Errorf("audit trail = %v", types)
	}
	// The session died with the job.
	code, raw = w.post(job.ID, wire.HeartbeatRoute, resp.Session, wire.Heartbeat{Version: wire.APIVersion}, nil)
	if code != 409 || !strings.Contains(string(raw), `"state":"succeeded"`) {
		t.Errorf("heartbeat after complete = %d %s, want 409 with the state", code, raw)
	}
	if code, _, _ := w.claim(job.ID, w.oidc.Mint(w.claims(job))); code != 409 {
		t.Errorf("claim after complete = %d, want 409", code)
	}
}

// TestPlanJobKeepsItsOwnCheckRun: a plan job's runner concludes the
// infra-agent/plan run itself; the server records it and leaves it alone.
func TestPlanJobKeepsItsOwnCheckRun(t *testing.T) {
	w := newWorld(t, nil)
	job, resp := claimed(t, w, wire.KindPlan)
	before := len(w.fake.Calls())
	code, raw := w.post(job.ID, wire.CompleteRoute, resp.Session, wire.Complete{
		Version: wire.APIVersion, Status: wire.StatusSucceeded, Conclusion: "failure", Title: "1 policy failure",
		Published: []wire.PublishedCheck{{Name: wire.CheckPlan, ID: job.CheckRunID, Conclusion: "success"}},
	}, nil)
	if code != 200 {
		t.Fatalf("complete = %d %s", code, raw)
	}
	for _, c := range w.fake.Calls()[before:] {
		if strings.Contains(c, "check-runs") {
			t.Errorf("the server touched a check run the runner concluded: %s", c)
		}
	}
	if got, _ := w.store.GetJob(context.Background(), job.ID); !got.CheckRunDone || got.State != store.JobSucceeded {
		t.Errorf("job = %+v", got)
	}
}

// TestCompleteRefusals: a report the server cannot act on changes nothing.
func TestCompleteRefusals(t *testing.T) {
	w := newWorld(t, nil)
	job, resp := claimed(t, w, wire.KindReview)
	for _, c := range []wire.Complete{
		{Version: wire.APIVersion, Status: "done", Conclusion: "success"},
		{Version: wire.APIVersion, Status: wire.StatusSucceeded, Conclusion: "great"},
		{Version: 2, Status: wire.StatusSucceeded, Conclusion: "success"},
	} {
		if code, raw := w.post(job.ID, wire.CompleteRoute, resp.Session, c, nil); code != 400 {
			t.Errorf("complete %+v = %d %s, want 400", c, code, raw)
		}
	}
	if got, _ := w.store.GetJob(context.Background(), job.ID); got.State != store.JobRunning {
		t.Errorf("a refused complete moved the job to %s", got.State)
	}
	if toks := w.runnerTokens(); toks[0].Revoked {
		t.Errorf("a refused complete revoked the token")
	}
}

// TestWatchdogRevokes: a runner that stops sending heartbeats is timed out
// after three missed ones, and its token is revoked.
func TestWatchdogRevokes(t *testing.T) {
	w := newWorld(t, nil)
	job, resp := claimed(t, w, wire.KindReview)
	w.clock.Advance(80 * time.Second)
	if err := w.svc.Sweep(w.ctx()); err != nil {
		t.Fatal(err)
	}
	if toks := w.runnerTokens(); toks[0].Revoked {
		t.Fatalf("revoked within the heartbeat limit")
	}
	w.clock.Advance(11 * time.Second)
	if err := w.svc.Sweep(w.ctx()); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.store.GetJob(context.Background(), job.ID); got.State != store.JobTimedOut {
		t.Fatalf("job = %s, want timed_out", got.State)
	}
	if toks := w.runnerTokens(); !toks[0].Revoked {
		t.Errorf("the watchdog did not revoke the token")
	}
	if cr := checkRun(t, w, job.CheckRunID); cr.Conclusion != "timed_out" {
		t.Errorf("check run = %s", cr.Conclusion)
	}
	code, raw := w.post(job.ID, wire.HeartbeatRoute, resp.Session, wire.Heartbeat{Version: wire.APIVersion}, nil)
	if code != 409 || !strings.Contains(string(raw), "timed_out") {
		t.Errorf("a late heartbeat = %d %s, want 409 timed_out", code, raw)
	}
}

// TestSupersedeRevokes: a newer trigger ends a running job and revokes its
// token; the runner's complete is refused with the job's state.
func TestSupersedeRevokes(t *testing.T) {
	w := newWorld(t, nil)
	job, resp := claimed(t, w, wire.KindReview)
	w.newJobSupersedes(t)
	if toks := w.runnerTokens(); !toks[0].Revoked {
		t.Errorf("superseding the job did not revoke its token")
	}
	code, _ := w.post(job.ID, wire.CompleteRoute, resp.Session, wire.Complete{Version: wire.APIVersion, Status: wire.StatusSucceeded, Conclusion: "success"}, nil)
	if code != 409 {
		t.Errorf("complete of a superseded job = %d, want 409", code)
	}
}
