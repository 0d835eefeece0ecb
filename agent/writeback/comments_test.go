package writeback_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

func TestCommentEditAndReply(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c, err := w.client.Comment(ctx, 1, "working on it")
	if err != nil {
		t.Fatal(err)
	}
	w.fake.FailNext("PATCH", "/issues/comments/", 1, http.StatusBadGateway, nil)
	if err := w.client.EditComment(ctx, c.ID, "done"); err != nil {
		t.Fatal(err)
	}
	if got := w.fake.Comments(owner, repoName, 1); len(got) != 1 || got[0].Body != "done" {
		t.Errorf("comments = %+v, want one, edited", got)
	}
	thread := w.fake.AddReviewComment(owner, repoName, 1, fakegithub.ReviewComment{User: "octocat", Body: "/agent fix", Path: "main.tf", Line: 1, CommitID: head})
	r, err := w.client.Reply(ctx, 1, thread, "```suggestion\ngood\n```")
	if err != nil {
		t.Fatal(err)
	}
	got := w.fake.ReviewComments(owner, repoName, 1)
	if len(got) != 2 || got[1].ID != r.ID || got[1].InReplyTo != thread || got[1].Body != "```suggestion\ngood\n```" {
		t.Errorf("review comments = %+v", got)
	}
}
