package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// claim answers POST …/claim: an Actions OIDC token in, the job spec and a
// scoped token out. Every refusal mints nothing.
func (b *Broker) claim(w http.ResponseWriter, r *http.Request) {
	ctx, jobID := r.Context(), r.PathValue("id")
	var req wire.ClaimRequest
	if rf := decode(r, &req, func() int { return req.Version }); rf != nil {
		writeRefusal(ctx, w, wire.ClaimRoute, jobID, rf)
		return
	}
	resp, rf := b.doClaim(ctx, jobID, bearer(r))
	if rf != nil {
		writeRefusal(ctx, w, wire.ClaimRoute, jobID, rf)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (b *Broker) doClaim(ctx context.Context, jobID, raw string) (wire.ClaimResponse, *refusal) {
	if b.audience == "" {
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "the server has no public URL (INFRA_AGENT_PUBLIC_URL): it cannot check the audience of OIDC tokens")
	}
	if raw == "" {
		return wire.ClaimResponse{}, refuse(http.StatusUnauthorized, "no Actions OIDC token: send it as a bearer token")
	}
	id, err := b.verifier.verify(ctx, raw)
	if errors.Is(err, errIssuerUnavailable) {
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "%v", err)
	}
	if err != nil {
		return wire.ClaimResponse{}, refuse(http.StatusUnauthorized, "the OIDC token is not valid: %v", err)
	}
	ctx = zerolog.Ctx(ctx).With().Str(logKeyJobID, jobID).Int64(logKeyRunID, id.runID).
		Int64(logKeyRunAttempt, id.runAttempt).Str(logKeyRepository, id.Repository).Logger().WithContext(ctx)
	job, err := b.store.GetJob(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
		// The same answer as a job of another repository: job ids tell a
		// caller nothing about other tenants, not even that a job exists.
		return wire.ClaimResponse{}, refuse(http.StatusForbidden, notYourJob, jobID, id.Repository)
	}
	if err != nil {
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "reading job %s: %v", jobID, err)
	}
	if rf := bindIdentity(job, id); rf != nil {
		return wire.ClaimResponse{}, b.refused(ctx, job, id, rf)
	}
	client, err := b.clients.NewInstallationClient(job.InstallationID)
	if err != nil {
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "creating client for installation %d: %v", job.InstallationID, err)
	}
	if rf := b.checkRepository(ctx, client, job, id); rf != nil {
		return wire.ClaimResponse{}, b.refused(ctx, job, id, rf)
	}
	cfg, source, err := b.jobs.RepoConfig(ctx, client, job)
	if err != nil {
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "reading the repository configuration: %v", err)
	}
	if rf := checkRunner(id, cfg); rf != nil {
		return wire.ClaimResponse{}, b.refused(ctx, job, id, rf)
	}
	return b.bind(ctx, client, job, id, cfg, source)
}

// checkRepository checks that the token's owner is the job's repository's.
// The owner's id came with the signed webhook and is stored with the job, so
// no request is needed: the token's repository id is the job's already
// (bindIdentity), a rename or a transfer since the webhook changes the
// workflow ref or the owner id the token names, and the token minted next
// is scoped to the job's repository id, which a deleted repository no longer
// has. A job stored before the owner's id was (OwnerID 0) asks GitHub for
// the repository: it must still have the job's id and the token's owner id.
func (b *Broker) checkRepository(ctx context.Context, client *github.Client, job store.Job, id identity) *refusal {
	if job.OwnerID != 0 {
		if job.OwnerID != id.ownerID {
			return refuse(http.StatusForbidden, "the token's owner id %d is not the repository owner's %d", id.ownerID, job.OwnerID)
		}
		return nil
	}
	repo, _, err := client.Repositories.Get(ctx, job.Owner, job.Repo)
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return refuse(http.StatusForbidden, "the job's repository %s/%s no longer exists", job.Owner, job.Repo)
		}
		return refuse(http.StatusServiceUnavailable, "reading repository %s/%s: %v", job.Owner, job.Repo, err)
	}
	if repo.GetID() != job.RepoID {
		return refuse(http.StatusForbidden, "repository %s/%s now has id %d, not the job's %d", job.Owner, job.Repo, repo.GetID(), job.RepoID)
	}
	if repo.GetOwner().GetID() != id.ownerID {
		return refuse(http.StatusForbidden, "the token's owner id %d is not the repository owner's %d", id.ownerID, repo.GetOwner().GetID())
	}
	return nil
}

// refused records a refusal about an existing job in its audit trail.
func (b *Broker) refused(ctx context.Context, job store.Job, id identity, rf *refusal) *refusal {
	b.audit(ctx, job.ID, "claim_refused", map[string]any{
		"status": rf.status, "reason": rf.reason, "run_id": id.runID, "run_attempt": id.runAttempt,
		"repository": id.Repository, "repository_id": id.repoID, "workflow_ref": id.WorkflowRef,
	})
	return rf
}

