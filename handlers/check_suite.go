package handlers

import (
	"context"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/wire"
)

// CheckSuite turns a failed check suite into one fix task per pull request it
// belongs to. A suite has no name of its own: the task's CheckName is the slug
// (or name) of the app that ran it.
type CheckSuite struct {
	Jobs Submitter
	// AppID is this App's id: its own check suites never trigger a fix.
	AppID int64
}

var _ githubapp.EventHandler = (*CheckSuite)(nil)

// Handles implements githubapp.EventHandler.
func (h *CheckSuite) Handles() []string { return []string{"check_suite"} }

// Handle implements githubapp.EventHandler.
func (h *CheckSuite) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.CheckSuiteEvent
	if err := decode(eventType, deliveryID, payload, &ev); err != nil {
		return err
	}
	suite := ev.GetCheckSuite()
	name := suite.GetApp().GetSlug()
	if name == "" {
		name = suite.GetApp().GetName()
	}
	ctx, logger := githubapp.PrepareRepoContext(ctx, ev.GetInstallation().GetID(), ev.GetRepo())
	logger = logger.With().Int64(LogKeyCheckID, suite.GetID()).Str(LogKeyCheckName, name).Logger()
	ctx, _ = withFields(ctx, logger, ev.GetAction(), ev.GetSender())

	switch {
	case ev.GetAction() != "completed":
		return ignore(ctx, "check suite "+ev.GetAction())
	case h.AppID != 0 && suite.GetApp().GetID() == h.AppID:
		return ignore(ctx, "check suite of this app")
	case wire.IsOwnCheck(name):
		return ignore(ctx, "check suite named like infra-agent's own")
	case !failing(suite.GetConclusion()):
		return ignore(ctx, "conclusion "+suite.GetConclusion())
	case len(suite.PullRequests) == 0:
		return ignore(ctx, "no pull request")
	}
	base, err := newTask(jobs.SourceCheckSuite, deliveryID, ev.GetInstallation(), ev.GetRepo())
	if err != nil {
		return err
	}
	base.SourceID = suite.GetID()
	base.CheckName = name
	base.TriggeredAt = suite.GetUpdatedAt().Time
	base.Actor = ev.GetSender().GetLogin()
	base.ActorType = ev.GetSender().GetType()
	return submitEach(ctx, h.Jobs, fixTasks(base, suite.PullRequests, suite.GetHeadSHA(), ev.GetRepo()))
}
