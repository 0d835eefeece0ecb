package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/checks/review"
	"github.com/infra-agent/infra-agent/internal/wait"
)

// PullsAPI is the part of go-github's PullRequestsService the review
// publisher uses.
type PullsAPI interface {
	ListFiles(ctx context.Context, owner, repo string, number int, opts *github.ListOptions) ([]*github.CommitFile, *github.Response, error)
	ListReviews(ctx context.Context, owner, repo string, number int, opts *github.ListOptions) ([]*github.PullRequestReview, *github.Response, error)
	ListComments(ctx context.Context, owner, repo string, number int, opts *github.PullRequestListCommentsOptions) ([]*github.PullRequestComment, *github.Response, error)
	CreateReview(ctx context.Context, owner, repo string, number int, r *github.PullRequestReviewRequest) (*github.PullRequestReview, *github.Response, error)
}

// Hider hides a comment (GitHub's GraphQL minimizeComment; REST has no
// such call) with a classifier: review.Resolved or review.Outdated.
type Hider interface {
	Minimize(ctx context.Context, nodeID, classifier string) error
}

// PullRequest is the pull request a review is about.
type PullRequest struct {
	Owner, Repo string
	Number      int
	HeadSHA     string
	// Bot is the App's bot login ("<slug>[bot]"): only its reviews and
	// comments are read as earlier ones, so no one else's text can steer
	// what is hidden.
	Bot string
	// JobID marks the review, so a retry can find it.
	JobID string
}

// Reviewer reads a pull request's diff and the App's earlier reviews, and
// posts one review.
type Reviewer struct {
	pulls PullsAPI
	hider Hider
	pr    PullRequest
	// backoff is the wait before each new try of a review GitHub did not
	// take; sleep waits it out.
	backoff []time.Duration
	sleep   func(context.Context, time.Duration) error
}

// NewReviewer returns a Reviewer of pr (pulls: a *github.PullRequestsService).
func NewReviewer(pulls PullsAPI, hider Hider, pr PullRequest) *Reviewer {
	return &Reviewer{pulls: pulls, hider: hider, pr: pr,
		backoff: []time.Duration{2 * time.Second, 5 * time.Second}, sleep: wait.Sleep}
}

// perPage is GitHub's largest page.
const perPage = 100

// Diff lists the pull request's files and reads which lines of each a
// comment may go on.
func (r *Reviewer) Diff(ctx context.Context) (review.Diff, error) {
	var files []review.File
	opts := &github.ListOptions{PerPage: perPage}
	for {
		page, resp, err := r.pulls.ListFiles(ctx, r.pr.Owner, r.pr.Repo, r.pr.Number, opts)
		if err != nil {
			return review.Diff{}, fmt.Errorf("listing the files of pull request #%d: %w", r.pr.Number, err)
		}
		for _, f := range page {
			files = append(files, review.File{Path: f.GetFilename(), Status: f.GetStatus(), Patch: f.GetPatch()})
		}
		if resp.NextPage == 0 {
			return review.NewDiff(files)
		}
		opts.Page = resp.NextPage
	}
}

// Prior reads what the App said on the pull request before: its latest
// review with a state marker, and, when there is one, its review comments.
func (r *Reviewer) Prior(ctx context.Context) (review.Prior, error) {
	var prior review.Prior
	reviews, err := r.reviews(ctx)
	if err != nil {
		return prior, err
	}
	for _, rv := range reviews {
		if rv.GetUser().GetLogin() != r.pr.Bot {
			continue
		}
		if st, ok := review.ParseState(rv.GetBody()); ok {
			prior = review.Prior{ReviewID: rv.GetID(), State: st, URL: rv.GetHTMLURL()}
		}
	}
	if prior.ReviewID == 0 {
		return prior, nil
	}
	opts := &github.PullRequestListCommentsOptions{ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		page, resp, err := r.pulls.ListComments(ctx, r.pr.Owner, r.pr.Repo, r.pr.Number, opts)
		if err != nil {
			return prior, fmt.Errorf("listing the review comments of pull request #%d: %w", r.pr.Number, err)
		}
		for _, c := range page {
			if c.GetUser().GetLogin() != r.pr.Bot {
				continue
			}
			prior.Comments = append(prior.Comments, review.PriorComment{ID: c.GetID(), NodeID: c.GetNodeID(),
				ReviewID: c.GetPullRequestReviewID(), Path: c.GetPath(), Line: c.GetLine(), Body: c.GetBody(), URL: c.GetHTMLURL()})
		}
		if resp.NextPage == 0 {
			return prior, nil
		}
		opts.Page = resp.NextPage
	}
}

