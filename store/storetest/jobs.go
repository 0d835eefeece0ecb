package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// newJob returns a fix job for octo-org/infra#number triggered by key.
func newJob(key string, number int) store.Job {
	return store.Job{
		TriggerKey:     key,
		DeliveryID:     "delivery-" + key,
		InstallationID: 1,
		RepoID:         1296269,
		Owner:          "octo-org",
		Repo:           "infra",
		Number:         number,
		Kind:           wire.KindFix,
		HeadSHA:        "6dcb09b5b57875f334f61aebed695e2e4193db5e",
		HeadRef:        "feature",
		BaseRef:        "main",
		DefaultBranch:  "main",
		Fork:           true,
		Actor:          "octocat",
		TriggerSource:  "issue_comment",
		TriggerID:      1,
		Instructions:   "pin the provider",
		Workflow:       "infra-agent.yml",
		TriggeredAt:    time.Date(2024, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CET", 3600)),
	}
}

func createJob(t *testing.T, s store.Store, j store.Job) (store.Job, []store.Job) {
	t.Helper()
	job, superseded, created, err := s.CreateJob(context.Background(), j, nil)
	if err != nil {
		t.Fatalf("CreateJob(%s): %v", j.TriggerKey, err)
	}
	if !created {
		t.Fatalf("CreateJob(%s): created = false, want true", j.TriggerKey)
	}
	return job, superseded
}

// assertJob compares every stored field of got with want.
func assertJob(t *testing.T, got, want store.Job) {
	t.Helper()
	times := func(j store.Job) string {
		return fmt.Sprint(j.CreatedAt.UnixNano(), j.UpdatedAt.UnixNano(), j.HeartbeatAt.UnixNano(), j.TriggeredAt.UnixNano())
	}
	g, w := got, want
	g.CreatedAt, g.UpdatedAt, g.HeartbeatAt, g.TriggeredAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.UpdatedAt, w.HeartbeatAt, w.TriggeredAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g != w || times(got) != times(want) {
		t.Errorf("job =\n%+v\nwant\n%+v", got, want)
	}
}

func testCreateJobIdempotent(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	first, superseded := createJob(t, s, newJob("comment-1", 7))
	if first.ID == "" || first.State != store.JobQueued || first.CreatedAt.IsZero() || len(superseded) != 0 {
		t.Fatalf("created job = %+v, superseded %v; want an id, state queued, a creation time and nothing superseded", first, superseded)
	}
	stored, err := s.GetJob(ctx, first.ID)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	assertJob(t, stored, first)

	again := newJob("comment-1", 7)
	again.Instructions = "something else"
	got, superseded, created, err := s.CreateJob(ctx, again, nil)
	if err != nil {
		t.Fatalf("CreateJob again: %v", err)
	}
	if created || len(superseded) != 0 {
		t.Errorf("CreateJob with a known trigger key: created = %v, superseded = %d; want false, 0", created, len(superseded))
	}
	assertJob(t, got, first)
	if n, err := s.CountJobs(ctx, store.JobFilter{}); err != nil || n != 1 {
		t.Errorf("CountJobs = %d, %v; want 1", n, err)
	}
	if _, err := s.GetJob(ctx, "no-such-job"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob(unknown) error = %v, want ErrNotFound", err)
	}
}

func testCreateJobValidation(t *testing.T, open OpenFunc) {
	s := open(t)
	cases := []struct {
		name   string
		modify func(j *store.Job)
	}{
		{"no trigger key", func(j *store.Job) { j.TriggerKey = "" }},
		{"no installation", func(j *store.Job) { j.InstallationID = 0 }},
		{"no repository id", func(j *store.Job) { j.RepoID = 0 }},
		{"no repository", func(j *store.Job) { j.Repo = "" }},
		{"no number", func(j *store.Job) { j.Number = 0 }},
		{"no kind", func(j *store.Job) { j.Kind = "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := newJob("k-"+tc.name, 1)
			tc.modify(&j)
			if _, _, _, err := s.CreateJob(context.Background(), j, nil); err == nil {
				t.Errorf("CreateJob succeeded, want an error")
			}
		})
	}
}

func testJobIDsSortable(t *testing.T, open OpenFunc) {
	s := open(t)
	var ids []string
	for i := 0; i < 20; i++ {
		j, _ := createJob(t, s, newJob(fmt.Sprintf("sort-%d", i), i+1))
		ids = append(ids, j.ID)
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("job ids in creation order are not sorted: %v", ids)
	}
}

func testSupersede(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	old, _ := createJob(t, s, newJob("pr7-a", 7))
	otherPR, _ := createJob(t, s, newJob("pr8-a", 8))
	otherRepo := newJob("pr7-other-repository", 7)
	otherRepo.InstallationID, otherRepo.RepoID, otherRepo.Repo = 2, 4242, "web"
	createJob(t, s, otherRepo)

	done := store.JobSucceeded
	finishedJob, _ := createJob(t, s, newJob("pr7-old-finished", 7))
	// finishedJob superseded old; bring old's successor to a terminal state.
	if _, err := s.UpdateJob(ctx, finishedJob.ID, []store.JobState{store.JobQueued}, store.JobUpdate{State: &done}); err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	gotOld, err := s.GetJob(ctx, old.ID)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	if gotOld.State != store.JobSuperseded || gotOld.SupersededBy != finishedJob.ID {
		t.Fatalf("old job = %s superseded by %q, want superseded by %s", gotOld.State, gotOld.SupersededBy, finishedJob.ID)
	}

	running := store.JobRunning
	active, _ := createJob(t, s, newJob("pr7-b", 7))
	if _, err := s.UpdateJob(ctx, active.ID, nil, store.JobUpdate{State: &running}); err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	newest, superseded := createJob(t, s, newJob("pr7-c", 7))
	if len(superseded) != 1 || superseded[0].ID != active.ID || superseded[0].State != store.JobSuperseded ||
		superseded[0].SupersededBy != newest.ID {
		t.Fatalf("superseded = %+v, want only %s, superseded by %s", superseded, active.ID, newest.ID)
	}
	stored, err := s.GetJob(ctx, active.ID)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	assertJob(t, stored, superseded[0])

	activeFilter := store.JobFilter{States: store.ActiveStates, RepoID: 1296269, Number: 7}
	jobs, err := s.ListJobs(ctx, activeFilter)
	if err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	if len(jobs) != 1 || jobs[0].ID != newest.ID {
		t.Errorf("active jobs of #7 = %v, want only %s", jobs, newest.ID)
	}
	for _, id := range []string{otherPR.ID, finishedJob.ID} {
		j, err := s.GetJob(ctx, id)
		if err != nil {
			t.Fatalf("GetJob: %v", err)
		}
		if j.State == store.JobSuperseded {
			t.Errorf("job %s (%s#%d, installation %d) was superseded by a job for another subject or in a terminal state", id, j.Repo, j.Number, j.InstallationID)
		}
	}
	if n, err := s.CountJobs(ctx, store.JobFilter{States: store.ActiveStates, Number: 7}); err != nil || n != 2 {
		t.Errorf("active #7 jobs across repositories = %d, %v; want 2", n, err)
	}

	// Reactivating a superseded job would make two active jobs for #7.
	queued := store.JobQueued
	if _, err := s.UpdateJob(ctx, active.ID, nil, store.JobUpdate{State: &queued}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reactivating a superseded job: error = %v, want ErrConflict", err)
	}
}

func testConcurrentCreateJobSamePR(t *testing.T, open OpenFunc) {
	s := open(t)
	const callers = 8
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, created, err := s.CreateJob(context.Background(), newJob(fmt.Sprintf("race-%d", i), 42), nil)
			if err == nil && !created {
				err = fmt.Errorf("caller %d: created = false for a new trigger key", i)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	ctx := context.Background()
	jobs, err := s.ListJobs(ctx, store.JobFilter{Number: 42})
	if err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	if len(jobs) != callers {
		t.Fatalf("%d jobs, want %d", len(jobs), callers)
	}
	byID := map[string]store.Job{}
	var active []string
	for _, j := range jobs {
		byID[j.ID] = j
		if j.State.Active() {
			active = append(active, j.ID)
		}
	}
	if len(active) != 1 {
		t.Fatalf("%d active jobs for one pull request, want exactly 1: %v", len(active), active)
	}
	for _, j := range jobs {
		if j.ID == active[0] {
			continue
		}
		if j.State != store.JobSuperseded {
			t.Errorf("job %s state = %s, want superseded", j.ID, j.State)
		}
		if _, ok := byID[j.SupersededBy]; !ok {
			t.Errorf("job %s superseded by unknown job %q", j.ID, j.SupersededBy)
		}
	}
}

func testConcurrentCreateJobSameTrigger(t *testing.T, open OpenFunc) {
	s := open(t)
	const callers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		ids     = map[string]bool{}
	)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job, _, isNew, err := s.CreateJob(context.Background(), newJob("one-trigger", 9), nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("CreateJob: %v", err)
				return
			}
			ids[job.ID] = true
			if isNew {
				created++
			}
		}()
	}
	wg.Wait()
	if created != 1 || len(ids) != 1 {
		t.Errorf("%d callers created a job and %d distinct jobs were returned, want 1 and 1", created, len(ids))
	}
}

