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

// createJob stores the job of an allowed task, supersedes the older job of
// the same pull request or issue, creates the job's check run, acknowledges
// the comment and dispatches the workflow.
func (s *Service) createJob(ctx context.Context, client *github.Client, t Task, cfg config.RepoConfig, d Decision) error {
	headSHA := t.HeadSHA
	if !t.IsPR {
		// An issue has no head: the check run goes on the commit the
		// remediation branch will start from.
		sha, err := branchHead(ctx, client, t.Owner, t.Repo, t.DefaultBranch)
		if err != nil {
			return err
		}
		headSHA = sha
	}
	now := s.now()
	job, superseded, created, err := s.store.CreateJob(ctx, store.Job{
		TriggerKey:     triggerKey(t),
		DeliveryID:     t.DeliveryID,
		InstallationID: t.InstallationID,
		RepoID:         t.RepoID,
		Owner:          t.Owner,
		Repo:           t.Repo,
		Number:         t.Number,
		Kind:           t.Kind,
		State:          store.JobQueued,
		HeadSHA:        headSHA,
		HeadRef:        t.HeadRef,
		BaseRef:        t.BaseRef,
		DefaultBranch:  t.DefaultBranch,
		Fork:           t.Fork,
		Actor:          t.Actor,
		TriggerSource:  string(t.Source),
		TriggerID:      t.SourceID,
		Instructions:   t.Instructions,
		Workflow:       cfg.Workflow,
		TriggeredAt:    t.TriggeredAt,
		CreatedAt:      now,
		UpdatedAt:      now,
	}, nil)
	if err != nil {
		return fmt.Errorf("creating job for %s/%s#%d: %w", t.Owner, t.Repo, t.Number, err)
	}
	ctx = jobContext(ctx, job)
	logger := zerolog.Ctx(ctx)
	if !created {
		logger.Info().Str(logKeyState, string(job.State)).Msg("trigger already has a job; nothing to do")
		return nil
	}
	s.metrics.jobCreated(job.Kind)
	logger.Info().Str(logKeyTier, d.Tier.String()).Bool(logKeyStatic, d.Static).Str(logKeyHeadSHA, headSHA).Msg("job created")

	var errs []error
	for _, old := range superseded {
		s.metrics.jobEntered(old.Kind, store.JobSuperseded)
		octx, cancel := detached(jobContext(ctx, old))
		s.ended(octx, old)
		zerolog.Ctx(octx).Info().Str(logKeySupersededBy, job.ID).Msg("job superseded")
		if err := s.withdraw(octx, client, old, checks.JobSuperseded(jobInfo(old), taskJobInfo(job, t))); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}

	id, err := createCheckRun(ctx, client, job.Owner, job.Repo, checkRunSpec{
		name:       job.Kind.CheckRunName(),
		headSHA:    job.HeadSHA,
		externalID: job.ID,
		output:     checks.JobQueued(taskJobInfo(job, t)),
	})
	if err != nil {
		// Without a check run the runner would work for nobody: fail the job
		// and say so in a comment instead. A redelivery finds the job and does
		// not try again.
		return errors.Join(append(errs, err, s.failWithoutCheckRun(ctx, client, job, err))...)
	}
	updated, err := s.store.UpdateJob(ctx, job.ID, nil, store.JobUpdate{CheckRunID: &id})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("recording check run %d of job %s: %w", id, job.ID, err))...)
	}
	job = updated
	if !job.State.Active() {
		// A newer trigger superseded this job while its check run was being
		// created, and found no check run to conclude.
		newer, err := s.store.GetJob(ctx, job.SupersededBy)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("reading the job that superseded %s: %w", job.ID, err))...)
		}
		return errors.Join(append(errs, s.concludeJob(ctx, client, job, "cancelled", checks.JobSuperseded(jobInfo(job), jobInfo(newer))))...)
	}
	if t.Source == SourceIssueComment && t.SourceID != 0 {
		if _, _, err := client.Reactions.CreateIssueCommentReaction(ctx, t.Owner, t.Repo, t.SourceID, "eyes"); err != nil {
			errs = append(errs, fmt.Errorf("reacting to comment %d: %w", t.SourceID, err))
		}
	}
	if err := s.dispatch(ctx, client, job); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// failWithoutCheckRun fails a job whose check run could not be created and