// bind makes the job running for this run, mints its token and builds the
// answer. A replayed claim of the same run gets a fresh session and a fresh
// token, the previous one revoked first, so a run never holds two live
// tokens; a replay after a server restart (the previous token lost from
// memory, so not revocable) is refused.
func (b *Broker) bind(ctx context.Context, client *github.Client, job store.Job, id identity, cfg config.RepoConfig, source string) (wire.ClaimResponse, *refusal) {
	session, hash, err := newSession()
	if err != nil {
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "%v", err)
	}
	claimed, run, replay, err := b.jobs.ClaimJob(ctx, store.RunClaim{
		JobID: job.ID, RunID: id.runID, RunAttempt: id.runAttempt, SessionHash: hash, At: b.now(), MaxClaims: b.maxClaims,
		ModelTokenBudget: int64(cfg.Agent.Limits(job.Kind).Tokens),
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		rf := refuse(http.StatusConflict, "the job is %s for workflow run %d: %v", claimed.State, claimed.RunID, err)
		rf.state = claimed.State
		return wire.ClaimResponse{}, b.refused(ctx, job, id, rf)
	case errors.Is(err, store.ErrTooManyClaims):
		return wire.ClaimResponse{}, b.refused(ctx, job, id, refuse(http.StatusTooManyRequests, "run %d claimed this job %d times", id.runID, b.maxClaims))
	case err != nil:
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "claiming the job: %v", err)
	}
	if replay && !b.tokens.holds(job.ID) {
		return wire.ClaimResponse{}, b.refused(ctx, job, id, refuse(http.StatusConflict,
			"the job's token was issued before the server restarted and cannot be revoked; it is not issued twice"))
	}
	perms := wire.JobTokenPermissions(job.Kind, job.Fork)
	tok, err := b.tokens.mint(ctx, job.InstallationID, job.RepoID, perms)
	if err == nil {
		err = b.tokens.hold(ctx, job.ID, tok.Value)
	}
	if err != nil {
		b.failClaim(ctx, claimed, err)
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "minting the job's token: %v", err)
	}
	if err := b.store.SetRunToken(ctx, job.ID, tok.ExpiresAt); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("recording the token's expiry")
	}
	b.audit(ctx, job.ID, "credential_issued", map[string]any{
		"run_id": id.runID, "run_attempt": id.runAttempt, "repository": job.Owner + "/" + job.Repo,
		"repository_id": job.RepoID, "installation_id": job.InstallationID, "kind": string(job.Kind),
		"permissions": wire.SortedScopes(tok.Permissions), "expires_at": tok.ExpiresAt.UTC().Format(time.RFC3339),
		"replay": replay, "claims": run.Claims, "actor": id.Actor, "runner_environment": id.RunnerEnvironment,
	})
	if !replay {
		b.showClaimed(ctx, client, claimed)
	}
	spec, err := b.spec(claimed, run, cfg, source)
	if err != nil {
		return wire.ClaimResponse{}, refuse(http.StatusServiceUnavailable, "%v", err)
	}
	return wire.ClaimResponse{
		Version: wire.APIVersion, Job: spec, Token: tok, Session: session,
		HeartbeatSeconds: int(b.beat / time.Second),
	}, nil
}

// failClaim ends a job the broker could not give a token to: nothing could
// run, and the runner is told so by the refusal.
func (b *Broker) failClaim(ctx context.Context, job store.Job, cause error) {
	zerolog.Ctx(ctx).Error().Err(cause).Msg("no token for a claimed job; failing it")
	_, _, err := b.jobs.EndJob(ctx, job.ID, jobs.JobEnd{
		State: store.JobFailed, Detail: "broker: " + cause.Error(), Conclusion: "failure",
		Output: checks.JobRunnerEnded(jobs.JobInfo(job), "The server could not mint the job's GitHub token: "+cause.Error()),
	})
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("failing a job without a token")
	}
}

// showClaimed moves the job's check run to in progress. A failure is only
// logged: the job runs all the same. A plan job's check run is the runner's
// own infra-agent/plan, which its publisher starts a moment later.
func (b *Broker) showClaimed(ctx context.Context, client *github.Client, job store.Job) {
	if job.CheckRunID == 0 || job.Kind == wire.KindPlan {
		return
	}
	out := checks.JobClaimed(jobs.JobInfo(job))
	_, _, err := client.Checks.UpdateCheckRun(ctx, job.Owner, job.Repo, job.CheckRunID, github.UpdateCheckRunOptions{
		Name: job.Kind.CheckRunName(), Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String(out.Title), Summary: github.String(out.Summary)},
	})
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("showing the claim on the check run")
	}
}

// spec builds the job spec a runner gets.
func (b *Broker) spec(j store.Job, run store.Run, cfg config.RepoConfig, source string) (wire.JobSpec, error) {
	doc, err := yaml.Marshal(cfg)
	if err != nil {
		return wire.JobSpec{}, fmt.Errorf("encoding the repository configuration: %w", err)
	}
	limits := cfg.Agent.Limits(j.Kind)
	return wire.JobSpec{
		ID: j.ID, Kind: j.Kind, Tier: j.Kind.Tier(), InstallationID: j.InstallationID,
		Repository: wire.Repository{ID: j.RepoID, Owner: j.Owner, Name: j.Repo, DefaultBranch: j.DefaultBranch},
		Number:     j.Number, PullRequest: j.Kind != wire.KindRemediate, HeadSHA: j.HeadSHA, HeadRef: j.HeadRef, BaseRef: j.BaseRef,
		Fork: j.Fork, Actor: j.Actor, TriggerSource: j.TriggerSource, TriggerID: j.TriggerID, Instructions: j.Instructions,
		TriggeredAt: j.TriggeredAt, CheckRunID: j.CheckRunID, RunID: run.RunID, RunAttempt: run.RunAttempt,
		Config: string(doc), ConfigSource: source,
		Budgets: wire.Budgets{
			DeadlineSeconds: int(cfg.Deadline(j.Kind) / time.Second),
			ModelTokens:     limits.Tokens, MaxTurns: limits.Turns, MaxPlanRuns: limits.PlanRuns,
		},
		GitHubAPIURL: b.apiURL, GitHubGraphQLURL: b.gqlURL, AppSlug: b.appSlug,
		Model: b.model.access(b.audience, j.ID),
	}, nil
}
