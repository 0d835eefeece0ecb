package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/store"
)

// cancel cancels the active job of the task's pull request or issue and says
// so. The jobs it cancels record the cancel's trigger, so that a retry of the
// same `/agent cancel` finishes withdrawing them and replies about them,
// instead of finding nothing active.
func (s *Service) cancel(ctx context.Context, client *github.Client, t Task) error {
	key := triggerKey(t)
	active, err := s.store.ListJobs(ctx, store.JobFilter{States: store.ActiveStates, RepoID: t.RepoID, Number: t.Number})
	if err != nil {
		return fmt.Errorf("listing active jobs of %s/%s#%d: %w", t.Owner, t.Repo, t.Number, err)
	}
	state, detail := store.JobCancelled, "cancelled by @"+t.Actor
	var errs []error
	for _, j := range active {
		if _, _, err := s.moveJob(ctx, j.ID, store.ActiveStates, store.JobUpdate{State: &state, Detail: &detail, CancelledBy: &key}); err != nil {
			errs = append(errs, err)
		}
	}
	cancelled, err := s.store.ListJobs(ctx, store.JobFilter{CancelledBy: key})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("listing the jobs %s cancelled: %w", key, err))...)
	}
	var info *checks.JobInfo
	for _, j := range cancelled {
		// Under the repository's current name, whatever it was when the job began.
		j.Owner, j.Repo = t.Owner, t.Repo
		ji := jobInfo(j)
		info = &ji
		if j.CheckRunDone {
			continue
		}
		jctx, done := detached(jobContext(ctx, j))
		zerolog.Ctx(jctx).Info().Msg("job cancelled")
		if err := s.withdraw(jctx, client, j, checks.JobCancelled(jobInfo(j), t.Actor)); err != nil {
			errs = append(errs, err)
		}
		done()
	}
	if err := s.reply(ctx, client, t, "cancel:"+key, checks.JobCancelReply(t.Actor, info)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
