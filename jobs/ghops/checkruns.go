package ghops

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/ghclient"
)

// CheckRunSpec is a check run to create.
type CheckRunSpec struct {
	Name, HeadSHA, ExternalID string
	// AppID is this App's: only its check runs are found by external id.
	AppID  int64
	Output checks.JobOutput
	// Conclusion, when set, creates the check run completed with it.
	Conclusion string
}

// EnsureCheckRun returns the id of the check run spec describes: one created
// earlier with the same external id when resuming, else a new one (queued,
// or completed with spec.Conclusion). A creation that failed without saying
// whether GitHub created it is followed by a look for it.
func EnsureCheckRun(ctx context.Context, client *github.Client, owner, repo string, spec CheckRunSpec, resuming bool) (int64, error) {
	if resuming {
		if id, err := FindCheckRun(ctx, client, owner, repo, spec); err != nil || id != 0 {
			return id, err
		}
	}
	opts := github.CreateCheckRunOptions{
		Name:       spec.Name,
		HeadSHA:    spec.HeadSHA,
		ExternalID: github.String(spec.ExternalID),
		Status:     github.String("queued"),
		Output:     output(spec.Output),
	}
	if spec.Conclusion != "" {
		opts.Status, opts.Conclusion = github.String("completed"), github.String(spec.Conclusion)
	}
	cr, _, err := client.Checks.CreateCheckRun(ctx, owner, repo, opts)
	if err == nil {
		return cr.GetID(), nil
	}
	err = fmt.Errorf("creating check run %s on %s/%s@%s: %w", spec.Name, owner, repo, spec.HeadSHA, err)
	if ghclient.Ambiguous(err) {
		if id, ferr := FindCheckRun(ctx, client, owner, repo, spec); ferr == nil && id != 0 {
			return id, nil
		}
	}
	return 0, err
}

// FindCheckRun returns the id of this App's check run named spec.Name on
// spec.HeadSHA whose external id is spec.ExternalID, or 0.
func FindCheckRun(ctx context.Context, client *github.Client, owner, repo string, spec CheckRunSpec) (int64, error) {
	opts := &github.ListCheckRunsOptions{
		CheckName: github.String(spec.Name), Filter: github.String("all"),
		ListOptions: github.ListOptions{PerPage: pageSize},
	}
	if spec.AppID != 0 {
		opts.AppID = github.Int64(spec.AppID)
	}
	for {
		res, resp, err := client.Checks.ListCheckRunsForRef(ctx, owner, repo, spec.HeadSHA, opts)
		if err != nil {
			return 0, fmt.Errorf("looking for check run %s of %s on %s/%s: %w", spec.Name, spec.ExternalID, owner, repo, err)
		}
		for _, cr := range res.CheckRuns {
			if cr.GetExternalID() == spec.ExternalID && (spec.AppID == 0 || cr.GetApp().GetID() == spec.AppID) {
				return cr.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
}

// ConcludeCheckRun completes a check run with conclusion and output. It is
// safe to repeat: the same update again changes nothing.
func ConcludeCheckRun(ctx context.Context, client *github.Client, owner, repo string, id int64, name, conclusion string, out checks.JobOutput, completedAt github.Timestamp) error {
	_, _, err := client.Checks.UpdateCheckRun(ctx, owner, repo, id, github.UpdateCheckRunOptions{
		Name:        name,
		Status:      github.String("completed"),
		Conclusion:  github.String(conclusion),
		CompletedAt: &completedAt,
		Output:      output(out),
	})
	if err != nil {
		return fmt.Errorf("concluding check run %d on %s/%s as %s: %w", id, owner, repo, conclusion, err)
	}
	return nil
}

func output(o checks.JobOutput) *github.CheckRunOutput {
	out := &github.CheckRunOutput{Title: github.String(o.Title), Summary: github.String(o.Summary)}
	if o.Text != "" {
		out.Text = github.String(o.Text)
	}
	return out
}
