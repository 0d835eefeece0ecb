package jobs

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/store"
)

// RunTitlePrefix starts the run-name of the agent workflow: "infra-agent job
// <job id>", shown as display_title in workflow_run events. The workflow
// template sets it, so a run can be matched to its job when the dispatch
// response carried no run id.
const RunTitlePrefix = "infra-agent job "

// ReconcileRun closes the job of a completed workflow run whose runner never
// reported: a run that failed, was cancelled or timed out fails (or cancels)
// the job, and a run that succeeded while its job is still active means the
// runner ended without reporting, which fails the job too. The job's check run
// is concluded with a note linking the run. Runs that match no active job are
// ignored.
func (s *Service) ReconcileRun(ctx context.Context, r RunEvent) error {
	logger := zerolog.Ctx(ctx).With().Int64(logKeyRunID, r.RunID).Str(logKeyConclusion, r.Conclusion).Logger()
	ctx = logger.WithContext(ctx)
	if r.Conclusion == "" {
		logger.Debug().Msg("workflow run has no conclusion; ignored")
		return nil
	}
	job, ok, err := s.findRunJob(ctx, r)
	if err != nil {
		return err
	}
	if !ok {
		logger.Debug().Str(logKeyDisplayTitle, r.DisplayTitle).Msg("workflow run matches no active job; ignored")
		return nil
	}
	ctx = jobContext(ctx, job)
	logger = *zerolog.Ctx(ctx)

	state, conclusion := store.JobFailed, "failure"
	switch r.Conclusion {
	case "cancelled":
		state, conclusion = store.JobCancelled, "cancelled"
	case "timed_out":
		state, conclusion = store.JobTimedOut, "timed_out"
	}
	detail := fmt.Sprintf("workflow run %d ended with %s before the runner reported", r.RunID, r.Conclusion)
	if r.Conclusion == "success" {
		detail = fmt.Sprintf("the runner ended without reporting (workflow run %d succeeded)", r.RunID)
	}
	u := store.JobUpdate{State: &state, Detail: &detail}
	if job.RunID == 0 {
		u.RunID = &r.RunID
	}
	ended, moved, err := s.moveJob(ctx, job.ID, store.ActiveStates, u)
	if err != nil {
		return fmt.Errorf("reconciling job %s with run %d: %w", job.ID, r.RunID, err)
	}
	if !moved {
		logger.Debug().Msg("job ended meanwhile; nothing to reconcile")
		return nil
	}
	logger.Warn().Str(logKeyState, string(state)).Msg("workflow run ended without a report; job closed")
	ctx, cancel := detached(ctx)
	defer cancel()

	client, info, err := s.endedJobClient(ended, r.RunID)
	if err != nil {
		return err
	}
	return s.concludeJob(ctx, client, ended, conclusion, checks.JobRunEnded(info, r.Conclusion))
}

// findRunJob finds the active job of a run: by the run id recorded at
// dispatch, else by the job id in the run's title. Job ids are public (check
// runs show them), and a pull request may edit the workflow to run on its own
// events under any title, so a run counts only if the server could have
// started it: a workflow_dispatch of the job's workflow, on the job's default
// branch, with code from the job's repository, and the run the dispatch
// reported when it reported one.
func (s *Service) findRunJob(ctx context.Context, r RunEvent) (store.Job, bool, error) {
	active, err := s.store.ListJobs(ctx, store.JobFilter{States: store.ActiveStates, RepoID: r.RepoID})
	if err != nil {
		return store.Job{}, false, fmt.Errorf("listing active jobs of %s/%s: %w", r.Owner, r.Repo, err)
	}
	id, titled := strings.CutPrefix(strings.TrimSpace(r.DisplayTitle), RunTitlePrefix)
	for _, j := range active {
		byID := r.RunID != 0 && j.RunID == r.RunID
		byTitle := titled && id != "" && j.ID == id && j.RunID == 0
		if !byID && !byTitle {
			continue
		}
		if why := foreignRun(j, r); why != "" {
			zerolog.Ctx(ctx).Warn().Str(logKeyJobID, j.ID).Str(logKeyReason, why).Str(logKeyDisplayTitle, r.DisplayTitle).
				Msg("a workflow run names a job it was not started for; ignored")
			return store.Job{}, false, nil
		}
		return j, true, nil
	}
	return store.Job{}, false, nil
}

// foreignRun says why run r cannot be the one the server dispatched for j, or
// "" when it can be.
func foreignRun(j store.Job, r RunEvent) string {
	switch {
	case r.Event != "workflow_dispatch":
		return "the run was started by " + r.Event + ", not by a dispatch"
	case r.HeadBranch != j.DefaultBranch:
		return "the run is on " + r.HeadBranch + ", not on the default branch " + j.DefaultBranch
	case r.HeadRepoID == 0 || r.HeadRepoID != j.RepoID:
		return "the run's code comes from another repository"
	case r.WorkflowPath != "" && path.Base(r.WorkflowPath) != j.Workflow:
		return "the run is of another workflow"
	}
	return ""
}

// runURL is the web address of a workflow run, derived from the API address
// (api.github.com → github.com; GitHub Enterprise Server's /api/v3/ → /).
func runURL(client *github.Client, owner, repo string, runID int64) string {
	if runID == 0 {
		return ""
	}
	base := *client.BaseURL
	switch {
	case base.Host == "api.github.com":
		base.Host = "github.com"
		base.Path = "/"
	case strings.HasSuffix(base.Path, "/api/v3/"):
		base.Path = strings.TrimSuffix(base.Path, "api/v3/")
	}
	return base.JoinPath(url.PathEscape(owner), url.PathEscape(repo), "actions", "runs", fmt.Sprint(runID)).String()
}
