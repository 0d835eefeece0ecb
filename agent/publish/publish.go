// Package publish reports the validation pipeline's results on a commit as the
// infra-agent/plan and infra-agent/policy check runs: in progress while the
// pipeline runs, completed with the rendered outputs, conclusions and
// annotations when it ends. What the check runs say is rendered by package
// checks; this package only talks to GitHub.
package publish

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/wire"
)

// ChecksAPI is the part of go-github's ChecksService the publisher uses.
type ChecksAPI interface {
	CreateCheckRun(ctx context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, *github.Response, error)
	UpdateCheckRun(ctx context.Context, owner, repo string, checkRunID int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, *github.Response, error)
}

// Target is the commit the check runs report on.
type Target struct {
	Owner, Repo string
	HeadSHA     string
	// DetailsURL links the check runs to where the full log is (the workflow
	// run); ExternalID is the job id. Both are optional.
	DetailsURL string
	ExternalID string
}

// Runs holds the ids of the two check runs. A zero id means the run does not
// exist yet: Finish and Fail create it.
type Runs struct {
	Plan, Policy int64
}

// Publisher creates and completes the check runs of one commit.
type Publisher struct {
	checks ChecksAPI
	target Target
	now    func() time.Time
}

// New returns a Publisher for target that calls GitHub through api
// (a *github.ChecksService).
func New(api ChecksAPI, target Target) *Publisher {
	return &Publisher{checks: api, target: target, now: time.Now}
}

// The output of a check run while the pipeline runs.
const (
	runningTitle   = "Running"
	runningSummary = "infra-agent is running terraform fmt, validate and plan and the policies on this commit."
)

// Start creates both check runs with status in_progress.
func (p *Publisher) Start(ctx context.Context) (Runs, error) {
	return p.StartWith(ctx, Runs{})
}

// StartWith marks the check runs have names as in progress and creates the
// missing ones. A plan job already has its infra-agent/plan run (the job's
// own check run): it is reused, never doubled on the same commit.
func (p *Publisher) StartWith(ctx context.Context, have Runs) (Runs, error) {
	runs := have
	for _, r := range []struct {
		name string
		id   *int64
	}{{wire.CheckPlan, &runs.Plan}, {wire.CheckPolicy, &runs.Policy}} {
		started := github.Timestamp{Time: p.now()}
		output := &github.CheckRunOutput{Title: github.String(runningTitle), Summary: github.String(runningSummary)}
		if *r.id != 0 {
			if _, _, err := p.checks.UpdateCheckRun(ctx, p.target.Owner, p.target.Repo, *r.id, github.UpdateCheckRunOptions{
				Name: r.name, Status: github.String("in_progress"), Output: output,
			}); err != nil {
				return runs, fmt.Errorf("starting check run %s (%d): %w", r.name, *r.id, err)
			}
			continue
		}
		opts := github.CreateCheckRunOptions{
			Name:      r.name,
			HeadSHA:   p.target.HeadSHA,
			Status:    github.String("in_progress"),
			StartedAt: &started,
			Output:    output,
		}
		p.setLinks(&opts.DetailsURL, &opts.ExternalID)
		cr, _, err := p.checks.CreateCheckRun(ctx, p.target.Owner, p.target.Repo, opts)
		if err != nil {
			return runs, fmt.Errorf("creating check run %s on %s: %w", r.name, p.target.HeadSHA, err)
		}
		*r.id = cr.GetID()
	}
	return runs, nil
}

// Finish completes both check runs with what the report says: per-root
// sections, conclusions, and annotations on the .tf lines (fifty per request,
// the run completing with the last batch).
//
// A run whose results GitHub refuses is still completed, as a failure that
// says why, so a required check never hangs in progress; the error is returned.
func (p *Publisher) Finish(ctx context.Context, runs Runs, r checks.Report) error {
	return errors.Join(
		p.completeOrFail(ctx, wire.CheckPlan, runs.Plan, checks.PlanCheck(r)),
		p.completeOrFail(ctx, wire.CheckPolicy, runs.Policy, checks.PolicyCheck(r)))
}

