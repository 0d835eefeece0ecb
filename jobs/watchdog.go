package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/jobs/ghops"
	"github.com/infra-agent/infra-agent/store"
)

// Sweep is one watchdog pass: it times out jobs still queued or dispatched
// (never claimed) after QueuedTimeout, and running jobs whose last heartbeat
// is older than RunningTimeout. Their check runs conclude timed_out and the
// pull request or issue gets a comment saying what to check. The state change
// is conditional on the state the job was seen in, so two replicas sweeping at
// once never conclude a job twice.
//
// It also concludes the check runs of jobs that ended while GitHub refused
// their conclusion, so no check run stays queued forever.
func (s *Service) Sweep(ctx context.Context) error {
	active, err := s.store.ListJobs(ctx, store.JobFilter{States: store.ActiveStates})
	if err != nil {
		return fmt.Errorf("listing active jobs: %w", err)
	}
	now := s.now()
	var errs []error
	for _, j := range active {
		stall, since, limit := stallOf(j, s.queuedTimeout, s.runningTimeout)
		if now.Sub(since) <= limit {
			continue
		}
		if err := s.timeOut(jobContext(ctx, j), j, stall, limit); err != nil {
			errs = append(errs, err)
		}
	}
	unconcluded, err := s.store.ListJobs(ctx, store.JobFilter{
		States: endedStates, CheckRunPending: true, UpdatedAgo: s.concludeGrace,
	})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("listing jobs whose check run is open: %w", err))...)
	}
	for _, j := range unconcluded {
		// ErrBusy: a handler is creating its check run right now.
		if err := s.concludeLate(jobContext(ctx, j), j); err != nil && !errors.Is(err, ErrBusy) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// endedStates are the terminal states the server itself moves jobs to; their
// check runs are the server's to conclude (a succeeded job's is the runner's).
var endedStates = []store.JobState{store.JobFailed, store.JobCancelled, store.JobSuperseded, store.JobTimedOut}

// DefaultConcludeGrace is how long after a job ended the watchdog leaves its
// check run to the path that ended it before concluding it itself.
const DefaultConcludeGrace = time.Minute

// concludeLate concludes the check run of a job that ended while GitHub
// refused the conclusion, or before its check run was created.
func (s *Service) concludeLate(ctx context.Context, j store.Job) error {
	client, info, err := s.endedJobClient(j, j.RunID)
	if err != nil {
		return err
	}
	conclusion := "failure"
	switch j.State {
	case store.JobCancelled, store.JobSuperseded:
		conclusion = "cancelled"
	case store.JobTimedOut:
		conclusion = "timed_out"
	}
	out := checks.JobConcludedLate(info, string(j.State), j.Detail)
	if j.State == store.JobSuperseded {
		if newer, err := s.store.GetJob(ctx, j.SupersededBy); err == nil {
			out = checks.JobSuperseded(info, jobInfo(newer))
		}
	}
	zerolog.Ctx(ctx).Warn().Str(logKeyState, string(j.State)).Msg("concluding the check run of a job that ended")
	return s.concludeJob(ctx, client, j, conclusion, out)
}

// stallOf says how a job would have stalled, since when, and how long it may.
func stallOf(j store.Job, queued, running time.Duration) (checks.JobStall, time.Time, time.Duration) {
	switch j.State {
	case store.JobRunning:
		since := j.HeartbeatAt
		if since.IsZero() {
			since = j.UpdatedAt
		}
		return checks.StallNoHeartbeat, since, running
	case store.JobDispatched:
		return checks.StallNotClaimed, j.CreatedAt, queued
	}
	return checks.StallNotDispatched, j.CreatedAt, queued
}

// timeOut moves one stalled job to timed_out and says so on GitHub: its
// workflow run, if any, is cancelled (as withdraw does: no runner keeps
// working for a job nobody waits for), its check run concluded, and a comment
// says what to check.
func (s *Service) timeOut(ctx context.Context, j store.Job, stall checks.JobStall, limit time.Duration) error {
	state := store.JobTimedOut
	detail := fmt.Sprintf("watchdog: %s after %s", stall, limit)
	ended, moved, err := s.moveJob(ctx, j.ID, []store.JobState{j.State}, store.JobUpdate{State: &state, Detail: &detail})
	if err != nil {
		return fmt.Errorf("timing out job %s: %w", j.ID, err)
	}
	if !moved {
		return nil // it moved on, or another replica got there first
	}
	zerolog.Ctx(ctx).Warn().Str(logKeyStall, string(stall)).Str(logKeyPreviousState, string(j.State)).Msg("job timed out")
	ctx, cancel := detached(ctx)
	defer cancel()

	client, info, err := s.endedJobClient(ended, ended.RunID)
	if err != nil {
		return err
	}
	var errs []error
	if ended.CheckRunID == 0 {
		// Its creation may have been cut short after GitHub made it.
		if ended, err = s.findLostCheckRun(ctx, client, ended); err != nil {
			errs = append(errs, err)
		}
	}
	after := limit.String()
	if err := ghops.CancelRun(ctx, client, ended.Owner, ended.Repo, ended.RunID); err != nil {
		errs = append(errs, err)
	}
	if err := s.concludeJob(ctx, client, ended, "timed_out", checks.JobTimedOut(info, stall, after)); err != nil {
		errs = append(errs, err)
	}
	if err := s.poster.Reply(ctx, client, jobTarget(ended), "timed-out:"+ended.ID, checks.JobTimedOutComment(info, stall, after)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// findLostCheckRun looks for the check run of a job that has none recorded
// and records it when GitHub has it.
func (s *Service) findLostCheckRun(ctx context.Context, client *github.Client, j store.Job) (store.Job, error) {
	id, err := ghops.FindCheckRun(ctx, client, j.Owner, j.Repo, ghops.CheckRunSpec{
		Name: j.Kind.CheckRunName(), HeadSHA: j.HeadSHA, ExternalID: j.ID, AppID: s.appID,
	})
	if err != nil || id == 0 {
		return j, err
	}
	updated, err := s.store.UpdateJob(ctx, j.ID, nil, store.JobUpdate{CheckRunID: &id})
	if err != nil {
		return j, fmt.Errorf("recording check run %d of job %s: %w", id, j.ID, err)
	}
	return updated, nil
}
