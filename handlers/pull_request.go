package handlers

import (
	"context"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/wire"
)

// PullRequest turns an opened, updated or reopened pull request (drafts too)
// into a review task. Whether the repository wants automatic reviews, and of
// which paths, is the job layer's decision.
type PullRequest struct {
	Jobs Submitter
}

var _ githubapp.EventHandler = (*PullRequest)(nil)

// Handles implements githubapp.EventHandler.
func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle implements githubapp.EventHandler.
func (h *PullRequest) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.PullRequestEvent
	if err := decode(eventType, deliveryID, payload, &ev); err != nil {
		return err
	}
	pr := ev.GetPullRequest()
	ctx, logger := githubapp.PreparePRContext(ctx, ev.GetInstallation().GetID(), ev.GetRepo(), pr.GetNumber())
	ctx, _ = withFields(ctx, logger, ev.GetAction(), ev.GetSender())

	switch ev.GetAction() {
	case "opened", "synchronize", "reopened":
	default:
		return ignore(ctx, "pull request "+ev.GetAction())
	}
	t, err := newTask(jobs.SourcePullRequest, deliveryID, ev.GetInstallation(), ev.GetRepo())
	if err != nil {
		return err
	}
	t.Action, t.Kind = jobs.ActionRun, wire.KindReview
	t.Event = ev.GetAction()
	t.SourceID = pr.GetID()
	t.TriggeredAt = pr.GetUpdatedAt().Time
	t.Number = pr.GetNumber()
	t.IsPR = true
	withHead(&t, pr, ev.GetRepo())
	t.Actor = ev.GetSender().GetLogin()
	t.ActorType = ev.GetSender().GetType()
	t.ViaApp = ev.GetPerformedViaGithubApp().GetID()
	return submit(ctx, h.Jobs, t)
}

// withHead fills in the pull request's head and base, as its payload has them.
func withHead(t *jobs.Task, pr *github.PullRequest, repo *github.Repository) {
	t.HeadSHA = pr.GetHead().GetSHA()
	t.HeadRef = pr.GetHead().GetRef()
	t.HeadRepo = pr.GetHead().GetRepo().GetFullName()
	t.BaseRef = pr.GetBase().GetRef()
	t.Fork = isFork(pr.GetHead().GetRepo(), repo)
}
