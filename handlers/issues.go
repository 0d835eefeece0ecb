package handlers

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/command"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/wire"
)

// Issues turns a labelled issue into a remediation task, whatever the label:
// the job layer compares it with the repository's remediate.label.
type Issues struct {
	Jobs Submitter
}

var _ githubapp.EventHandler = (*Issues)(nil)

// Handles implements githubapp.EventHandler.
func (h *Issues) Handles() []string { return []string{"issues"} }

// Handle implements githubapp.EventHandler.
func (h *Issues) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.IssuesEvent
	if err := decode(eventType, deliveryID, payload, &ev); err != nil {
		return err
	}
	ctx, logger := githubapp.PreparePRContext(ctx, ev.GetInstallation().GetID(), ev.GetRepo(), ev.GetIssue().GetNumber())
	ctx, _ = withFields(ctx, logger, ev.GetAction(), ev.GetSender())

	if ev.GetAction() != "labeled" {
		return ignore(ctx, "issue "+ev.GetAction())
	}
	label := ev.GetLabel().GetName()
	if label == "" {
		return fmt.Errorf("issues labeled event %s names no label", deliveryID)
	}
	t, err := newTask(jobs.SourceIssues, deliveryID, ev.GetInstallation(), ev.GetRepo())
	if err != nil {
		return err
	}
	issue := ev.GetIssue()
	t.Action, t.Kind = jobs.ActionRun, wire.KindRemediate
	t.Label = label
	// Untrusted text: cleaned of what a reader cannot see; the runner frames
	// it as data for the model.
	t.Instructions = command.Clean(issue.GetTitle() + "\n\n" + issue.GetBody())
	t.SourceID = issue.GetID()
	// The payload has no time of the labelling itself; labelling updates the issue.
	t.TriggeredAt = issue.GetUpdatedAt().Time
	t.Number = issue.GetNumber()
	t.IsPR = issue.IsPullRequest()
	t.Actor = ev.GetSender().GetLogin()
	t.ActorType = ev.GetSender().GetType()
	return submit(ctx, h.Jobs, t)
}