func testUpdateJobCAS(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	job, _ := createJob(t, s, newJob("cas", 3))
	dispatched, running, failed := store.JobDispatched, store.JobRunning, store.JobFailed
	checkRun, runID, attempts, detail := int64(555), int64(9001), 2, "runner died"
	beat := time.Date(2024, 5, 1, 12, 30, 0, 123456000, time.UTC)

	steps := []struct {
		name    string
		from    []store.JobState
		update  store.JobUpdate
		wantErr error
		check   func(t *testing.T, j store.Job)
	}{
		{"queued to dispatched", []store.JobState{store.JobQueued}, store.JobUpdate{State: &dispatched, CheckRunID: &checkRun, DispatchAttempts: &attempts}, nil,
			func(t *testing.T, j store.Job) {
				if j.State != dispatched || j.CheckRunID != checkRun || j.DispatchAttempts != attempts {
					t.Errorf("job = %+v", j)
				}
			}},
		{"stale from state conflicts", []store.JobState{store.JobQueued}, store.JobUpdate{State: &running}, store.ErrConflict, nil},
		{"dispatched to running", []store.JobState{store.JobQueued, store.JobDispatched}, store.JobUpdate{State: &running, RunID: &runID, HeartbeatAt: &beat}, nil,
			func(t *testing.T, j store.Job) {
				if j.State != running || j.RunID != runID || !j.HeartbeatAt.Equal(beat) || j.CheckRunID != checkRun {
					t.Errorf("job = %+v", j)
				}
			}},
		{"any state", nil, store.JobUpdate{State: &failed, Detail: &detail}, nil,
			func(t *testing.T, j store.Job) {
				if j.State != failed || j.Detail != detail || j.Instructions != "pin the provider" {
					t.Errorf("job = %+v", j)
				}
			}},
		{"terminal stays terminal", store.ActiveStates, store.JobUpdate{State: &running}, store.ErrConflict, nil},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			got, err := s.UpdateJob(ctx, job.ID, step.from, step.update)
			if step.wantErr != nil {
				if !errors.Is(err, step.wantErr) {
					t.Fatalf("UpdateJob error = %v, want %v", err, step.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("UpdateJob: %v", err)
			}
			step.check(t, got)
			stored, err := s.GetJob(ctx, job.ID)
			if err != nil {
				t.Fatalf("GetJob: %v", err)
			}
			assertJob(t, stored, got)
			if got.UpdatedAt.Before(job.UpdatedAt) {
				t.Errorf("UpdatedAt went back: %v before %v", got.UpdatedAt, job.UpdatedAt)
			}
		})
	}
	if _, err := s.UpdateJob(ctx, "no-such-job", nil, store.JobUpdate{State: &running}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateJob(unknown) error = %v, want ErrNotFound", err)
	}
}

