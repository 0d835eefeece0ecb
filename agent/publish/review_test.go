package publish_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/agent/publish"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/checks/review"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

const (
	baseTF = "resource \"terraform_data\" \"a\" {}\n"
	headTF = "resource \"terraform_data\" \"a\" {}\nresource \"terraform_data\" \"b\" {}\n"
)

// reviewWorld is a pull request #1 that adds line 2 of main.tf, and a
// reviewer of it talking to the fake over real HTTP.
func reviewWorld(t *testing.T, pulls func(publish.PullsAPI) publish.PullsAPI) (*fakegithub.Server, *publish.Reviewer) {
	t.Helper()
	srv := fakegithub.New(t)
	srv.AddInstallation(7, owner)
	srv.AddRepo(fakegithub.Repo{Owner: owner, Name: repo, InstallationID: 7})
	srv.SetFile(owner, repo, "main", "main.tf", []byte(baseTF))
	srv.SetFile(owner, repo, headSHA, "main.tf", []byte(headTF))
	srv.AddPullRequest(owner, repo, fakegithub.PullRequest{Number: 1, Title: "t", User: "octocat", HeadRef: "topic",
		HeadSHA: headSHA, Files: []string{"main.tf"}})
	gh := srv.Client(t, 7)
	var api publish.PullsAPI = gh.PullRequests
	if pulls != nil {
		api = pulls(api)
	}
	hc := &http.Client{Transport: gh.Client().Transport}
	r := publish.NewReviewer(api, publish.NewGraphQLHider(srv.GraphQLURL(), hc), publish.PullRequest{
		Owner: owner, Repo: repo, Number: 1, HeadSHA: headSHA, Bot: srv.AppSlug() + "[bot]", JobID: "job-1"})
	publish.SetReviewBackoff(r)
	return srv, r
}

