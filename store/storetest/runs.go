package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
)

// testClaimRun: the first claim binds the run and makes the job running; a
// replay of the same run and attempt records a new session; another run,
// another attempt, an ended job and too many replays are refused.
func testClaimRun(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	job, _ := createJob(t, s, newJob("claim", 1))
	at := time.Unix(1_700_000_000, 0).UTC()
	claim := store.RunClaim{JobID: job.ID, RunID: 77, RunAttempt: 1, SessionHash: "h1", At: at, MaxClaims: 2}

	got, run, replay, err := s.ClaimRun(ctx, claim)
	if err != nil || replay {
		t.Fatalf("first claim: replay=%v err=%v", replay, err)
	}
	if got.State != store.JobRunning || got.RunID != 77 || !got.HeartbeatAt.Equal(at) {
		t.Errorf("claimed job = %s run %d heartbeat %s", got.State, got.RunID, got.HeartbeatAt)
	}
	if run.RunID != 77 || run.RunAttempt != 1 || run.SessionHash != "h1" || run.Claims != 1 || !run.ClaimedAt.Equal(at) {
		t.Errorf("run = %+v", run)
	}

	for _, other := range []store.RunClaim{
		{JobID: job.ID, RunID: 78, RunAttempt: 1, SessionHash: "x", At: at},
		{JobID: job.ID, RunID: 77, RunAttempt: 2, SessionHash: "x", At: at},
	} {
		j, _, _, err := s.ClaimRun(ctx, other)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("claim by run %d attempt %d: err = %v, want ErrConflict", other.RunID, other.RunAttempt, err)
		}
		if j.ID != job.ID || j.RunID != 77 {
			t.Errorf("a refused claim returns the job as it is, got %+v", j)
		}
	}

	claim.SessionHash = "h2"
	_, run, replay, err = s.ClaimRun(ctx, claim)
	if err != nil || !replay || run.SessionHash != "h2" || run.Claims != 2 {
		t.Fatalf("replay: run=%+v replay=%v err=%v", run, replay, err)
	}
	if _, _, _, err := s.ClaimRun(ctx, claim); !errors.Is(err, store.ErrTooManyClaims) {
		t.Errorf("third claim with MaxClaims 2: err = %v, want ErrTooManyClaims", err)
	}
	if run, _ := s.GetRun(ctx, job.ID); run.SessionHash != "h2" {
		t.Errorf("a refused replay changed the session: %+v", run)
	}

	state := store.JobSucceeded
	if _, err := s.UpdateJob(ctx, job.ID, nil, store.JobUpdate{State: &state}); err != nil {
		t.Fatal(err)
	}
	claim.MaxClaims = 0
	if _, _, _, err := s.ClaimRun(ctx, claim); !errors.Is(err, store.ErrConflict) {
		t.Errorf("claim of an ended job: err = %v, want ErrConflict", err)
	}
	if _, _, _, err := s.ClaimRun(ctx, store.RunClaim{JobID: "no-such-job", RunID: 1, RunAttempt: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("claim of an unknown job: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRun(ctx, "no-such-job"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun of an unclaimed job: err = %v, want ErrNotFound", err)
	}
}

// testConcurrentClaims: of many runs claiming one job at once, exactly one
// wins.
func testConcurrentClaims(t *testing.T, open OpenFunc) {
	s := open(t)
	job, _ := createJob(t, s, newJob("race", 1))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []int64
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _, err := s.ClaimRun(context.Background(), store.RunClaim{
				JobID: job.ID, RunID: int64(100 + i), RunAttempt: 1, SessionHash: "h", At: time.Now(),
			})
			if err == nil {
				mu.Lock()
				wins = append(wins, int64(100+i))
				mu.Unlock()
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("claim by run %d: %v", 100+i, err)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d claims won, want 1: %v", len(wins), wins)
	}
	if got, _ := s.GetJob(context.Background(), job.ID); got.RunID != wins[0] {
		t.Errorf("job bound to run %d, the winner was %d", got.RunID, wins[0])
	}
}

// testRunProgressAndTokens: progress is recorded at most once per interval;
// model tokens add up; the token expiry is kept.
func testRunProgressAndTokens(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	job, _ := createJob(t, s, newJob("progress", 1))
	at := time.Unix(1_700_000_000, 0).UTC()
	if _, _, _, err := s.ClaimRun(ctx, store.RunClaim{JobID: job.ID, RunID: 5, RunAttempt: 1, SessionHash: "h", At: at}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after time.Duration
		want  bool
	}{{0, true}, {30 * time.Second, false}, {60 * time.Second, true}, {61 * time.Second, false}}
	for _, st := range steps {
		ok, err := s.RecordProgress(ctx, job.ID, "step", at.Add(st.after), time.Minute)
		if err != nil || ok != st.want {
			t.Errorf("progress at +%s: recorded=%v err=%v, want %v", st.after, ok, err, st.want)
		}
	}
	for i, want := range []int64{100, 350} {
		n := []int64{100, 250}[i]
		if total, err := s.AddModelTokens(ctx, job.ID, n); err != nil || total != want {
			t.Errorf("AddModelTokens(%d) = %d, %v; want %d", n, total, err, want)
		}
	}
	exp := at.Add(time.Hour)
	if err := s.SetRunToken(ctx, job.ID, exp); err != nil {
		t.Fatal(err)
	}
	run, err := s.GetRun(ctx, job.ID)
	if err != nil || !run.TokenExpiresAt.Equal(exp) || run.ModelTokensUsed != 350 || !run.ProgressAt.Equal(at.Add(time.Minute)) {
		t.Errorf("run = %+v, %v", run, err)
	}
}

// testAuditEvents: events are kept in order with their data.
func testAuditEvents(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	at := time.Unix(1_700_000_000, 0).UTC()
	events := []store.AuditEvent{
		{JobID: "j1", At: at, Type: "credential_issued", Data: map[string]any{"permissions": []any{"checks:write"}, "run_id": float64(7)}},
		{JobID: "j1", At: at.Add(time.Second), Type: "github_call", Data: map[string]any{"method": "GET", "path": "/repos/a/b"}},
		{JobID: "j2", At: at, Type: "credential_issued"},
	}
	if err := s.AddAuditEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAuditEvents(ctx, "j1")
	if err != nil || len(got) != 2 {
		t.Fatalf("ListAuditEvents = %+v, %v", got, err)
	}
	if got[0].Type != "credential_issued" || got[1].Data["path"] != "/repos/a/b" || !got[1].At.Equal(at.Add(time.Second)) || got[0].ID == "" {
		t.Errorf("events = %+v", got)
	}
	if p, _ := got[0].Data["permissions"].([]any); len(p) != 1 || p[0] != "checks:write" {
		t.Errorf("data = %+v", got[0].Data)
	}
}
