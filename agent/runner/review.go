package runner

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/agent/fixes"
	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/publish"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/checks/review"
)

// review posts the pull request review of a review job, after the plan and
// policy check runs: the findings on the lines of the diff, a risk summary
// from the plans, what changed since the last review. The job's check run
// says what was posted and links to it; a review GitHub would not take
// fails the job, with the reason.
func (j *job) review(ctx context.Context, c checked, out outcome) outcome {
	j.setProgress("posting the review")
	s := j.spec
	// GraphQL goes through the REST client's transport: audited, and retried as GitHub asks when refused for now.
	rv := publish.NewReviewer(j.gh.PullRequests, publish.NewGraphQLHider(j.graphQLURL(), j.gh.Client()), publish.PullRequest{
		Owner: s.Repository.Owner, Repo: s.Repository.Name, Number: s.Number, HeadSHA: s.HeadSHA,
		Bot: s.AppSlug + "[bot]", JobID: s.ID,
	})
	posted, title, summary, err := j.postReview(ctx, rv, c)
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("posting the review")
		out.conclusion, out.title = "failure", "The review could not be posted"
		out.summary = fmt.Sprintf("**Review**: not posted: %s\n\n", checks.Redact(err.Error())) + out.summary
		return out
	}
	zerolog.Ctx(ctx).Info().Int64(logKeyReview, posted.ID).Bool(logKeyUnchanged, posted.Unchanged).
		Int(logKeyHidden, posted.Hidden).Msg("review posted")
	out.title = title
	if posted.Unchanged {
		out.title = "No change since the last review"
	}
	out.summary = "**Review**: " + summary + "\n" + out.summary
	return out
}

// postReview reads the diff and the earlier reviews, builds the review and
// posts it. It returns what was posted and the check run's words for it.
func (j *job) postReview(ctx context.Context, rv *publish.Reviewer, c checked) (posted publish.Posted, title, summary string, err error) {
	s := j.spec
	diff, err := rv.Diff(ctx)
	if err != nil {
		return posted, "", "", err
	}
	prior, err := rv.Prior(ctx)
	if err != nil {
		return posted, "", "", err
	}
	if prior.State.JobID == s.ID && prior.State.HeadSHA == s.HeadSHA {
		// This job posted it already (a runner that claimed the job again).
		return publish.Posted{ID: prior.ReviewID, URL: prior.URL}, "Review posted",
			fmt.Sprintf("[the review](%s) of this job was already posted.\n", prior.URL), nil
	}
	in := review.Input{
		JobID: s.ID, HeadSHA: s.HeadSHA, Report: c.report, Diff: diff, Prior: prior,
		Risk: review.RiskOf(c.report, iamType),
	}
	j.agentReview(ctx, c, diff, &in)
	r := review.Build(in)
	if posted, err = rv.Post(ctx, r, prior); err != nil {
		return posted, "", "", err
	}
	return posted, r.Title(), r.Summary(posted.URL, posted.HideFailed), nil
}

// agentReview runs the agent's review kind on a copy of the checkout: the
// deterministic fixes (terraform fmt, the fixes the policies declare) become
// the review's suggestions, and the review model, when the job has one, may
// comment with read-only tools and its own budget. Its failure is the
// review's to report, never the job's: the deterministic review is posted
// whatever the agent did.
func (j *job) agentReview(ctx context.Context, c checked, diff review.Diff, in *review.Input) {
	client := j.reviewModel(in)
	j.setProgress("the agent's review")
	task := j.task(trigger{})
	task.Trigger.DiffSummary = diff.Summary()
	opts := j.agentOptions(ctx, c.src, c.engine, c.policyPaths, client)
	opts.Baseline = &c.report // validated and published already: not planned again
	res, err := loop.Run(ctx, task, opts)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("the agent's review")
	}
	in.Changes = suggestions(res)
	if client != nil {
		modelPart(in, client.Name(), res, err)
	}
}

// reviewModel is the review's model client, or nil with the review's note
// saying why there is none.
func (j *job) reviewModel(in *review.Input) model.Client {
	if j.spec.Fork {
		in.ModelNote = "A fork's pull request gets static checks only: no plan, no secrets, no model."
		return nil
	}
	client, err := j.modelClient()
	switch {
	case err != nil:
		in.ModelNote = "The model could not be set up: " + checks.Redact(err.Error()) + "."
	case client == nil:
		in.ModelNote = "No model is configured for reviews."
	}
	return client
}

// suggestions are the files the review's deterministic fixes changed, each
// with the fixes that changed it, for the review to offer as suggestions. A
// suggestion edits lines of a file that exists: new and deleted files are
// left out.
func suggestions(res loop.Result) []review.Change {
	var out []review.Change
	for _, f := range res.Files {
		if f.Deleted || f.Original == nil {
			continue
		}
		c := review.Change{Path: path.Clean(filepath.ToSlash(f.Path)), Before: f.Original, After: f.Content}
		for _, a := range res.Deterministic {
			if !slices.Contains(a.Files, f.Path) {
				continue
			}
			fix := review.Fix{Kind: review.FixFmt}
			if a.Kind == fixes.KindPolicy {
				fix = review.Fix{Kind: review.FixPolicy, Line: a.Finding.Line, Rule: a.Finding.RuleName(), Description: a.Description}
			}
			c.Fixes = append(c.Fixes, fix)
		}
		out = append(out, c)
	}
	return out
}

// modelPart puts the review model's outcome in the review: its comments
// (the review keeps those on lines of the diff, marked as its opinion, and
// counts the others), its name and tokens, and why its part failed. A
// review's result needs review only when the model's part did not complete:
// a call that kept failing, a budget reached.
func modelPart(in *review.Input, name string, res loop.Result, err error) {
	in.ModelName, in.ModelTokens = name, res.Tokens.Total()
	for _, c := range res.ReviewComments {
		in.Model = append(in.Model, review.ModelComment{Path: path.Clean(filepath.ToSlash(c.Path)), Line: c.Line, Body: c.Body})
	}
	why := res.NeedsReview
	if err != nil {
		why = append([]string{err.Error()}, why...)
	}
	if len(why) > 0 {
		in.ModelFailed = checks.Redact(strings.Join(why, "; "))
	}
}

// graphQLURL is the job's GraphQL API: the one the server named, else the
// one beside the REST API (GitHub Enterprise Server: /api/v3 → /api/graphql).
func (j *job) graphQLURL() string {
	if j.spec.GitHubGraphQLURL != "" {
		return j.spec.GitHubGraphQLURL
	}
	u, err := url.Parse(j.spec.GitHubAPIURL)
	if err != nil {
		return ""
	}
	if p := strings.TrimSuffix(u.Path, "/"); strings.HasSuffix(p, "/api/v3") {
		u.Path = strings.TrimSuffix(p, "/v3") + "/graphql"
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/graphql"
	}
	return u.String()
}

// iamType says which resource types manage identity and access, for the
// review's risk summary.
func iamType(t string) bool {
	for _, k := range []string{"_iam_", "_iam", "aws_iam", "_role", "_policy", "azuread_", "google_service_account"} {
		if strings.Contains(t, k) {
			return true
		}
	}
	return false
}
