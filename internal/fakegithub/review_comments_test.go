package fakegithub_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

// TestReviewCommentsAreOneModel: a comment made through a review takes a reaction and a reply like a seeded one;
// the reply is in the thread, on its line, a review of its own; after a push both are outdated together.
func TestReviewCommentsAreOneModel(t *testing.T) {
	s, gh := reviewWorld(t)
	ctx := context.Background()
	rv, _, err := gh.PullRequests.CreateReview(ctx, owner, repoName, 3, &github.PullRequestReviewRequest{
		Event: github.String("COMMENT"), Body: github.String("b"),
		Comments: []*github.DraftReviewComment{{Path: github.String("main.tf"), Line: github.Int(2), Body: github.String("on b")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	first := s.ReviewComments(owner, repoName, 3)[0].ID
	if _, _, err := gh.Reactions.CreatePullRequestCommentReaction(ctx, owner, repoName, first, "eyes"); err != nil {
		t.Fatal(err)
	}
	req, err := gh.NewRequest("POST", fmt.Sprintf("repos/%s/%s/pulls/3/comments/%d/replies", owner, repoName, first),
		map[string]string{"body": "fixed"})
	if err != nil {
		t.Fatal(err)
	}
	reply := new(github.PullRequestComment)
	if _, err := gh.Do(ctx, req, reply); err != nil {
		t.Fatal(err)
	}
	if reply.GetInReplyTo() != first || reply.GetLine() != 2 || reply.GetPullRequestReviewID() == rv.GetID() ||
		reply.GetDiffHunk() != "@@ -1,5 +1,5 @@\n a = 1\n-b = 2\n+b = 22" {
		t.Errorf("reply = %+v", reply)
	}
	if got := s.Reactions(owner, repoName, first); len(got) != 1 || got[0] != "eyes" {
		t.Errorf("reactions = %q", got)
	}
	if got := s.Reviews(owner, repoName, 3); len(got) != 2 || got[1].ID != reply.GetPullRequestReviewID() || got[1].Body != "" {
		t.Errorf("reviews = %+v, want the reply's own", got)
	}

	s.SetFile(owner, repoName, secondSH, "main.tf", []byte(headTF+"k = 11\n"))
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 3, Title: "t", User: "octocat", HeadRef: "topic",
		HeadSHA: secondSH, Files: []string{"main.tf"}})
	comments, _, err := gh.PullRequests.ListComments(ctx, owner, repoName, 3, nil)
	if err != nil || len(comments) != 2 || comments[0].Line != nil || comments[1].Line != nil || comments[1].GetOriginalLine() != 2 {
		t.Errorf("after a push: %+v, %v", comments, err)
	}
}
