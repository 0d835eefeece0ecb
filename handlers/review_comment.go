package handlers

import (
	"context"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/command"
	"github.com/infra-agent/infra-agent/jobs"
)

// ReviewComment turns an `/agent` command in a new review comment on a line
// of a pull request's diff into a task. A fix asked for there is scoped to
// that file and line, and answered in the comment's thread; the runner reads
// the comment (path, line, thread) by its id.
type ReviewComment struct {
	Jobs Submitter
}

var _ githubapp.EventHandler = (*ReviewComment)(nil)

// Handles implements githubapp.EventHandler.
func (h *ReviewComment) Handles() []string { return []string{"pull_request_review_comment"} }

// Handle implements githubapp.EventHandler.
func (h *ReviewComment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.PullRequestReviewCommentEvent
	if err := decode(eventType, deliveryID, payload, &ev); err != nil {
		return err
	}
	pr, c := ev.GetPullRequest(), ev.GetComment()
	ctx, logger := githubapp.PreparePRContext(ctx, ev.GetInstallation().GetID(), ev.GetRepo(), pr.GetNumber())
	ctx, _ = withFields(ctx, logger.With().Int64(LogKeyCommentID, c.GetID()).Logger(), ev.GetAction(), ev.GetSender())

	cmd, why, err := newCommand("review comment", eventType, deliveryID, payload, ev.GetAction(), c.GetUser(), ev.GetSender(), c.GetBody())
	if err != nil {
		return err
	}
	if why != "" {
		return ignore(ctx, why)
	}
	t, err := newTask(jobs.SourceReviewComment, deliveryID, ev.GetInstallation(), ev.GetRepo())
	if err != nil {
		return err
	}
	t.Action, t.Kind = commandAction(cmd)
	t.Command = cmd.Name
	if cmd.Name == command.Fix {
		t.Instructions = cmd.Args
	}
	t.SourceID = c.GetID()
	t.TriggeredAt = c.GetCreatedAt().Time
	t.Number = pr.GetNumber()
	t.IsPR = true
	withHead(&t, pr, ev.GetRepo())
	t.Actor = c.GetUser().GetLogin()
	t.ActorType = c.GetUser().GetType()
	return submit(ctx, h.Jobs, t)
}
