package handlers

import (
	"context"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/valyala/fastjson"

	"github.com/infra-agent/infra-agent/command"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/wire"
)

// IssueComment turns an `/agent` command in a new comment on an issue or pull
// request into a task. Only the first command of a comment is acted on.
type IssueComment struct {
	Jobs Submitter

	payloads payloadReader
}

var _ githubapp.EventHandler = (*IssueComment)(nil)

// Handles implements githubapp.EventHandler.
func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

// commentApp holds the field go-github v62 does not decode on a comment.
type commentApp struct {
	Comment struct {
		PerformedViaGithubApp *github.App `json:"performed_via_github_app"`
	} `json:"comment"`
}

// Ignorable reports, from the action and the comment's body alone, that the
// delivery triggers nothing: the comment is not new, or holds no command.
// Handle would ignore such a delivery for the same reason, whatever the
// configuration or GitHub's state, so the intake can record it as done
// without keeping its payload. A payload whose reading is in any doubt is
// not ignorable; Handle decodes it in full.
//
// It differs from Handle in one case only: a payload that go-github cannot
// decode (GitHub sends none) but that holds no command is ignored, where
// Handle would fail it.
func (h *IssueComment) Ignorable(_ string, payload []byte) (reason string, ignorable bool) {
	h.payloads.read(payload, func(root *fastjson.Value) {
		reason, ignorable = ignorableComment(root)
	})
	return reason, ignorable
}

func ignorableComment(root *fastjson.Value) (reason string, ignorable bool) {
	action, ok := textAt(root, "action")
	if !ok {
		return "", false
	}
	if action != "created" {
		return "comment " + action, true
	}
	body, ok := textAt(root, "comment", "body")
	if !ok || len(command.Parse(body)) > 0 {
		return "", false
	}
	return "no command", true
}

// Handle implements githubapp.EventHandler.
func (h *IssueComment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	if reason, ok := h.Ignorable(eventType, payload); ok {
		return ignore(ctx, reason)
	}
	return h.handleEvent(ctx, eventType, deliveryID, payload)
}

// handleEvent decodes the whole event and decides.
func (h *IssueComment) handleEvent(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.IssueCommentEvent
	if err := decode(eventType, deliveryID, payload, &ev); err != nil {
		return err
	}
	ctx, logger := githubapp.PreparePRContext(ctx, ev.GetInstallation().GetID(), ev.GetRepo(), ev.GetIssue().GetNumber())
	ctx, _ = withFields(ctx, logger.With().Int64(LogKeyCommentID, ev.GetComment().GetID()).Logger(), ev.GetAction(), ev.GetSender())

	cmd, why, err := newCommand("comment", eventType, deliveryID, payload, ev.GetAction(), ev.GetComment().GetUser(), ev.GetSender(), ev.GetComment().GetBody())
	if err != nil {
		return err
	}
	if why != "" {
		return ignore(ctx, why)
	}
	author := ev.GetComment().GetUser()

	t, err := newTask(jobs.SourceIssueComment, deliveryID, ev.GetInstallation(), ev.GetRepo())
	if err != nil {
		return err
	}
	t.Action, t.Kind = commandAction(cmd)
	t.Command = cmd.Name
	if cmd.Name == command.Fix {
		t.Instructions = cmd.Args
	}
	t.SourceID = ev.GetComment().GetID()
	t.TriggeredAt = ev.GetComment().GetCreatedAt().Time
	t.Number = ev.GetIssue().GetNumber()
	t.IsPR = ev.GetIssue().IsPullRequest()
	t.Actor = author.GetLogin()
	t.ActorType = author.GetType()
	return submit(ctx, h.Jobs, t)
}

// commandAction maps a command to the task action and job kind.
func commandAction(c command.Command) (jobs.Action, wire.Kind) {
	switch c.Name {
	case command.Fix:
		return jobs.ActionRun, wire.KindFix
	case command.Plan:
		return jobs.ActionRun, wire.KindPlan
	case command.Review:
		return jobs.ActionRun, wire.KindReview
	case command.Cancel:
		return jobs.ActionCancel, ""
	case command.Help:
		return jobs.ActionHelp, ""
	}
	return jobs.ActionUnknown, ""
}

// newCommand returns the first command of a new comment ("comment" or
// "review comment") that a human wrote, or why it has none to act on.
func newCommand(what, eventType, deliveryID string, payload []byte, action string, author, sender *github.User, body string) (command.Command, string, error) {
	// Only new comments: an edit could smuggle a command into a comment that
	// was authorised, reviewed or answered before.
	if action != "created" {
		return command.Command{}, what + " " + action, nil
	}
	if isBot(author) || isBot(sender) {
		return command.Command{}, what + " by a bot", nil
	}
	var via commentApp
	if err := decode(eventType, deliveryID, payload, &via); err != nil {
		return command.Command{}, "", err
	}
	if via.Comment.PerformedViaGithubApp != nil {
		return command.Command{}, what + " posted through an app", nil
	}
	cmds := command.Parse(body)
	if len(cmds) == 0 {
		return command.Command{}, "no command", nil
	}
	return cmds[0], "", nil
}
