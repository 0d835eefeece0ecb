package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
)

// maxReviewFiles is GitHub's cap on the files the pull request files API
// lists; a larger pull request is treated as touching the review paths.
const maxReviewFiles = 3000

// pullRequest is what the job layer needs to know about a pull request.
type pullRequest struct {
	headSHA, headRef, headRepo, baseRef string
	fork, closed                        bool
}

// getPullRequest reads a pull request's head, base and fork facts.
func getPullRequest(ctx context.Context, client *github.Client, owner, repo string, number int) (pullRequest, error) {
	pr, _, err := client.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return pullRequest{}, fmt.Errorf("getting pull request %s/%s#%d: %w", owner, repo, number, err)
	}
	head := pr.GetHead()
	headRepo := head.GetRepo().GetFullName()
	return pullRequest{
		headSHA:  head.GetSHA(),
		headRef:  head.GetRef(),
		headRepo: headRepo,
		baseRef:  pr.GetBase().GetRef(),
		// A deleted fork has no head repository: still not this repository.
		fork:   !strings.EqualFold(headRepo, owner+"/"+repo),
		closed: pr.GetState() != "open",
	}, nil
}

// touchesPaths reports whether a pull request changes a file that matches one
// of globs, reading the files API page by page until it finds one.
func touchesPaths(ctx context.Context, client *github.Client, owner, repo string, number int, globs []string) (bool, error) {
	opts := &github.ListOptions{PerPage: 100}
	seen := 0
	for {
		files, resp, err := client.PullRequests.ListFiles(ctx, owner, repo, number, opts)
		if err != nil {
			return false, fmt.Errorf("listing files of %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, f := range files {
			if config.MatchAnyGlob(globs, f.GetFilename()) || (f.GetPreviousFilename() != "" && config.MatchAnyGlob(globs, f.GetPreviousFilename())) {
				return true, nil
			}
		}
		seen += len(files)
		if resp.NextPage == 0 {
			// The API stops at 3,000 files; what it does not list may match.
			return seen >= maxReviewFiles, nil
		}
		opts.Page = resp.NextPage
	}
}

// permissionLevel is the collaborator permission response, with the
// role_name field go-github v62 lacks: only it tells triage and maintain from
// read and write.
type permissionLevel struct {
	Permission string `json:"permission"`
	RoleName   string `json:"role_name"`
}

// getPermission returns login's permission on the repository. A user who is
// not a collaborator (404) has none.
func getPermission(ctx context.Context, client *github.Client, owner, repo, login string) (config.Permission, error) {
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(login))
	req, err := client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("building permission request: %w", err)
	}
	var p permissionLevel
	if _, err := client.Do(ctx, req, &p); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return config.PermissionNone, nil
		}
		return "", fmt.Errorf("getting %s's permission on %s/%s: %w", login, owner, repo, err)
	}
	// role_name is a custom role's name for custom roles; permission is then
	// the base level it maps to.
	for _, level := range []string{p.RoleName, p.Permission} {
		switch perm := config.Permission(level); perm {
		case config.PermissionRead, config.PermissionTriage, config.PermissionWrite,
			config.PermissionMaintain, config.PermissionAdmin, config.PermissionNone:
			return perm, nil
		}
	}
	return config.PermissionNone, nil
}

// comment posts body on an issue or pull request.
func comment(ctx context.Context, client *github.Client, owner, repo string, number int, body string) error {
	if _, _, err := client.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: &body}); err != nil {
		return fmt.Errorf("commenting on %s/%s#%d: %w", owner, repo, number, err)
	}
	return nil
}

// checkRunSpec is a check run to create.
type checkRunSpec struct {
	name, headSHA, externalID, detailsURL string
	output                                checks.JobOutput
}

// createCheckRun creates a queued check run and returns its id.
func createCheckRun(ctx context.Context, client *github.Client, owner, repo string, spec checkRunSpec) (int64, error) {
	opts := github.CreateCheckRunOptions{
		Name:       spec.name,
		HeadSHA:    spec.headSHA,
		ExternalID: github.String(spec.externalID),
		Status:     github.String("queued"),
		Output:     checkRunOutput(spec.output),
	}
	if spec.detailsURL != "" {
		opts.DetailsURL = github.String(spec.detailsURL)
	}
	cr, _, err := client.Checks.CreateCheckRun(ctx, owner, repo, opts)
	if err != nil {
		return 0, fmt.Errorf("creating check run %s on %s/%s@%s: %w", spec.name, owner, repo, spec.headSHA, err)
	}
	return cr.GetID(), nil
}

// concludeCheckRun completes a check run with conclusion and output.
func concludeCheckRun(ctx context.Context, client *github.Client, owner, repo string, id int64, name, conclusion string, out checks.JobOutput, completedAt github.Timestamp) error {
	_, _, err := client.Checks.UpdateCheckRun(ctx, owner, repo, id, github.UpdateCheckRunOptions{
		Name:        name,
		Status:      github.String("completed"),
		Conclusion:  github.String(conclusion),
		CompletedAt: &completedAt,
		Output:      checkRunOutput(out),
	})
	if err != nil {
		return fmt.Errorf("concluding check run %d on %s/%s as %s: %w", id, owner, repo, conclusion, err)
	}
	return nil
}

func checkRunOutput(o checks.JobOutput) *github.CheckRunOutput {
	out := &github.CheckRunOutput{Title: github.String(o.Title), Summary: github.String(o.Summary)}
	if o.Text != "" {
		out.Text = github.String(o.Text)
	}
	return out
}

// branchHead returns the commit a branch points at.
func branchHead(ctx context.Context, client *github.Client, owner, repo, branch string) (string, error) {
	b, _, err := client.Repositories.GetBranch(ctx, owner, repo, branch, 1)
	if err != nil {
		return "", fmt.Errorf("getting branch %s of %s/%s: %w", branch, owner, repo, err)
	}
	return b.GetCommit().GetSHA(), nil
}

// isStatus reports whether err is a GitHub API error with the given status.
func isStatus(err error, status int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == status
}

// cancelRun cancels a workflow run (no-op for run 0). GitHub answers 202 when
// it accepts, and 409 when the run already completed: both are fine.
func cancelRun(ctx context.Context, client *github.Client, owner, repo string, runID int64) error {
	if runID == 0 {
		return nil
	}
	resp, err := client.Actions.CancelWorkflowRunByID(ctx, owner, repo, runID)
	var accepted *github.AcceptedError
	if err == nil || errors.As(err, &accepted) || (resp != nil && resp.StatusCode == http.StatusConflict) {
		return nil
	}
	return fmt.Errorf("cancelling workflow run %d on %s/%s: %w", runID, owner, repo, err)
}