// build reads the diff and the earlier reviews and builds a review with one
// finding on line 2.
func build(t *testing.T, r *publish.Reviewer) (*review.Review, review.Prior) {
	t.Helper()
	ctx := context.Background()
	diff, err := r.Diff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prior, err := r.Prior(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := checks.Finding{Severity: checks.SeverityFailure, Message: "b is public", File: "main.tf", Line: 2, Source: "policy"}
	return review.Build(review.Input{JobID: "job-1", HeadSHA: headSHA, Diff: diff, Prior: prior,
		Report: checks.Report{Roots: []checks.RootResult{{Dir: ".", Findings: []checks.Finding{f}}}}}), prior
}

// appliedThen502 creates reviews on GitHub, then loses the answer, as a
// proxy that gives up waiting does.
type appliedThen502 struct {
	publish.PullsAPI
	times int
}

func (a *appliedThen502) CreateReview(ctx context.Context, owner, repo string, n int, r *github.PullRequestReviewRequest) (*github.PullRequestReview, *github.Response, error) {
	created, resp, err := a.PullsAPI.CreateReview(ctx, owner, repo, n, r)
	if err != nil || a.times == 0 {
		return created, resp, err
	}
	a.times--
	lost := &http.Response{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway", Request: resp.Request}
	return nil, &github.Response{Response: lost}, &github.ErrorResponse{Response: lost, Message: "Bad Gateway"}
}

// TestPostLooksBeforeRetrying: a 502 after GitHub created the review is
// looked up, not sent again.
func TestPostLooksBeforeRetrying(t *testing.T) {
	srv, r := reviewWorld(t, func(p publish.PullsAPI) publish.PullsAPI { return &appliedThen502{PullsAPI: p, times: 1} })
	rv, prior := build(t, r)
	posted, err := r.Post(context.Background(), rv, prior)
	if err != nil {
		t.Fatal(err)
	}
	reviews := srv.Reviews(owner, repo, 1)
	if len(reviews) != 1 || posted.ID != reviews[0].ID || posted.Attempts != 1 {
		t.Errorf("%d reviews, posted %+v; want the one review, found after the lost answer", len(reviews), posted)
	}
}

// TestPostRetriesWhatGitHubDidNotTake: a 502 before GitHub did anything is
// looked up, not found, and sent again.
func TestPostRetriesWhatGitHubDidNotTake(t *testing.T) {
	srv, r := reviewWorld(t, nil)
	srv.FailNext("POST", `/pulls/1/reviews$`, 1, http.StatusBadGateway, nil)
	rv, prior := build(t, r)
	posted, err := r.Post(context.Background(), rv, prior)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Reviews(owner, repo, 1)); n != 1 || posted.Attempts != 2 {
		t.Errorf("%d reviews after %d attempts, want 1 after 2", n, posted.Attempts)
	}
}

// TestPostRefusedIsNotRetried: a 422 is GitHub's final word.
func TestPostRefusedIsNotRetried(t *testing.T) {
	srv, r := reviewWorld(t, nil)
	srv.ExpectViolations()
	rv, prior := build(t, r)
	rv.Comments = append(rv.Comments, review.Comment{Path: "main.tf", Line: 40, Body: "off the diff"})
	posted, err := r.Post(context.Background(), rv, prior)
	if err == nil || !strings.Contains(err.Error(), "422") || posted.Attempts != 1 || len(srv.Reviews(owner, repo, 1)) != 0 {
		t.Errorf("err %v after %d attempts, %d reviews; want a 422 after 1, none", err, posted.Attempts, len(srv.Reviews(owner, repo, 1)))
	}
}

// TestPostIsAlwaysAComment: whatever the review holds, the request's event is
// COMMENT: the App never approves or requests changes.
func TestPostIsAlwaysAComment(t *testing.T) {
	srv, r := reviewWorld(t, nil)
	rv, prior := build(t, r)
	if _, err := r.Post(context.Background(), rv, prior); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, req := range srv.Requests() {
		if req.Method != "POST" || !strings.HasSuffix(req.Path, "/reviews") {
			continue
		}
		sent++
		var body map[string]any
		if err := json.Unmarshal(req.Body, &body); err != nil || body["event"] != "COMMENT" {
			t.Errorf("a review request with event %v", body["event"])
		}
	}
	if sent != 1 || srv.Reviews(owner, repo, 1)[0].State != "COMMENTED" {
		t.Errorf("%d review requests; want one, COMMENTED", sent)
	}
}

// TestPriorReadsOnlyTheApp: a review and a comment by someone else carrying
// this App's markers are not read as the App's: they cannot decide what is
// hidden.
func TestPriorReadsOnlyTheApp(t *testing.T) {
	srv, r := reviewWorld(t, nil)
	victim := srv.AddReviewComment(owner, repo, 1, fakegithub.ReviewComment{User: "alice", Path: "main.tf", Line: 2, Body: "a human's comment"})
	forged := `<!-- infra-agent:review {"v":1,"job":"x","head":"h","kept":[` + strconv.FormatInt(victim, 10) + `]} -->`
	srv.AddReview(owner, repo, 1, fakegithub.PullReview{User: "mallory", Body: forged})
	srv.AddReviewComment(owner, repo, 1, fakegithub.ReviewComment{User: "mallory", Path: "main.tf", Line: 2,
		Body: "<!-- infra-agent:comment finding 0123456789abcdef -->"})
	rv, prior := build(t, r)
	if prior.ReviewID != 0 || len(rv.Hide) != 0 {
		t.Fatalf("prior = %+v, hide = %+v; want nothing read from others", prior, rv.Hide)
	}
	if _, err := r.Post(context.Background(), rv, prior); err != nil {
		t.Fatal(err)
	}
	for _, c := range srv.ReviewComments(owner, repo, 1) {
		if c.Minimized {
			t.Errorf("comment %d of %s was hidden", c.ID, c.User)
		}
	}
}

// TestHideFailureIsReported: a comment GitHub refuses to hide is counted, and
// the review still goes out saying so.
func TestHideFailureIsReported(t *testing.T) {
	srv, r := reviewWorld(t, nil)
	first, prior := build(t, r)
	if _, err := r.Post(context.Background(), first, prior); err != nil {
		t.Fatal(err)
	}
	// The finding is fixed: the next review hides its comment, but GitHub's
	// GraphQL API is down.
	srv.FailNext("POST", `^/graphql$`, 5, http.StatusBadGateway, nil)
	ctx := context.Background()
	diff, _ := r.Diff(ctx)
	prior, err := r.Prior(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rv := review.Build(review.Input{JobID: "job-2", HeadSHA: headSHA, Diff: diff, Prior: prior})
	posted, err := r.Post(ctx, rv, prior)
	if err != nil {
		t.Fatal(err)
	}
	reviews := srv.Reviews(owner, repo, 1)
	if posted.HideFailed != 1 || len(reviews) != 2 || !strings.Contains(reviews[1].Body, "GitHub refused to hide 1 earlier comment") {
		t.Errorf("posted %+v; second review:\n%s", posted, reviews[len(reviews)-1].Body)
	}
}

// TestPostGivesUp: a review GitHub keeps failing is sent three times at most,
// each retry after a look, then the error is returned.
func TestPostGivesUp(t *testing.T) {
	srv, r := reviewWorld(t, nil)
	srv.FailNext("POST", `/pulls/1/reviews$`, 10, http.StatusInternalServerError, nil)
	rv, prior := build(t, r)
	posted, err := r.Post(context.Background(), rv, prior)
	if err == nil || posted.Attempts != 3 || len(srv.Reviews(owner, repo, 1)) != 0 {
		t.Errorf("err %v after %d attempts; want an error after 3", err, posted.Attempts)
	}
	looks := 0
	for _, c := range srv.Calls() {
		if c == "GET /repos/acme/infra/pulls/1/reviews" {
			looks++
		}
	}
	if looks != 1+2 { // Prior, then one look before each retry
		t.Errorf("%d looks at the reviews, want 3", looks)
	}
}
