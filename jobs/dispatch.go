package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/ghclient"
	"github.com/infra-agent/infra-agent/jobs/ghops"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// dispatchAttemptTimeout bounds one dispatch attempt in the background, on top
// of the backoff waits.
const dispatchAttemptTimeout = time.Minute

// runLookback is how much older than its job a dispatched run may look, by
// GitHub's clock.
const runLookback = 5 * time.Minute

// dispatch starts the job's workflow on the default branch. The first attempt
// runs now; if it fails in a way worth retrying, the retries run in the
// background with their own context (and hold the job's steps), so the webhook
// is not held up; it reports whether they did. After the last failure the job
// is failed and its check run concluded with the reason.
//
// An attempt is recorded before it is sent: a later attempt, or a retry of the
// trigger after a crash, first looks for the run an earlier attempt may have
// started (GitHub may have answered 502 after starting it), so a job is not
// dispatched twice.
func (s *Service) dispatch(ctx context.Context, client *github.Client, job store.Job) (bool, error) {
	attempt := job.DispatchAttempts + 1
	runID, err := s.dispatchAttempt(ctx, client, job, attempt)
	switch {
	case err == nil:
		return false, s.markDispatched(ctx, client, job, attempt, runID)
	case errors.Is(err, errLeftQueue):
		return false, nil
	}
	if !retryable(ctx, err) || len(s.backoff) == 0 {
		s.metrics.dispatches.WithLabelValues("failed").Inc()
		return false, s.failDispatch(ctx, client, job, attempt, err)
	}
	s.metrics.dispatches.WithLabelValues("retry").Inc()
	zerolog.Ctx(ctx).Warn().Err(err).Int(logKeyAttempt, attempt).Msg("workflow dispatch failed; retrying in the background")

	total := dispatchAttemptTimeout * time.Duration(len(s.backoff))
	for _, d := range s.backoff {
		total += d
	}
	// The webhook's context ends when Submit returns; the retries keep its
	// logger and values but not its deadline.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), total)
	started := s.goBackground(func() {
		defer cancel()
		go func() {
			select {
			case <-s.stopping:
				cancel()
			case <-bg.Done():
			}
		}()
		stop := s.holdJob(bg, job.ID, job.StepOwner)
		if err := s.retryDispatch(bg, client, job, attempt); err != nil {
			zerolog.Ctx(bg).Error().Err(err).Msg("dispatch retries ended with an error")
		}
		stop()
		rctx, done := detached(bg)
		defer done()
		if err := s.store.ReleaseJob(rctx, job.ID, job.StepOwner); err != nil {
			zerolog.Ctx(bg).Error().Err(err).Msg("releasing the job after its dispatch retries")
		}
	})
	if !started {
		cancel()
		s.metrics.dispatches.WithLabelValues("failed").Inc()
		return false, s.failDispatch(ctx, client, job, attempt, fmt.Errorf("%w (first attempt: %w)", errShuttingDown, err))
	}
	return true, nil
}

// retryDispatch makes the remaining attempts, waiting s.backoff[i] before
// each, and stops early when the job is no longer queued.
func (s *Service) retryDispatch(ctx context.Context, client *github.Client, job store.Job, last int) error {
	logger := zerolog.Ctx(ctx)
	var err error
	for i, wait := range s.backoff {
		attempt := last + i + 1
		if err := s.sleep(ctx, wait); err != nil {
			if s.isStopping() {
				err = errShuttingDown
			}
			return s.failDispatch(ctx, client, job, attempt-1, fmt.Errorf("gave up retrying: %w", err))
		}
		current, gerr := s.store.GetJob(ctx, job.ID)
		if gerr != nil {
			if s.isStopping() {
				gerr = errShuttingDown
			}
			return s.failDispatch(ctx, client, job, attempt-1, fmt.Errorf("reading the job before retrying: %w", gerr))
		}
		if current.State != store.JobQueued {
			logger.Info().Str(logKeyState, string(current.State)).Msg("job left the queue; dispatch retries stop")
			return nil
		}
		var runID int64
		runID, err = s.dispatchAttempt(ctx, client, job, attempt)
		switch {
		case err == nil:
			return s.markDispatched(ctx, client, job, attempt, runID)
		case errors.Is(err, errLeftQueue):
			return nil
		}
		stopping := s.isStopping()
		if stopping {
			err = fmt.Errorf("%w (last attempt: %w)", errShuttingDown, err)
		}
		if stopping || !retryable(ctx, err) || i == len(s.backoff)-1 {
			s.metrics.dispatches.WithLabelValues("failed").Inc()
			return s.failDispatch(ctx, client, job, attempt, err)
		}
		s.metrics.dispatches.WithLabelValues("retry").Inc()
		logger.Warn().Err(err).Int(logKeyAttempt, attempt).Msg("workflow dispatch failed; retrying")
	}
	return err
}