func testCheckRunOpen(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	noRun, _ := createJob(t, s, newJob("no-check-run", 1))
	open1, _ := createJob(t, s, newJob("open-1", 2))
	done, _ := createJob(t, s, newJob("done", 3))
	checkRun, yes := int64(77), true
	for _, j := range []store.Job{open1, done} {
		if _, err := s.UpdateJob(ctx, j.ID, nil, store.JobUpdate{CheckRunID: &checkRun}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UpdateJob(ctx, done.ID, nil, store.JobUpdate{CheckRunDone: &yes})
	if err != nil {
		t.Fatal(err)
	}
	if !got.CheckRunDone {
		t.Errorf("CheckRunDone not stored: %+v", got)
	}
	listed, err := s.ListJobs(ctx, store.JobFilter{CheckRunOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].ID != open1.ID {
		t.Errorf("open check runs = %+v, want only %s (not %s without a check run, not %s concluded)", listed, open1.ID, noRun.ID, done.ID)
	}
}

// testSupersedeAcrossRename: a repository renamed (or transferred to another
// owner) keeps its id; a job under the new name supersedes the one under the
// old, so one pull request never holds two active jobs.
func testSupersedeAcrossRename(t *testing.T, open OpenFunc) {
	s := open(t)
	before, _ := createJob(t, s, newJob("before-rename", 3))
	renamed := newJob("after-rename", 3)
	renamed.Owner, renamed.Repo = "new-org", "infrastructure"
	after, superseded := createJob(t, s, renamed)
	if len(superseded) != 1 || superseded[0].ID != before.ID {
		t.Fatalf("superseded = %+v, want the job created before the rename", superseded)
	}
	n, err := s.CountJobs(context.Background(), store.JobFilter{States: store.ActiveStates, RepoID: renamed.RepoID, Number: 3})
	if err != nil || n != 1 {
		t.Errorf("%d active jobs for the pull request (%v), want 1: %s", n, err, after.ID)
	}
}

// testJobLimitUnderConcurrency: the automatic-fix cap holds when failing
// checks arrive at once (it is counted in the transaction that creates the
// job).
func testJobLimitUnderConcurrency(t *testing.T, open OpenFunc) {
	s := open(t)
	limit := &store.JobLimit{Kind: wire.KindFix, Sources: []string{"check_run", "check_suite"}, Max: 2}
	const callers = 8
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		created, capped int
	)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := newJob(fmt.Sprintf("check-%d", i), 11)
			j.TriggerSource = "check_run"
			_, _, isNew, err := s.CreateJob(context.Background(), j, limit)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, store.ErrLimitReached):
				capped++
			case err != nil:
				t.Errorf("CreateJob: %v", err)
			case isNew:
				created++
			}
		}()
	}
	wg.Wait()
	if created != 2 || capped != callers-2 {
		t.Errorf("%d jobs created and %d refused, want 2 and %d", created, capped, callers-2)
	}
	// A redelivered trigger finds its job rather than the limit.
	_, _, isNew, err := s.CreateJob(context.Background(), func() store.Job {
		js, _ := s.ListJobs(context.Background(), store.JobFilter{Number: 11, Limit: 1})
		return js[0]
	}(), limit)
	if err != nil || isNew {
		t.Errorf("re-creating an existing job under the limit: new %v, %v", isNew, err)
	}
}

