package handlers

import (
	"context"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/wire"
)

// CheckRun turns a failed check run into one fix task per pull request it
// belongs to. Whether the repository wants fixes for that check, and how many
// attempts are left, is the job layer's decision.
type CheckRun struct {
	Jobs Submitter
	// AppID is this App's id: its own check runs never trigger a fix.
	AppID int64
}

var _ githubapp.EventHandler = (*CheckRun)(nil)

// Handles implements githubapp.EventHandler.
func (h *CheckRun) Handles() []string { return []string{"check_run"} }

// Handle implements githubapp.EventHandler.
func (h *CheckRun) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.CheckRunEvent
	if err := decode(eventType, deliveryID, payload, &ev); err != nil {
		return err
	}
	run := ev.GetCheckRun()
	ctx, logger := githubapp.PrepareRepoContext(ctx, ev.GetInstallation().GetID(), ev.GetRepo())
	logger = logger.With().Int64(LogKeyCheckID, run.GetID()).Str(LogKeyCheckName, run.GetName()).Logger()
	ctx, _ = withFields(ctx, logger, ev.GetAction(), ev.GetSender())

	switch {
	case ev.GetAction() != "completed":
		return ignore(ctx, "check run "+ev.GetAction())
	// Never fix our own checks: a failing fix would trigger another fix.
	case h.AppID != 0 && run.GetApp().GetID() == h.AppID:
		return ignore(ctx, "check run of this app")
	case wire.IsOwnCheck(run.GetName()):
		return ignore(ctx, "check run named like infra-agent's own")
	case !failing(run.GetConclusion()):
		return ignore(ctx, "conclusion "+run.GetConclusion())
	case len(run.PullRequests) == 0:
		return ignore(ctx, "no pull request")
	}
	base, err := newTask(jobs.SourceCheckRun, deliveryID, ev.GetInstallation(), ev.GetRepo())
	if err != nil {
		return err
	}
	base.SourceID = run.GetID()
	base.CheckName = run.GetName()
	base.TriggeredAt = run.GetCompletedAt().Time
	base.Actor = ev.GetSender().GetLogin()
	base.ActorType = ev.GetSender().GetType()
	return submitEach(ctx, h.Jobs, fixTasks(base, run.PullRequests, run.GetHeadSHA(), ev.GetRepo()))
}