// completeOrFail completes the run with out, or, when that fails, with a
// failure explaining the error.
func (p *Publisher) completeOrFail(ctx context.Context, name string, id int64, out checks.CheckOutput) error {
	err := p.complete(ctx, name, id, out)
	if err == nil {
		return nil
	}
	if ferr := p.complete(ctx, name, id, checks.ErrorCheck(fmt.Errorf("publishing the results: %w", err))); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// Fail completes both check runs as failures explaining err, for a pipeline
// that stopped without a report. It tries both runs even if the first fails.
func (p *Publisher) Fail(ctx context.Context, runs Runs, err error) error {
	out := checks.ErrorCheck(err)
	planErr := p.complete(ctx, wire.CheckPlan, runs.Plan, out)
	policyErr := p.complete(ctx, wire.CheckPolicy, runs.Policy, out)
	if planErr != nil {
		return planErr
	}
	return policyErr
}

// complete sends out to the check run name: the annotations in batches of
// fifty, each request repeating the output (GitHub replaces it and appends
// the annotations), the last one completing the run. A run that was never
// started is created by the first request.
func (p *Publisher) complete(ctx context.Context, name string, id int64, out checks.CheckOutput) error {
	batches := checks.BatchAnnotations(out.Annotations)
	if len(batches) == 0 {
		batches = [][]checks.Annotation{nil}
	}
	for i, batch := range batches {
		output := &github.CheckRunOutput{
			Title:       github.String(out.Title),
			Summary:     github.String(out.Summary),
			Annotations: annotations(batch),
		}
		if out.Text != "" {
			output.Text = github.String(out.Text)
		}
		var status, conclusion *string
		var completed *github.Timestamp
		if i == len(batches)-1 {
			status, conclusion = github.String("completed"), github.String(out.Conclusion)
			completed = &github.Timestamp{Time: p.now()}
		}
		if id == 0 {
			opts := github.CreateCheckRunOptions{
				Name: name, HeadSHA: p.target.HeadSHA, Output: output,
				Status: status, Conclusion: conclusion, CompletedAt: completed,
			}
			if status == nil {
				opts.Status = github.String("in_progress")
			}
			p.setLinks(&opts.DetailsURL, &opts.ExternalID)
			cr, _, err := p.checks.CreateCheckRun(ctx, p.target.Owner, p.target.Repo, opts)
			if err != nil {
				return fmt.Errorf("creating check run %s on %s: %w", name, p.target.HeadSHA, err)
			}
			id = cr.GetID()
			continue
		}
		opts := github.UpdateCheckRunOptions{
			Name: name, Output: output, Status: status, Conclusion: conclusion, CompletedAt: completed,
		}
		if _, _, err := p.checks.UpdateCheckRun(ctx, p.target.Owner, p.target.Repo, id, opts); err != nil {
			return fmt.Errorf("updating check run %s (%d, request %d of %d): %w", name, id, i+1, len(batches), err)
		}
	}
	return nil
}

func (p *Publisher) setLinks(detailsURL, externalID **string) {
	if p.target.DetailsURL != "" {
		*detailsURL = github.String(p.target.DetailsURL)
	}
	if p.target.ExternalID != "" {
		*externalID = github.String(p.target.ExternalID)
	}
}

func annotations(batch []checks.Annotation) []*github.CheckRunAnnotation {
	if len(batch) == 0 {
		return nil
	}
	out := make([]*github.CheckRunAnnotation, len(batch))
	for i, a := range batch {
		out[i] = &github.CheckRunAnnotation{
			Path:            github.String(a.Path),
			StartLine:       github.Int(a.StartLine),
			EndLine:         github.Int(a.EndLine),
			AnnotationLevel: github.String(a.Level),
			Message:         github.String(a.Message),
		}
		if a.Title != "" {
			out[i].Title = github.String(a.Title)
		}
		if a.RawDetails != "" {
			out[i].RawDetails = github.String(a.RawDetails)
		}
	}
	return out
}
