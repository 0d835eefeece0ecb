package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// dispatchAttemptTimeout bounds one dispatch request in the background, on top
// of the backoff waits.
const dispatchAttemptTimeout = time.Minute

// dispatchRequest is the workflow_dispatch body. go-github v62 has no field
// for return_run_details.
type dispatchRequest struct {
	Ref              string            `json:"ref"`
	Inputs           map[string]string `json:"inputs"`
	ReturnRunDetails bool              `json:"return_run_details"`
}

// dispatchResponse is GitHub's answer when return_run_details is honoured
// (200). Older GitHub Enterprise Server versions answer 204 with no body; the
// run is then matched later by its run-name, "infra-agent job <id>".
type dispatchResponse struct {
	WorkflowRunID int64  `json:"workflow_run_id"`
	RunURL        string `json:"run_url"`
	HTMLURL       string `json:"html_url"`
}

// dispatch starts the job's workflow on the default branch. The first attempt
// runs now; if it fails in a way worth retrying, the retries run in the
// background with their own context, so the webhook is not held up. After the
// last failure the job is failed and its check run concluded with the reason.
func (s *Service) dispatch(ctx context.Context, client *github.Client, job store.Job) error {
	runID, err := s.dispatchOnce(ctx, client, job)
	if err == nil {
		return s.markDispatched(ctx, client, job, 1, runID)
	}
	if !retryable(err) || len(s.backoff) == 0 {
		s.metrics.dispatches.WithLabelValues("failed").Inc()
		return s.failDispatch(ctx, client, job, 1, err)
	}
	s.metrics.dispatches.WithLabelValues("retry").Inc()
	zerolog.Ctx(ctx).Warn().Err(err).Int(logKeyAttempt, 1).Msg("workflow dispatch failed; retrying in the background")

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
		if err := s.retryDispatch(bg, client, job); err != nil {
			zerolog.Ctx(bg).Error().Err(err).Msg("dispatch retries ended with an error")
		}
	})
	if !started {
		cancel()
		s.metrics.dispatches.WithLabelValues("failed").Inc()
		return s.failDispatch(ctx, client, job, 1, fmt.Errorf("%w (first attempt: %w)", errShuttingDown, err))
	}
	return nil
}

// retryDispatch makes the remaining attempts, waiting s.backoff[i] before
// each, and stops early when the job is no longer queued.
func (s *Service) retryDispatch(ctx context.Context, client *github.Client, job store.Job) error {
	logger := zerolog.Ctx(ctx)
	var err error
	for i, wait := range s.backoff {
		attempt := i + 2
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
		runID, err = s.dispatchOnce(ctx, client, job)
		if err == nil {
			return s.markDispatched(ctx, client, job, attempt, runID)
		}
		stopping := s.isStopping()
		if stopping {
			err = fmt.Errorf("%w (last attempt: %w)", errShuttingDown, err)
		}
		if stopping || !retryable(err) || i == len(s.backoff)-1 {
			s.metrics.dispatches.WithLabelValues("failed").Inc()
			return s.failDispatch(ctx, client, job, attempt, err)
		}
		s.metrics.dispatches.WithLabelValues("retry").Inc()
		logger.Warn().Err(err).Int(logKeyAttempt, attempt).Msg("workflow dispatch failed; retrying")
	}
	return err
}

// dispatchOnce sends one workflow_dispatch request and returns the run id when
// GitHub reports it.
func (s *Service) dispatchOnce(ctx context.Context, client *github.Client, job store.Job) (int64, error) {
	u := fmt.Sprintf("repos/%s/%s/actions/workflows/%s/dispatches",
		url.PathEscape(job.Owner), url.PathEscape(job.Repo), url.PathEscape(job.Workflow))
	req, err := client.NewRequest(http.MethodPost, u, dispatchRequest{
		Ref:              job.DefaultBranch,
		Inputs:           map[string]string{wire.WorkflowInput: job.ID},
		ReturnRunDetails: true,
	})
	if err != nil {
		return 0, fmt.Errorf("building dispatch request: %w", err)
	}
	var out dispatchResponse
	if _, err := client.Do(ctx, req, &out); err != nil {
		return 0, fmt.Errorf("dispatching %s on %s/%s@%s: %w", job.Workflow, job.Owner, job.Repo, job.DefaultBranch, err)
	}
	return out.WorkflowRunID, nil
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
		return cancelRun(ctx, client, job.Owner, job.Repo, runID)
	}
	zerolog.Ctx(ctx).Info().Int(logKeyAttempts, attempts).Int64(logKeyRunID, runID).Msg("workflow dispatched")
	return nil
}

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
// server errors, rate limits and network failures. A 404 (no such workflow
// on the default branch) or 422 (no workflow_dispatch trigger, unknown input)
// will not.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		rate  *github.RateLimitError
		abuse *github.AbuseRateLimitError
		er    *github.ErrorResponse
	)
	switch {
	case errors.As(err, &rate), errors.As(err, &abuse):
		return true
	case errors.As(err, &er):
		code := 0
		if er.Response != nil {
			code = er.Response.StatusCode
		}
		return code >= 500 || code == http.StatusTooManyRequests
	}
	return true // no HTTP answer at all: a network error
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