// explains it in a comment, the only place left to say it.
func (s *Service) failWithoutCheckRun(ctx context.Context, client *github.Client, job store.Job, cause error) error {
	state, detail := store.JobFailed, "creating the check run: "+cause.Error()
	_, moved, err := s.moveJob(ctx, job.ID, store.ActiveStates, store.JobUpdate{State: &state, Detail: &detail})
	if err != nil {
		return fmt.Errorf("failing job %s: %w", job.ID, err)
	}
	if !moved {
		return nil
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	return comment(ctx, client, job.Owner, job.Repo, job.Number, checks.JobNotStartedComment(jobInfo(job), dispatchReason(cause)))
}

// concludeJob completes a job's check run, if it has one, and records that it
// did: a conclusion GitHub refuses is retried by the watchdog.
func (s *Service) concludeJob(ctx context.Context, client *github.Client, job store.Job, conclusion string, out checks.JobOutput) error {
	if job.CheckRunID == 0 {
		return nil
	}
	if err := concludeCheckRun(ctx, client, job.Owner, job.Repo, job.CheckRunID, job.Kind.CheckRunName(), conclusion, out,
		github.Timestamp{Time: s.now()}); err != nil {
		return err
	}
	done := true
	if _, err := s.store.UpdateJob(ctx, job.ID, nil, store.JobUpdate{CheckRunDone: &done}); err != nil {
		return fmt.Errorf("recording the conclusion of job %s: %w", job.ID, err)
	}
	return nil
}

// withdraw ends a job nobody waits for any more (cancelled, superseded): its
// workflow run, when known, is cancelled so no runner keeps working on it, and
// its check run is concluded cancelled with out.
func (s *Service) withdraw(ctx context.Context, client *github.Client, job store.Job, out checks.JobOutput) error {
	return errors.Join(
		cancelRun(ctx, client, job.Owner, job.Repo, job.RunID),
		s.concludeJob(ctx, client, job, "cancelled", out))
}

// cancel cancels the active job of the task's pull request or issue and says so.
func (s *Service) cancel(ctx context.Context, client *github.Client, t Task) error {
	active, err := s.store.ListJobs(ctx, store.JobFilter{
		States: store.ActiveStates, InstallationID: t.InstallationID, Owner: t.Owner, Repo: t.Repo, Number: t.Number,
	})
	if err != nil {
		return fmt.Errorf("listing active jobs of %s/%s#%d: %w", t.Owner, t.Repo, t.Number, err)
	}
	state, detail := store.JobCancelled, "cancelled by @"+t.Actor
	var (
		errs      []error
		cancelled *checks.JobInfo
	)
	for _, j := range active {
		j, moved, err := s.moveJob(ctx, j.ID, store.ActiveStates, store.JobUpdate{State: &state, Detail: &detail})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !moved {
			continue // it ended meanwhile
		}
		jctx, cancel := detached(jobContext(ctx, j))
		zerolog.Ctx(jctx).Info().Msg("job cancelled")
		if err := s.withdraw(jctx, client, j, checks.JobCancelled(jobInfo(j), t.Actor)); err != nil {
			errs = append(errs, err)
		}
		cancel()
		info := jobInfo(j)
		cancelled = &info
	}
	if err := comment(ctx, client, t.Owner, t.Repo, t.Number, checks.JobCancelReply(t.Actor, cancelled)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// jobInfo is what job messages say about j.
func jobInfo(j store.Job) checks.JobInfo {
	return checks.JobInfo{
		ID:            j.ID,
		Kind:          j.Kind,
		Static:        j.Fork,
		Actor:         j.Actor,
		Source:        j.TriggerSource,
		Instructions:  j.Instructions,
		Workflow:      j.Workflow,
		DefaultBranch: j.DefaultBranch,
	}
}

// taskJobInfo is jobInfo with what only the task knows: the label or check
// that triggered the job.
func taskJobInfo(j store.Job, t Task) checks.JobInfo {
	info := jobInfo(j)
	switch t.Source {
	case SourceIssues:
		info.TriggerDetail = t.Label
	case SourceCheckRun, SourceCheckSuite:
		info.TriggerDetail = t.CheckName
	}
	return info
}

// moveJob applies u to a job that is in one of the from states (any state when
// from is empty) and counts the state it enters. moved is false, without an
// error, when the job was no longer in those states: another path or replica
// got there first, and that path speaks for it on GitHub.
func (s *Service) moveJob(ctx context.Context, id string, from []store.JobState, u store.JobUpdate) (job store.Job, moved bool, err error) {
	job, err = s.store.UpdateJob(ctx, id, from, u)
	if errors.Is(err, store.ErrConflict) {
		return store.Job{}, false, nil
	}
	if err != nil {
		return store.Job{}, false, err
	}
	if u.State != nil {
		s.metrics.jobEntered(job.Kind, *u.State)
		if !u.State.Active() {
			s.ended(ctx, job)
		}
	}
	return job, true, nil
}

// endedJobClient returns the installation client of a job that ended, and what
// its messages say about it, linking workflow run runID when there is one.
func (s *Service) endedJobClient(j store.Job, runID int64) (*github.Client, checks.JobInfo, error) {
	client, err := s.clients.NewInstallationClient(j.InstallationID)
	if err != nil {
		return nil, checks.JobInfo{}, fmt.Errorf("creating client for installation %d: %w", j.InstallationID, err)
	}
	info := jobInfo(j)
	info.RunURL = runURL(client, j.Owner, j.Repo, runID)
	return client, info, nil
}
