package ghops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/ghclient"
	"github.com/infra-agent/infra-agent/store"
)

// ReplyStore records the replies posted (store.Store implements it).
type ReplyStore interface {
	BeginReply(ctx context.Context, r store.Reply) (store.Reply, bool, error)
	FinishReply(ctx context.Context, key string, commentID int64) error
}

// Poster posts each reply once, whatever retries happen.
type Poster struct {
	Store ReplyStore
	// Bot is the login of the App's bot user, the author of its comments.
	Bot string
	Now func() time.Time
}

// skew is how much earlier than the database's record a comment may look
// created, by GitHub's clock.
const skew = 5 * time.Minute

// inFlight is how long a reply another handler began is taken to be on its
// way: a second handler with the same reply (two failing checks of one pull
// request arriving together) stops there instead of posting it again.
const inFlight = 30 * time.Second

// ErrInFlight says another handler is posting the same reply now: try again
// later, when it is posted or its handler is gone.
var ErrInFlight = errors.New("another handler is posting this reply")

// Reply posts body on the pull request or issue unless the reply key was
// posted before. A reply an earlier attempt began, or whose POST failed
// without saying whether GitHub created it, is first looked for by its hidden
// marker among the App's comments.
func (p Poster) Reply(ctx context.Context, client *github.Client, to Target, key, body string) error {
	r, isNew, err := p.Store.BeginReply(ctx, store.Reply{Key: key, RepoID: to.RepoID, Number: to.Number, CreatedAt: p.Now()})
	if err != nil {
		return err
	}
	if !r.PostedAt.IsZero() {
		return nil
	}
	marker := checks.ReplyMarker(key)
	if !isNew && p.Now().Sub(r.CreatedAt) < inFlight {
		return fmt.Errorf("reply %s: %w", key, ErrInFlight)
	}
	if !isNew {
		if found, err := p.find(ctx, client, to, marker, r.CreatedAt.Add(-skew)); err != nil || found != 0 {
			return p.finish(ctx, key, found, err)
		}
	}
	c, _, err := client.Issues.CreateComment(ctx, to.Owner, to.Repo, to.Number, &github.IssueComment{Body: github.String(checks.Marked(body, marker))})
	if err != nil {
		if ghclient.Ambiguous(err) {
			if found, ferr := p.find(ctx, client, to, marker, r.CreatedAt.Add(-skew)); ferr == nil && found != 0 {
				return p.finish(ctx, key, found, nil)
			}
		}
		return fmt.Errorf("commenting on %s/%s#%d: %w", to.Owner, to.Repo, to.Number, err)
	}
	return p.finish(ctx, key, c.GetID(), nil)
}

func (p Poster) finish(ctx context.Context, key string, commentID int64, err error) error {
	if err != nil {
		return err
	}
	return p.Store.FinishReply(ctx, key, commentID)
}

// find returns the id of the App's comment carrying marker, created since
// since, or 0.
func (p Poster) find(ctx context.Context, client *github.Client, to Target, marker string, since time.Time) (int64, error) {
	opts := &github.IssueListCommentsOptions{Since: &since, ListOptions: github.ListOptions{PerPage: pageSize}}
	for {
		cs, resp, err := client.Issues.ListComments(ctx, to.Owner, to.Repo, to.Number, opts)
		if err != nil {
			return 0, fmt.Errorf("looking for an earlier reply on %s/%s#%d: %w", to.Owner, to.Repo, to.Number, err)
		}
		for _, c := range cs {
			// Only the App's own: anyone could paste a marker to silence a reply.
			if strings.EqualFold(c.GetUser().GetLogin(), p.Bot) && strings.Contains(c.GetBody(), marker) {
				return c.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
}
