package handlers

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/jobs"
)

// WorkflowRun hands every completed workflow run to the reconciler, which
// closes the job the run belonged to (matched by run id, or by the run's
// display title `infra-agent job <id>`) and ignores the rest.
type WorkflowRun struct {
	Runs Reconciler
}

var _ githubapp.EventHandler = (*WorkflowRun)(nil)

// Handles implements githubapp.EventHandler.
func (h *WorkflowRun) Handles() []string { return []string{"workflow_run"} }

// workflowRunPath holds the field go-github v62 does not decode on a run.
type workflowRunPath struct {
	WorkflowRun struct {
		Path string `json:"path"`
	} `json:"workflow_run"`
}

// Handle implements githubapp.EventHandler.
func (h *WorkflowRun) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.WorkflowRunEvent
	if err := decode(eventType, deliveryID, payload, &ev); err != nil {
		return err
	}
	run := ev.GetWorkflowRun()
	ctx, logger := githubapp.PrepareRepoContext(ctx, ev.GetInstallation().GetID(), ev.GetRepo())
	ctx, _ = withFields(ctx, logger.With().Int64(LogKeyRunID, run.GetID()).Logger(), ev.GetAction(), ev.GetSender())

	// Some payloads say completed while the run is still queued: without a
	// conclusion there is nothing to reconcile.
	if ev.GetAction() != "completed" || run.GetStatus() != "completed" {
		return ignore(ctx, fmt.Sprintf("workflow run %s, status %s", ev.GetAction(), run.GetStatus()))
	}
	if ev.GetInstallation().GetID() <= 0 {
		return fmt.Errorf("workflow_run event %s has no installation id", deliveryID)
	}
	path := ev.GetWorkflow().GetPath()
	if path == "" {
		var p workflowRunPath
		if err := decode(eventType, deliveryID, payload, &p); err != nil {
			return err
		}
		path = p.WorkflowRun.Path
	}
	r := jobs.RunEvent{
		InstallationID: ev.GetInstallation().GetID(),
		RepoID:         ev.GetRepo().GetID(),
		Owner:          ev.GetRepo().GetOwner().GetLogin(),
		Repo:           ev.GetRepo().GetName(),
		RunID:          run.GetID(),
		WorkflowPath:   path,
		DisplayTitle:   run.GetDisplayTitle(),
		HeadBranch:     run.GetHeadBranch(),
		HeadRepoID:     run.GetHeadRepository().GetID(),
		Conclusion:     run.GetConclusion(),
		Event:          run.GetEvent(),
	}
	logger.Debug().Str(LogKeyConclusion, r.Conclusion).Msg("reconciling workflow run")
	if err := h.Runs.ReconcileRun(ctx, r); err != nil {
		return fmt.Errorf("reconciling workflow run %d of %s/%s: %w", r.RunID, r.Owner, r.Repo, err)
	}
	return nil
}
