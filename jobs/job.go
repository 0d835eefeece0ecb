package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/ghclient"
	"github.com/infra-agent/infra-agent/jobs/ghops"
	"github.com/infra-agent/infra-agent/store"
)

// DefaultStepLease is how long a claim on a job's steps lasts unless its
// holder renews it (every third of it, while it works): how soon another
// handler resumes the steps of one that died.
const DefaultStepLease = 30 * time.Second

// ErrBusy is returned when another handler is taking the same job through its
// steps: the trigger is retried later and resumes what is left.
var ErrBusy = errors.New("another handler is setting up this job")

// createJob stores the job of an allowed task, or finds it when the trigger
// was seen before, and takes it through its steps: supersede the older job,
// check run, reaction, dispatch. Each step is resumable: a retry of the
// trigger carries on from the step that did not finish.
func (s *Service) createJob(ctx context.Context, client *github.Client, t Task, cfg config.RepoConfig, d Decision) error {
	row, err := s.jobRow(ctx, client, t, cfg)
	if err != nil {
		return err
	}
	job, superseded, created, err := s.store.CreateJob(ctx, row, autofixLimit(t, cfg))
	if errors.Is(err, store.ErrLimitReached) {
		// Failing checks that arrived together: the decision counted before
		// the others were created.
		return s.capReached(ctx, client, t, cfg.Autofix.MaxAttempts, cfg)
	}
	if err != nil {
		return fmt.Errorf("creating job for %s/%s#%d: %w", t.Owner, t.Repo, t.Number, err)
	}
	ctx = jobContext(ctx, job)
	logger := zerolog.Ctx(ctx)
	if created {
		s.metrics.jobCreated(job.Kind)
		logger.Info().Str(logKeyTier, d.Tier.String()).Bool(logKeyStatic, d.Static).Str(logKeyHeadSHA, job.HeadSHA).Msg("job created")
	} else {
		if !job.State.Active() {
			if job.CheckRunDone {
				logger.Info().Str(logKeyState, string(job.State)).Msg("trigger already has a job; nothing to do")
				return nil
			}
			// It ended (superseded, say) before its steps were done: its
			// check run, which an interrupted attempt may have created, is
			// concluded; or created concluded, so the trigger has one.
			logger.Info().Str(logKeyState, string(job.State)).Msg("trigger's job ended before its check run was concluded; concluding it")
			return s.concludeLate(ctx, job)
		}
		if job, err = s.store.ClaimJob(ctx, job.ID, row.StepOwner, row.StepUntil); errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("job of %s/%s#%d: %w", t.Owner, t.Repo, t.Number, ErrBusy)
		} else if err != nil {
			return err
		}
		logger.Info().Str(logKeyState, string(job.State)).Msg("trigger already has a job; resuming its steps")
	}
	stop := s.holdJob(ctx, job.ID, row.StepOwner)
	handedOff, err := s.advance(ctx, client, t, job, superseded, !created)
	stop()
	if !handedOff {
		rctx, cancel := detached(ctx)
		defer cancel()
		if rerr := s.store.ReleaseJob(rctx, job.ID, row.StepOwner); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// holdJob renews owner's claim on a job's steps every third of the step
// lease until the returned function is called: the claim lasts as long as
// its holder lives, and no longer.
func (s *Service) holdJob(ctx context.Context, id, owner string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.stepLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := s.store.ClaimJob(ctx, id, owner, s.now().Add(s.stepLease)); err != nil && ctx.Err() == nil {
				zerolog.Ctx(ctx).Error().Err(err).Msg("renewing the claim on a job's steps")
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// jobRow is the row of a task's job, claimed by a new step owner.
func (s *Service) jobRow(ctx context.Context, client *github.Client, t Task, cfg config.RepoConfig) (store.Job, error) {
	headSHA := t.HeadSHA
	if !t.IsPR {
		// An issue has no head: the check run goes on the commit the
		// remediation branch will start from.
		sha, err := ghops.BranchHead(ctx, client, t.Owner, t.Repo, t.DefaultBranch)
		if err != nil {
			return store.Job{}, err
		}
		headSHA = sha
	}
	now := s.now()
	return store.Job{
		TriggerKey: triggerKey(t), DeliveryID: t.DeliveryID, InstallationID: t.InstallationID, RepoID: t.RepoID,
		OwnerID: t.OwnerID, Owner: t.Owner, Repo: t.Repo, Number: t.Number, Kind: t.Kind, State: store.JobQueued,
		HeadSHA: headSHA, HeadRef: t.HeadRef, BaseRef: t.BaseRef, DefaultBranch: t.DefaultBranch, Fork: t.Fork,
		Actor: t.Actor, TriggerSource: string(t.Source), TriggerID: t.SourceID, Instructions: t.Instructions,
		Workflow: cfg.Workflow, TriggeredAt: t.TriggeredAt, CreatedAt: now, UpdatedAt: now,
		StepOwner: uuid.NewString(), StepUntil: now.Add(s.stepLease),
	}, nil
}

// advance takes a job through the steps that are not done: withdraw the jobs
// it superseded, create its check run, react to the comment, dispatch. It
// reports whether dispatch retries took the job over in the background (they
// then hold its steps until they end).
func (s *Service) advance(ctx context.Context, client *github.Client, t Task, job store.Job, superseded []store.Job, resuming bool) (bool, error) {
	var errs []error
	if resuming {
		open, err := s.store.ListJobs(ctx, store.JobFilter{SupersededBy: job.ID, States: []store.JobState{store.JobSuperseded}, CheckRunPending: true})
		if err != nil {
			return false, fmt.Errorf("listing the jobs %s superseded: %w", job.ID, err)
		}
		superseded = open
	}
	for _, old := range superseded {
		// The older job may be under the repository's former name.
		old.Owner, old.Repo = job.Owner, job.Repo
		s.metrics.jobEntered(old.Kind, store.JobSuperseded)
		octx, cancel := detached(jobContext(ctx, old))
		s.ended(octx, old)
		zerolog.Ctx(octx).Info().Str(logKeySupersededBy, job.ID).Msg("job superseded")
		// ErrBusy: the older job is being set up; its holder concludes the
		// check run when it sees the job superseded.
		if err := s.withdraw(octx, client, old, checks.JobSuperseded(jobInfo(old), taskJobInfo(job, t))); err != nil && !errors.Is(err, ErrBusy) {
			errs = append(errs, err)
		}
		cancel()
	}
	job, err := s.ensureCheckRun(ctx, client, t, job, resuming)
	if err != nil || !job.State.Active() {
		return false, errors.Join(append(errs, err)...)
	}
	if job.DispatchAttempts == 0 {
		if err := react(ctx, client, t); err != nil {
			errs = append(errs, err)
		}
	}
	if job.State != store.JobQueued {
		return false, errors.Join(errs...)
	}
	handedOff, err := s.dispatch(ctx, client, job)
	return handedOff, errors.Join(append(errs, err)...)
}

// ensureCheckRun gives the job its check run unless it has one: found by its
// external id when an earlier attempt may have created it, else created. A
// job superseded while its check run was created has that run concluded.
func (s *Service) ensureCheckRun(ctx context.Context, client *github.Client, t Task, job store.Job, resuming bool) (store.Job, error) {
	if job.CheckRunID != 0 {
		return job, nil
	}
	id, err := ghops.EnsureCheckRun(ctx, client, job.Owner, job.Repo, ghops.CheckRunSpec{
		Name: job.Kind.CheckRunName(), HeadSHA: job.HeadSHA, ExternalID: job.ID, AppID: s.appID,
		Output: checks.JobQueued(taskJobInfo(job, t)),
	}, resuming)
	if err != nil {
		if ghclient.Ambiguous(err) {
			// GitHub may have created it: the trigger's retry looks for it.
			return job, err
		}
		// Refused for good: without a check run the runner would work for
		// nobody. Fail the job and say so in a comment instead.
		return job, errors.Join(err, s.failWithoutCheckRun(ctx, client, job, err))
	}
	updated, err := s.store.UpdateJob(ctx, job.ID, nil, store.JobUpdate{CheckRunID: &id})
	if err != nil {
		return job, fmt.Errorf("recording check run %d of job %s: %w", id, job.ID, err)
	}
	if updated.State.Active() {
		return updated, nil
	}
	// A newer trigger superseded this job while its check run was being
	// created, and found no check run to conclude.
	newer, err := s.store.GetJob(ctx, updated.SupersededBy)
	if err != nil {
		return updated, fmt.Errorf("reading the job that superseded %s: %w", job.ID, err)
	}
	cctx, cancel := detached(ctx)
	defer cancel()
	return updated, s.concludeJob(cctx, client, updated, "cancelled", checks.JobSuperseded(jobInfo(updated), jobInfo(newer)))
}

// failWithoutCheckRun fails a job whose check run could not be created and
// explains it in a comment, the only place left to say it. It runs on its own
// deadline: the caller's may be what just ended.
func (s *Service) failWithoutCheckRun(ctx context.Context, client *github.Client, job store.Job, cause error) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	// Done: GitHub refused the check run, and the comment below says so.
	state, detail, done := store.JobFailed, "creating the check run: "+cause.Error(), true
	_, moved, err := s.moveJob(ctx, job.ID, store.ActiveStates, store.JobUpdate{State: &state, Detail: &detail, CheckRunDone: &done})
	if err != nil {
		return fmt.Errorf("failing job %s: %w", job.ID, err)
	}
	if !moved {
		return nil
	}
	return s.poster.Reply(ctx, client, jobTarget(job), "not-started:"+job.ID, checks.JobNotStartedComment(jobInfo(job), dispatchReason(cause)))
}

// concludeJob completes a job's check run and records that it did: a
// conclusion GitHub refuses is retried by the watchdog. A job with no check
// run recorded gets the one an interrupted attempt may have created, found by
// its external id, or a new one created concluded: every trigger ends with
// one check run, and none stays queued.
func (s *Service) concludeJob(ctx context.Context, client *github.Client, job store.Job, conclusion string, out checks.JobOutput) error {
	if job.CheckRunID == 0 {
		return s.concludeUnrecorded(ctx, client, job, conclusion, out)
	}
	if err := ghops.ConcludeCheckRun(ctx, client, job.Owner, job.Repo, job.CheckRunID, job.Kind.CheckRunName(), conclusion, out,
		github.Timestamp{Time: s.now()}); err != nil {
		return err
	}
	done := true
	if _, err := s.store.UpdateJob(ctx, job.ID, nil, store.JobUpdate{CheckRunDone: &done}); err != nil {
		return fmt.Errorf("recording the conclusion of job %s: %w", job.ID, err)
	}
	return nil
}

// concludeUnrecorded concludes the check run of a job that has none
// recorded. While another handler holds the job's steps it returns ErrBusy:
// that one is creating the check run, and concludes it once it sees the job
// ended (or, if it died, its claim lapses and a retry gets here again).
func (s *Service) concludeUnrecorded(ctx context.Context, client *github.Client, job store.Job, conclusion string, out checks.JobOutput) error {
	owner := uuid.NewString()
	claimed, err := s.store.ClaimJob(ctx, job.ID, owner, s.now().Add(s.stepLease))
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("concluding the check run of job %s: %w", job.ID, ErrBusy)
	}
	if err != nil {
		return err
	}
	defer func() { _ = s.store.ReleaseJob(context.WithoutCancel(ctx), job.ID, owner) }()
	if claimed.CheckRunID != 0 {
		// Created after all, while this was deciding.
		return s.concludeJob(ctx, client, claimed, conclusion, out)
	}
	id, err := ghops.EnsureCheckRun(ctx, client, job.Owner, job.Repo, ghops.CheckRunSpec{
		Name: job.Kind.CheckRunName(), HeadSHA: job.HeadSHA, ExternalID: job.ID, AppID: s.appID,
		Output: out, Conclusion: conclusion,
	}, true)
	if err != nil {
		return err
	}
	recorded, err := s.store.UpdateJob(ctx, job.ID, nil, store.JobUpdate{CheckRunID: &id})
	if err != nil {
		return fmt.Errorf("recording check run %d of job %s: %w", id, job.ID, err)
	}
	// A check run found queued (its creator was interrupted) still needs the
	// conclusion; one created concluded is concluded again, harmlessly.
	return s.concludeJob(ctx, client, recorded, conclusion, out)
}

// withdraw ends a job nobody waits for any more (cancelled, superseded): its
// workflow run, when known, is cancelled so no runner keeps working on it, and
// its check run is concluded cancelled with out.
func (s *Service) withdraw(ctx context.Context, client *github.Client, job store.Job, out checks.JobOutput) error {
	return errors.Join(
		ghops.CancelRun(ctx, client, job.Owner, job.Repo, job.RunID),
		s.concludeJob(ctx, client, job, "cancelled", out))
}

// jobTarget is the pull request or issue of a job.
func jobTarget(j store.Job) ghops.Target {
	return ghops.Target{RepoID: j.RepoID, Owner: j.Owner, Repo: j.Repo, Number: j.Number}
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

// react acknowledges a comment command with 👀.
func react(ctx context.Context, client *github.Client, t Task) error {
	var err error
	switch {
	case t.SourceID == 0:
	case t.Source == SourceIssueComment:
		_, _, err = client.Reactions.CreateIssueCommentReaction(ctx, t.Owner, t.Repo, t.SourceID, "eyes")
	case t.Source == SourceReviewComment:
		_, _, err = client.Reactions.CreatePullRequestCommentReaction(ctx, t.Owner, t.Repo, t.SourceID, "eyes")
	}
	if err != nil {
		return fmt.Errorf("reacting to comment %d: %w", t.SourceID, err)
	}
	return nil
}
