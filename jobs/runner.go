package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/store"
)

// The runner side of the job lifecycle, as the broker drives it: a claim makes
// a job running, a complete (or the broker giving up) ends it.

// ClaimJob binds a job to the workflow run that claims it; see
// store.RunStore.ClaimRun. A first claim counts the job's move to running.
func (s *Service) ClaimJob(ctx context.Context, c store.RunClaim) (store.Job, store.Run, bool, error) {
	job, run, replay, err := s.store.ClaimRun(ctx, c)
	if err != nil {
		return job, run, replay, err
	}
	if !replay {
		s.metrics.jobEntered(job.Kind, store.JobRunning)
	}
	return job, run, replay, nil
}

// JobEnd is how a job ends on the runner's word or the broker's.
type JobEnd struct {
	State  store.JobState
	Detail string
	// Conclusion and Output conclude the job's check run, unless
	// CheckRunConcluded says the runner already did (a plan job's own run).
	Conclusion        string
	Output            checks.JobOutput
	CheckRunConcluded bool
}

// EndJob moves a running job to end.State and concludes its check run. moved
// is false when the job was no longer running: the path that ended it spoke
// for it.
func (s *Service) EndJob(ctx context.Context, id string, end JobEnd) (store.Job, bool, error) {
	state, detail := end.State, end.Detail
	job, moved, err := s.moveJob(ctx, id, []store.JobState{store.JobRunning}, store.JobUpdate{State: &state, Detail: &detail})
	if err != nil || !moved {
		return job, moved, err
	}
	ctx = jobContext(ctx, job)
	zerolog.Ctx(ctx).Info().Str(logKeyState, string(state)).Str(logKeyConclusion, end.Conclusion).Msg("job ended")
	ctx, cancel := detached(ctx)
	defer cancel()
	if end.CheckRunConcluded {
		done := true
		if _, err := s.store.UpdateJob(ctx, job.ID, nil, store.JobUpdate{CheckRunDone: &done}); err != nil {
			return job, true, fmt.Errorf("recording the conclusion of job %s: %w", job.ID, err)
		}
		return job, true, nil
	}
	client, err := s.clients.NewInstallationClient(job.InstallationID)
	if err != nil {
		return job, true, fmt.Errorf("creating client for installation %d: %w", job.InstallationID, err)
	}
	return job, true, s.concludeJob(ctx, client, job, end.Conclusion, end.Output)
}

// RepoConfig reads the configuration in force for a job's repository from
// its default branch, and where it came from (empty: the defaults).
func (s *Service) RepoConfig(ctx context.Context, client *github.Client, j store.Job) (config.RepoConfig, string, error) {
	settings, err := s.loadConfig(ctx, client, j.Owner, j.Repo, j.DefaultBranch)
	if err != nil {
		return config.RepoConfig{}, "", err
	}
	return settings.cfg, settings.source, nil
}

// JobInfo is what job messages say about j.
func JobInfo(j store.Job) checks.JobInfo { return jobInfo(j) }

// ended tells the OnJobEnded hook that a job ended, whichever path ended it.
func (s *Service) ended(ctx context.Context, j store.Job) {
	if s.onEnded != nil {
		s.onEnded(ctx, j)
	}
}

// ReconcileStarted looks, once at start, at every job that was dispatched or
// running when the server stopped: a workflow run that completed meanwhile
// (its workflow_run event may have been missed) closes its job as
// ReconcileRun would. Running jobs whose runs go on are left to their
// heartbeats and the watchdog.
func (s *Service) ReconcileStarted(ctx context.Context) error {
	active, err := s.store.ListJobs(ctx, store.JobFilter{States: []store.JobState{store.JobDispatched, store.JobRunning}})
	if err != nil {
		return fmt.Errorf("listing the jobs to reconcile: %w", err)
	}
	var errs []error
	for _, j := range active {
		if j.RunID == 0 {
			continue
		}
		jctx := jobContext(ctx, j)
		client, err := s.clients.NewInstallationClient(j.InstallationID)
		if err != nil {
			errs = append(errs, fmt.Errorf("creating client for installation %d: %w", j.InstallationID, err))
			continue
		}
		run, _, err := client.Actions.GetWorkflowRunByID(jctx, j.Owner, j.Repo, j.RunID)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading workflow run %d of job %s: %w", j.RunID, j.ID, err))
			continue
		}
		if run.GetStatus() != "completed" {
			continue
		}
		zerolog.Ctx(jctx).Info().Int64(logKeyRunID, j.RunID).Msg("workflow run completed while the server was down")
		if err := s.ReconcileRun(jctx, RunEvent{
			InstallationID: j.InstallationID, RepoID: j.RepoID, Owner: j.Owner, Repo: j.Repo, RunID: j.RunID,
			DisplayTitle: run.GetDisplayTitle(), HeadBranch: run.GetHeadBranch(),
			HeadRepoID: run.GetHeadRepository().GetID(), Conclusion: run.GetConclusion(), Event: run.GetEvent(),
		}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
