package fakegithub_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
	ghv88 "github.com/google/go-github/v88/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

const (
	baseTF = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\nh = 8\ni = 9\nj = 10\n"
	// headTF changes line 2 and adds a line after line 9: two hunks.
	headTF   = "a = 1\nb = 22\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\nh = 8\ni = 9\ni2 = 9.5\nj = 10\n"
	secondSH = "2222222222222222222222222222222222222222"
)

// reviewWorld seeds a pull request whose main.tf differs from the base in two hunks.
func reviewWorld(t *testing.T) (*fakegithub.Server, *github.Client) {
	t.Helper()
	s := seeded(t)
	s.SetFile(owner, repoName, "main", "main.tf", []byte(baseTF))
	s.SetFile(owner, repoName, headSHA, "main.tf", []byte(headTF))
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 3, Title: "t", User: "octocat", HeadRef: "topic",
		HeadSHA: headSHA, Files: []string{"main.tf"}})
	return s, s.Client(t, installationID)
}

func TestPullFilesPatch(t *testing.T) {
	_, gh := reviewWorld(t)
	files, _, err := gh.PullRequests.ListFiles(context.Background(), owner, repoName, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "@@ -1,5 +1,5 @@\n a = 1\n-b = 2\n+b = 22\n c = 3\n d = 4\n e = 5\n" +
		"@@ -7,4 +7,5 @@\n g = 7\n h = 8\n i = 9\n+i2 = 9.5\n j = 10"
	if len(files) != 1 || files[0].GetPatch() != want || files[0].GetAdditions() != 2 || files[0].GetDeletions() != 1 {
		t.Errorf("files = %+v\npatch:\n%s\nwant:\n%s", files, files[0].GetPatch(), want)
	}
}

func TestCreateReview(t *testing.T) {
	s, gh := reviewWorld(t)
	ctx := context.Background()
	rv, _, err := gh.PullRequests.CreateReview(ctx, owner, repoName, 3, &github.PullRequestReviewRequest{
		CommitID: github.String(headSHA), Event: github.String("COMMENT"), Body: github.String("the body"),
		Comments: []*github.DraftReviewComment{
			{Path: github.String("main.tf"), Line: github.Int(2), Side: github.String("RIGHT"), Body: github.String("on b")},
			{Path: github.String("main.tf"), StartLine: github.Int(9), Line: github.Int(10), Side: github.String("RIGHT"),
				Body: github.String("```suggestion\ni = 9\ni2 = 9.5\n```")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rv.GetState() != "COMMENTED" || rv.GetUser().GetLogin() != "infra-agent[bot]" || rv.GetCommitID() != headSHA ||
		!strings.Contains(rv.GetHTMLURL(), "#pullrequestreview-") {
		t.Errorf("review = %+v", rv)
	}
	comments, _, err := gh.PullRequests.ListComments(ctx, owner, repoName, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(comments) != 2 || comments[0].GetLine() != 2 || comments[1].GetStartLine() != 9 || comments[1].GetLine() != 10 ||
		comments[0].GetPullRequestReviewID() != rv.GetID() || comments[0].GetDiffHunk() != "@@ -1,5 +1,5 @@\n a = 1\n-b = 2\n+b = 22" {
		t.Fatalf("comments = %+v", comments)
	}
	reviews, _, err := gh.PullRequests.ListReviews(ctx, owner, repoName, 3, nil)
	if err != nil || len(reviews) != 1 || reviews[0].GetBody() != "the body" {
		t.Errorf("reviews = %+v, %v", reviews, err)
	}

	// A push that changes main.tf outdates the comments: GitHub lists them without a line.
	s.SetFile(owner, repoName, secondSH, "main.tf", []byte(headTF+"k = 11\n"))
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 3, Title: "t", User: "octocat", HeadRef: "topic",
		HeadSHA: secondSH, Files: []string{"main.tf"}})
	comments, _, err = gh.PullRequests.ListComments(ctx, owner, repoName, 3, nil)
	if err != nil || len(comments) != 2 || comments[0].Line != nil || comments[0].GetOriginalLine() != 2 || comments[0].GetCommitID() != headSHA {
		t.Errorf("after a push: %+v, %v", comments, err)
	}
}

// TestCreateReviewRefusals: what GitHub refuses is refused, and nothing of a refused review is kept.
func TestCreateReviewRefusals(t *testing.T) {
	s, gh := reviewWorld(t)
	s.ExpectViolations()
	ctx := context.Background()
	line := func(start, end int, path string) *github.DraftReviewComment {
		c := &github.DraftReviewComment{Path: github.String(path), Line: github.Int(end), Body: github.String("x")}
		if start > 0 {
			c.StartLine = github.Int(start)
		}
		return c
	}
	for name, req := range map[string]*github.PullRequestReviewRequest{
		"no body":            {Event: github.String("COMMENT")},
		"line not in diff":   {Event: github.String("COMMENT"), Body: github.String("b"), Comments: []*github.DraftReviewComment{line(0, 2, "main.tf"), line(0, 12, "main.tf")}},
		"range across hunks": {Event: github.String("COMMENT"), Body: github.String("b"), Comments: []*github.DraftReviewComment{line(2, 8, "main.tf")}},
		"file not in the PR": {Event: github.String("COMMENT"), Body: github.String("b"), Comments: []*github.DraftReviewComment{line(0, 1, "other.tf")}},
		"unknown commit":     {Event: github.String("COMMENT"), Body: github.String("b"), CommitID: github.String(strings.Repeat("9", 40))},
		"body too long":      {Event: github.String("COMMENT"), Body: github.String(strings.Repeat("é", 65537))},
	} {
		_, resp, err := gh.PullRequests.CreateReview(ctx, owner, repoName, 3, req)
		if err == nil || resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %v, want 422", name, err)
		}
	}
	if rs, cs := s.Reviews(owner, repoName, 3), s.ReviewComments(owner, repoName, 3); len(rs)+len(cs) != 0 {
		t.Errorf("refused reviews left %d reviews and %d comments", len(rs), len(cs))
	}
}

// TestReviewPermissions: creating a review needs pull_requests:write.
func TestReviewPermissions(t *testing.T) {
	s, _ := reviewWorld(t)
	s.ExpectViolations()
	readOnly := mint(t, s, installationID, &ghv88.InstallationTokenOptions{
		Permissions: &ghv88.InstallationPermissions{PullRequests: ghv88.Ptr("read")}})
	resp, body := call(t, s, "POST", "/repos/acme/infra/pulls/3/reviews", "Bearer "+readOnly,
		map[string]any{"event": "COMMENT", "body": "b"}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Resource not accessible by integration") {
		t.Errorf("a read-only token: %d %s", resp.StatusCode, body)
	}
}
