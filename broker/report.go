package broker

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// progressEvery is how often a heartbeat's progress line may update the
// job's check run: GitHub's API is not a log stream.
const progressEvery = time.Minute

// maxCalls bounds the GitHub calls one message may report.
const maxCalls = 1000

// heartbeat answers POST …/heartbeat: the job stays alive, its progress
// shows on its check run at most once a minute, and a job that ended on the
// server tells its runner to stop.
func (b *Broker) heartbeat(w http.ResponseWriter, r *http.Request) {
	ctx, jobID := r.Context(), r.PathValue("id")
	var hb wire.Heartbeat
	if rf := decode(r, &hb, func() int { return hb.Version }); rf != nil {
		writeRefusal(ctx, w, wire.HeartbeatRoute, jobID, rf)
		return
	}
	if _, _, rf := b.authJob(ctx, jobID, bearer(r)); rf != nil {
		writeRefusal(ctx, w, wire.HeartbeatRoute, jobID, rf)
		return
	}
	if len(hb.Calls) > maxCalls {
		writeRefusal(ctx, w, wire.HeartbeatRoute, jobID, refuse(http.StatusBadRequest, "%d calls in one message; at most %d", len(hb.Calls), maxCalls))
		return
	}
	now := b.now()
	updated, err := b.store.UpdateJob(ctx, jobID, []store.JobState{store.JobRunning}, store.JobUpdate{HeartbeatAt: &now})
	if errors.Is(err, store.ErrConflict) {
		current, _ := b.store.GetJob(ctx, jobID)
		rf := refuse(http.StatusConflict, "the job ended (%s)", current.State)
		rf.state = current.State
		writeRefusal(ctx, w, wire.HeartbeatRoute, jobID, rf)
		return
	}
	if err != nil {
		// Not a word about the job's state: the runner tries again at its
		// next beat.
		writeRefusal(ctx, w, wire.HeartbeatRoute, jobID, refuse(http.StatusServiceUnavailable, "recording the heartbeat: %v", err))
		return
	}
	b.auditCalls(ctx, jobID, hb.Calls)
	b.showProgress(ctx, updated, hb.Progress, now)
	writeJSON(w, http.StatusOK, wire.HeartbeatResponse{Version: wire.APIVersion, State: string(updated.State)})
}

// showProgress puts the progress line on the job's check run, at most once a
// minute across replicas. A plan job's check run is the runner's own
// infra-agent/plan, which its publisher writes: the server leaves it alone.
func (b *Broker) showProgress(ctx context.Context, job store.Job, progress string, now time.Time) {
	if progress == "" || job.CheckRunID == 0 || job.Kind == wire.KindPlan {
		return
	}
	shown, err := b.store.RecordProgress(ctx, job.ID, progress, now, progressEvery)
	if err != nil || !shown {
		return
	}
	client, err := b.clients.NewInstallationClient(job.InstallationID)
	if err != nil {
		return
	}
	out := checks.JobProgress(jobs.JobInfo(job), progress)
	if _, _, err := client.Checks.UpdateCheckRun(ctx, job.Owner, job.Repo, job.CheckRunID, github.UpdateCheckRunOptions{
		Name: job.Kind.CheckRunName(), Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String(out.Title), Summary: github.String(out.Summary)},
	}); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str(logKeyJobID, job.ID).Msg("showing progress on the check run")
	}
}