// dispatchAttempt records attempt and makes it: after an earlier attempt, it
// first looks for the run that attempt may have started, by the job id in
// its title. It returns the run id when GitHub reports it (0 from older GitHub
// Enterprise Server versions, which answer 204).
func (s *Service) dispatchAttempt(ctx context.Context, client *github.Client, job store.Job, attempt int) (int64, error) {
	if attempt > 1 {
		id, err := ghops.FindRun(ctx, client, job.Owner, job.Repo, ghops.RunQuery{
			Workflow: job.Workflow, Branch: job.DefaultBranch, Title: RunTitlePrefix + job.ID, RepoID: job.RepoID,
			Since: job.CreatedAt.Add(-runLookback),
		})
		if err != nil {
			return 0, err
		}
		if id != 0 {
			zerolog.Ctx(ctx).Info().Int64(logKeyRunID, id).Msg("an earlier dispatch attempt started the run")
			return id, nil
		}
	}
	if _, queued, err := s.moveJob(ctx, job.ID, []store.JobState{store.JobQueued}, store.JobUpdate{DispatchAttempts: &attempt}); err != nil {
		return 0, fmt.Errorf("recording dispatch attempt %d of job %s: %w", attempt, job.ID, err)
	} else if !queued {
		return 0, errLeftQueue
	}
	// Fully qualified: a tag named like the default branch would win over the
	// branch in a bare name.
	return ghops.Dispatch(ctx, client, job.Owner, job.Repo, job.Workflow, "refs/heads/"+job.DefaultBranch,
		map[string]string{wire.WorkflowInput: job.ID})
}

// markDispatched records an accepted dispatch, unless the job left the queue
// meanwhile (cancelled, superseded): the run it started is then cancelled, and
// the runner's claim would be refused anyway.
func (s *Service) markDispatched(ctx context.Context, client *github.Client, job store.Job, attempts int, runID int64) error {
	s.metrics.dispatches.WithLabelValues("ok").Inc()
	state := store.JobDispatched
	u := store.JobUpdate{State: &state, DispatchAttempts: &attempts}
	if runID != 0 {
		u.RunID = &runID
	}
	_, moved, err := s.moveJob(ctx, job.ID, []store.JobState{store.JobQueued}, u)
	if err != nil {
		return fmt.Errorf("recording dispatch of job %s: %w", job.ID, err)
	}
	if !moved {
		zerolog.Ctx(ctx).Info().Int64(logKeyRunID, runID).Msg("workflow dispatched for a job that already left the queue; cancelling its run")
		return ghops.CancelRun(ctx, client, job.Owner, job.Repo, runID)
	}
	zerolog.Ctx(ctx).Info().Int(logKeyAttempts, attempts).Int64(logKeyRunID, runID).Msg("workflow dispatched")
	return nil
}

// errLeftQueue stops a dispatch: the job was cancelled or superseded, and the
// path that did it speaks for it.
var errLeftQueue = errors.New("the job left the queue")

// errShuttingDown is why dispatch retries end when the server shuts down.
var errShuttingDown = errors.New("the server shut down before the workflow could be dispatched; comment again to retry")

// isStopping reports whether Shutdown told the retries to stop.
func (s *Service) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

// failDispatch fails a job whose workflow could not be dispatched and
// concludes its check run with the reason. It runs on its own deadline: the
// caller's may be the one that just ended the dispatch, and a job left queued
// would keep its check run queued until the watchdog.
func (s *Service) failDispatch(ctx context.Context, client *github.Client, job store.Job, attempts int, cause error) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	reason := dispatchReason(cause)
	state := store.JobFailed
	detail := "dispatching the workflow: " + reason
	failed, moved, err := s.moveJob(ctx, job.ID, []store.JobState{store.JobQueued},
		store.JobUpdate{State: &state, Detail: &detail, DispatchAttempts: &attempts})
	if err != nil {
		return fmt.Errorf("failing job %s: %w", job.ID, err)
	}
	if !moved {
		return nil // cancelled or superseded meanwhile; that path concluded the check run
	}
	zerolog.Ctx(ctx).Error().Err(cause).Int(logKeyAttempts, attempts).Msg("workflow dispatch failed; job failed")
	return s.concludeJob(ctx, client, failed, "failure", checks.JobDispatchFailed(jobInfo(failed), attempts, reason))
}

// retryable reports whether a dispatch error may go away on its own: GitHub
// server errors, rate limits, network failures and attempts that timed out.
// A 404 (no such workflow on the default branch) or 422 (no
// workflow_dispatch trigger, unknown input) will not, and nothing is retried
// once the caller's own context has ended.
func retryable(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !errors.Is(err, context.Canceled) && ghclient.Transient(err)
}

// dispatchReason explains a dispatch error to a human.
func dispatchReason(err error) string {
	if errors.Is(err, errShuttingDown) {
		return errShuttingDown.Error()
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := er.Message
		if msg == "" {
			msg = http.StatusText(er.Response.StatusCode)
		}
		switch er.Response.StatusCode {
		case http.StatusNotFound:
			return fmt.Sprintf("GitHub answered 404 %s: the workflow file is missing on the default branch, or the App cannot see it", msg)
		case http.StatusUnprocessableEntity:
			return fmt.Sprintf("GitHub answered 422 %s: the workflow needs a workflow_dispatch trigger with a %s input", msg, wire.WorkflowInput)
		}
		return fmt.Sprintf("GitHub answered %d %s", er.Response.StatusCode, msg)
	}
	return err.Error()
}