func (r *Reviewer) reviews(ctx context.Context) ([]*github.PullRequestReview, error) {
	var all []*github.PullRequestReview
	opts := &github.ListOptions{PerPage: perPage}
	for {
		page, resp, err := r.pulls.ListReviews(ctx, r.pr.Owner, r.pr.Repo, r.pr.Number, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the reviews of pull request #%d: %w", r.pr.Number, err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// Posted is what Post did.
type Posted struct {
	// ID and URL are the review's; the last review's when nothing changed.
	ID  int64
	URL string
	// Unchanged: the review would have repeated the last one; none was posted.
	Unchanged bool
	// Hidden and HideFailed count the earlier comments hidden, and those
	// GitHub refused to hide.
	Hidden, HideFailed int
	// Attempts counts the requests that created the review.
	Attempts int
}

// Post hides the earlier comments the review says to, then creates the
// review: one request, event COMMENT whatever the review says, on the
// job's head commit. A failure GitHub may have applied (5xx, no answer) is
// looked up among the pull request's reviews before the review is sent
// again, so it is never posted twice.
func (r *Reviewer) Post(ctx context.Context, rv *review.Review, prior review.Prior) (Posted, error) {
	if rv.Unchanged() {
		return Posted{ID: prior.ReviewID, URL: prior.URL, Unchanged: true}, nil
	}
	var out Posted
	for _, h := range rv.Hide {
		if err := r.hider.Minimize(ctx, h.Comment.NodeID, h.Reason); err != nil {
			out.HideFailed++
			continue
		}
		out.Hidden++
	}
	req := &github.PullRequestReviewRequest{
		CommitID: github.String(r.pr.HeadSHA),
		Body:     github.String(rv.Body(out.HideFailed)),
		Event:    github.String(review.Event),
	}
	for _, c := range rv.Comments {
		dc := &github.DraftReviewComment{Path: github.String(c.Path), Body: github.String(c.Body),
			Line: github.Int(c.Line), Side: github.String("RIGHT")}
		if c.StartLine > 0 {
			dc.StartLine, dc.StartSide = github.Int(c.StartLine), github.String("RIGHT")
		}
		req.Comments = append(req.Comments, dc)
	}
	for attempt := 0; ; attempt++ {
		out.Attempts++
		created, resp, err := r.pulls.CreateReview(ctx, r.pr.Owner, r.pr.Repo, r.pr.Number, req)
		if err == nil {
			out.ID, out.URL = created.GetID(), created.GetHTMLURL()
			return out, nil
		}
		if !uncertain(resp, err) || attempt >= len(r.backoff) {
			return out, fmt.Errorf("posting the review of pull request #%d: %w", r.pr.Number, err)
		}
		found, lookErr := r.find(ctx)
		if lookErr != nil {
			// Without a look, a retry could post the review twice.
			return out, fmt.Errorf("posting the review of pull request #%d: %w (and looking for it: %v)", r.pr.Number, err, lookErr)
		}
		if found != nil {
			out.ID, out.URL = found.GetID(), found.GetHTMLURL()
			return out, nil
		}
		if err := r.sleep(ctx, r.backoff[attempt]); err != nil {
			return out, err
		}
	}
}

// find looks for this job's review of this commit among the pull
// request's reviews.
func (r *Reviewer) find(ctx context.Context) (*github.PullRequestReview, error) {
	reviews, err := r.reviews(ctx)
	if err != nil {
		return nil, err
	}
	for _, rv := range reviews {
		if st, ok := review.ParseState(rv.GetBody()); ok && rv.GetUser().GetLogin() == r.pr.Bot &&
			st.JobID == r.pr.JobID && st.HeadSHA == r.pr.HeadSHA {
			return rv, nil
		}
	}
	return nil, nil
}

// uncertain reports whether a failed write may have been applied: GitHub
// answered 5xx, or nothing at all. A 4xx says it was refused.
func uncertain(resp *github.Response, err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if resp != nil && resp.Response != nil {
		return resp.StatusCode >= http.StatusInternalServerError
	}
	return true
}