// complete answers POST …/complete: the job ends as the runner says, its
// check run is concluded (unless the runner concluded it itself), and its
// token is revoked.
func (b *Broker) complete(w http.ResponseWriter, r *http.Request) {
	ctx, jobID := r.Context(), r.PathValue("id")
	var c wire.Complete
	if rf := decode(r, &c, func() int { return c.Version }); rf != nil {
		writeRefusal(ctx, w, wire.CompleteRoute, jobID, rf)
		return
	}
	job, _, rf := b.authJob(ctx, jobID, bearer(r))
	if rf == nil {
		rf = checkComplete(c)
	}
	if rf != nil {
		if rf.state != "" {
			// The job ended on the server meanwhile: its token dies with it.
			b.auditCalls(ctx, jobID, c.Calls)
		}
		writeRefusal(ctx, w, wire.CompleteRoute, jobID, rf)
		return
	}
	b.auditCalls(ctx, jobID, c.Calls)
	// The token dies first: nothing the runner does after reporting needs it.
	revoked := b.revoke(ctx, job, "complete")
	b.mu.Lock()
	b.completing[jobID] = true
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.completing, jobID)
		b.mu.Unlock()
	}()
	ended, moved, err := b.jobs.EndJob(ctx, jobID, jobs.JobEnd{
		State: store.JobState(c.Status), Detail: "runner: " + c.Title, Conclusion: c.Conclusion,
		Output: checks.JobCompleted(jobs.JobInfo(job), c), CheckRunConcluded: concludedOwnRun(job, c),
	})
	if err != nil && !moved {
		writeRefusal(ctx, w, wire.CompleteRoute, jobID, refuse(http.StatusServiceUnavailable, "ending the job: %v", err))
		return
	}
	if err != nil {
		// The job ended; GitHub refused the conclusion, which the watchdog
		// makes again later.
		zerolog.Ctx(ctx).Error().Err(err).Str(logKeyJobID, jobID).Msg("concluding the check run of a completed job")
	}
	if !moved {
		current, _ := b.store.GetJob(ctx, jobID)
		rf := refuse(http.StatusConflict, "the job ended (%s) before the runner completed it", current.State)
		rf.state = current.State
		writeRefusal(ctx, w, wire.CompleteRoute, jobID, rf)
		return
	}
	writeJSON(w, http.StatusOK, wire.CompleteResponse{Version: wire.APIVersion, State: string(ended.State), TokenRevoked: revoked})
}

// concludedOwnRun reports whether the runner concluded the job's own check
// run (a plan job's infra-agent/plan).
func concludedOwnRun(job store.Job, c wire.Complete) bool {
	for _, p := range c.Published {
		if p.ID == job.CheckRunID && p.ID != 0 && p.Conclusion != "" {
			return true
		}
	}
	return false
}

// checkComplete refuses a report the server cannot act on.
func checkComplete(c wire.Complete) *refusal {
	switch {
	case !c.Status.Valid():
		return refuse(http.StatusBadRequest, "status %q is not one of succeeded, failed, cancelled, timed_out", c.Status)
	case !wire.ValidConclusion(c.Conclusion):
		return refuse(http.StatusBadRequest, "conclusion %q is not a check-run conclusion", c.Conclusion)
	case len(c.Calls) > maxCalls:
		return refuse(http.StatusBadRequest, "%d calls in one message; at most %d", len(c.Calls), maxCalls)
	}
	return nil
}

// concludeOrphans concludes the check runs a runner started for a job (its
// external_id is the job id) that are still open when the job ended without
// the runner: a required check must not hang in progress.
func (b *Broker) concludeOrphans(ctx context.Context, j store.Job) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	client, err := b.clients.NewInstallationClient(j.InstallationID)
	if err != nil {
		return
	}
	list, _, err := client.Checks.ListCheckRunsForRef(ctx, j.Owner, j.Repo, j.HeadSHA, &github.ListCheckRunsOptions{
		ListOptions: github.ListOptions{PerPage: 100},
	})
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str(logKeyJobID, j.ID).Msg("listing the check runs of an ended job")
		return
	}
	conclusion := map[store.JobState]string{store.JobTimedOut: "timed_out", store.JobCancelled: "cancelled",
		store.JobSuperseded: "cancelled"}[j.State]
	if conclusion == "" {
		conclusion = "failure"
	}
	for _, cr := range list.CheckRuns {
		if cr.GetExternalID() != j.ID || cr.GetID() == j.CheckRunID || cr.GetStatus() == "completed" {
			continue
		}
		out := checks.JobOrphaned(jobs.JobInfo(j), string(j.State))
		if _, _, err := client.Checks.UpdateCheckRun(ctx, j.Owner, j.Repo, cr.GetID(), github.UpdateCheckRunOptions{
			Name: cr.GetName(), Status: github.String("completed"), Conclusion: github.String(conclusion),
			CompletedAt: &github.Timestamp{Time: b.now()},
			Output:      &github.CheckRunOutput{Title: github.String(out.Title), Summary: github.String(out.Summary)},
		}); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str(logKeyJobID, j.ID).Msg("concluding a check run the runner left open")
		}
	}
}