// testClaimJob: one owner at a time takes a job through its steps.
func testClaimJob(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	j := newJob("claimed", 5)
	j.StepOwner, j.StepUntil = "creator", time.Now().Add(time.Hour)
	job, _ := createJob(t, s, j)
	if _, err := s.ClaimJob(ctx, job.ID, "retry", time.Now().Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("claiming a job the creator holds: %v, want ErrConflict", err)
	}
	if _, err := s.ClaimJob(ctx, job.ID, "creator", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("the holder renewing: %v", err)
	}
	if err := s.ReleaseJob(ctx, job.ID, "creator"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimJob(ctx, job.ID, "retry", time.Now().Add(time.Minute))
	if err != nil || got.StepOwner != "retry" {
		t.Fatalf("claiming a released job: %+v, %v", got, err)
	}
	// Many claim an expired one at once: one gets it.
	if _, err := s.ClaimJob(ctx, job.ID, "retry", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	wins := race(t, 8, func(i int) (bool, error) {
		_, err := s.ClaimJob(ctx, job.ID, fmt.Sprintf("w%d", i), time.Now().Add(time.Minute))
		if errors.Is(err, store.ErrConflict) {
			return false, nil
		}
		return err == nil, err
	})
	if wins != 1 {
		t.Errorf("%d owners claimed the job, want 1", wins)
	}
}
