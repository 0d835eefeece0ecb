package writeback

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/go-github/v62/github"
)

// Comment is a comment the write-back posted.
type Comment struct {
	ID  int64
	URL string
}

// Comment posts a comment on an issue or pull request. It is not tried again
// after an uncertain answer: a comment posted twice is noise, one missing is
// covered by the job's check run, which says the same.
func (c *Client) Comment(ctx context.Context, number int, body string) (Comment, error) {
	out, _, err := c.Issues.CreateComment(ctx, c.Owner, c.Repo, number, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return Comment{}, fmt.Errorf("commenting on #%d: %w", number, err)
	}
	return Comment{ID: out.GetID(), URL: out.GetHTMLURL()}, nil
}

// EditComment replaces the body of one of the App's comments; an edit is
// idempotent, so an uncertain answer is tried again.
func (c *Client) EditComment(ctx context.Context, id int64, body string) error {
	return c.retry(ctx, fmt.Sprintf("editing comment %d", id), func() (*github.Response, error) {
		_, resp, err := c.Issues.EditComment(ctx, c.Owner, c.Repo, id, &github.IssueComment{Body: github.String(body)})
		return resp, err
	})
}

// Reply answers in the thread of a review comment on a pull request's diff
// (GitHub threads replies under the thread's first comment).
func (c *Client) Reply(ctx context.Context, number int, threadID int64, body string) (Comment, error) {
	u := fmt.Sprintf("repos/%s/%s/pulls/%d/comments/%d/replies", url.PathEscape(c.Owner), url.PathEscape(c.Repo), number, threadID)
	req, err := c.Raw.NewRequest(http.MethodPost, u, map[string]string{"body": body})
	if err != nil {
		return Comment{}, fmt.Errorf("replying to review comment %d: %w", threadID, err)
	}
	var out github.PullRequestComment
	if _, err := c.Raw.Do(ctx, req, &out); err != nil {
		return Comment{}, fmt.Errorf("replying to review comment %d: %w", threadID, err)
	}
	return Comment{ID: out.GetID(), URL: out.GetHTMLURL()}, nil
}
