package ghops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-github/v62/github"
)

// dispatchRequest is the workflow_dispatch body. go-github v62 has no field
// for return_run_details.
type dispatchRequest struct {
	Ref              string            `json:"ref"`
	Inputs           map[string]string `json:"inputs"`
	ReturnRunDetails bool              `json:"return_run_details"`
}

// dispatchResponse is GitHub's answer when return_run_details is honoured
// (200). Older GitHub Enterprise Server versions answer 204 with no body; the
// run is then matched later by its run-name.
type dispatchResponse struct {
	WorkflowRunID int64 `json:"workflow_run_id"`
}

// Dispatch sends one workflow_dispatch of workflow on ref and returns the run
// id when GitHub reports it.
func Dispatch(ctx context.Context, client *github.Client, owner, repo, workflow, ref string, inputs map[string]string) (int64, error) {
	u := fmt.Sprintf("repos/%s/%s/actions/workflows/%s/dispatches",
		url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(workflow))
	req, err := client.NewRequest(http.MethodPost, u, dispatchRequest{Ref: ref, Inputs: inputs, ReturnRunDetails: true})
	if err != nil {
		return 0, fmt.Errorf("building dispatch request: %w", err)
	}
	var out dispatchResponse
	if _, err := client.Do(ctx, req, &out); err != nil {
		return 0, fmt.Errorf("dispatching %s on %s/%s@%s: %w", workflow, owner, repo, ref, err)
	}
	return out.WorkflowRunID, nil
}

// RunQuery describes the dispatched run FindRun looks for.
type RunQuery struct {
	Workflow string
	// Branch is the default branch the run was dispatched on.
	Branch string
	// Title is the run's display title (the workflow's run-name).
	Title string
	// RepoID is the repository the run's code must come from.
	RepoID int64
	// Since: runs created before it are not looked at.
	Since time.Time
}

// FindRun returns the id of a workflow_dispatch run of q.Workflow on q.Branch
// whose title is q.Title and whose code comes from the repository itself, or 0.
// Runs are listed newest first, back to q.Since.
func FindRun(ctx context.Context, client *github.Client, owner, repo string, q RunQuery) (int64, error) {
	opts := &github.ListWorkflowRunsOptions{
		Event: "workflow_dispatch", Branch: q.Branch, ListOptions: github.ListOptions{PerPage: pageSize},
	}
	for {
		runs, resp, err := client.Actions.ListWorkflowRunsByFileName(ctx, owner, repo, q.Workflow, opts)
		if err != nil {
			return 0, fmt.Errorf("looking for the run titled %q on %s/%s: %w", q.Title, owner, repo, err)
		}
		for _, r := range runs.WorkflowRuns {
			if r.GetCreatedAt().Time.Before(q.Since) {
				return 0, nil
			}
			if r.GetDisplayTitle() == q.Title && r.GetEvent() == "workflow_dispatch" && r.GetHeadBranch() == q.Branch &&
				r.GetHeadRepository().GetID() == q.RepoID {
				return r.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
}

// CancelRun cancels a workflow run (nothing for run 0). GitHub answers 202
// when it accepts, 409 when the run already completed and 404 when it is
// gone: all three leave no run going.
func CancelRun(ctx context.Context, client *github.Client, owner, repo string, runID int64) error {
	if runID == 0 {
		return nil
	}
	_, err := client.Actions.CancelWorkflowRunByID(ctx, owner, repo, runID)
	var accepted *github.AcceptedError
	if err == nil || errors.As(err, &accepted) || IsStatus(err, http.StatusConflict) || IsStatus(err, http.StatusNotFound) {
		return nil
	}
	return fmt.Errorf("cancelling workflow run %d on %s/%s: %w", runID, owner, repo, err)
}
