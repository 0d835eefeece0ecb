package writeback

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
)

// NewBranch is a branch the write-back creates for a pull request: Name, at
// a commit on top of Parent, to be merged into Base.
type NewBranch struct {
	Name   string
	Parent string
	Base   string
}

// PullRequestText is what a pull request says.
type PullRequestText struct {
	Title, Body string
	Draft       bool
}

// PullRequest is a pull request the write-back opened.
type PullRequest struct {
	Number int
	URL    string
	Branch string
	Commit Commit
}

// ErrBranchExists says the branch to create exists at another commit: it is
// left alone.
var ErrBranchExists = errors.New("the branch exists at another commit")

// OpenPullRequest commits the change on top of nb.Parent on a new branch and
// opens a pull request from it into nb.Base. When the pull request cannot be
// opened, the branch is deleted: no branch without a pull request is left
// behind.
func (c *Client) OpenPullRequest(ctx context.Context, nb NewBranch, ch Change, text PullRequestText) (PullRequest, error) {
	if err := ch.check(); err != nil {
		return PullRequest{}, err
	}
	if nb.Name == "" || nb.Parent == "" || nb.Base == "" || nb.Name == nb.Base {
		return PullRequest{}, fmt.Errorf("opening a pull request: branch %q from %q into %q", nb.Name, nb.Parent, nb.Base)
	}
	parent, _, err := c.Git.GetCommit(ctx, c.Owner, c.Repo, nb.Parent)
	if err != nil {
		return PullRequest{}, fmt.Errorf("reading commit %s: %w", short(nb.Parent), err)
	}
	commit, err := c.commit(ctx, parent.GetTree().GetSHA(), nb.Parent, ch)
	if err != nil {
		return PullRequest{}, err
	}
	if err := c.createBranch(ctx, nb.Name, commit.SHA); err != nil {
		return PullRequest{}, err
	}
	pr, err := c.createPull(ctx, nb, text)
	if err != nil {
		// The branch is ours (it was just made for this job): without a pull
		// request it would be a change nobody reviews.
		if derr := c.deleteBranch(context.WithoutCancel(ctx), nb.Name); derr != nil {
			return PullRequest{}, fmt.Errorf("%w; deleting branch %s also failed: %v", err, nb.Name, derr)
		}
		return PullRequest{}, fmt.Errorf("%w; branch %s was deleted", err, nb.Name)
	}
	return PullRequest{Number: pr.GetNumber(), URL: pr.GetHTMLURL(), Branch: nb.Name, Commit: commit}, nil
}

// createBranch creates the branch at sha. A refusal or an uncertain answer
// is checked against the branch: at sha, an earlier attempt was applied.
func (c *Client) createBranch(ctx context.Context, name, sha string) error {
	ref := &github.Reference{Ref: github.String("refs/heads/" + name), Object: &github.GitObject{SHA: github.String(sha)}}
	var last error
	for range c.attempts() {
		_, resp, err := c.Git.CreateRef(ctx, c.Owner, c.Repo, ref)
		if err == nil {
			return nil
		}
		last = err
		if status(resp, err) != http.StatusUnprocessableEntity && !uncertain(resp, err) {
			return fmt.Errorf("creating branch %s: %w", name, err)
		}
		now, found, lerr := c.branchHead(ctx, name)
		switch {
		case lerr != nil:
			return fmt.Errorf("creating branch %s: %w (and reading it back: %v)", name, err, lerr)
		case now == sha:
			return nil
		case found:
			return fmt.Errorf("creating branch %s: %w (%s)", name, ErrBranchExists, short(now))
		case !uncertain(resp, err):
			return fmt.Errorf("creating branch %s: %w", name, err)
		}
	}
	return fmt.Errorf("creating branch %s: %d attempts: %w", name, c.attempts(), last)
}

// createPull opens the pull request. A refusal saying one exists, or an
// uncertain answer, is checked against the open pull requests of the branch.
func (c *Client) createPull(ctx context.Context, nb NewBranch, text PullRequestText) (*github.PullRequest, error) {
	in := &github.NewPullRequest{Title: github.String(text.Title), Head: github.String(nb.Name), Base: github.String(nb.Base),
		Body: github.String(text.Body), Draft: github.Bool(text.Draft), MaintainerCanModify: github.Bool(true)}
	var last error
	for range c.attempts() {
		pr, resp, err := c.Pulls.Create(ctx, c.Owner, c.Repo, in)
		if err == nil {
			return pr, nil
		}
		last = err
		exists := status(resp, err) == http.StatusUnprocessableEntity && strings.Contains(err.Error(), "already exists")
		if !exists && !uncertain(resp, err) {
			return nil, fmt.Errorf("opening the pull request: %w", err)
		}
		open, _, lerr := c.Pulls.List(ctx, c.Owner, c.Repo, &github.PullRequestListOptions{
			State: "open", Head: c.Owner + ":" + nb.Name, Base: nb.Base,
		})
		if lerr != nil {
			return nil, fmt.Errorf("opening the pull request: %w (and looking for it: %v)", err, lerr)
		}
		if len(open) > 0 {
			return open[0], nil
		}
	}
	return nil, fmt.Errorf("opening the pull request: %d attempts: %w", c.attempts(), last)
}

// deleteBranch deletes a branch, and is done when it is gone.
func (c *Client) deleteBranch(ctx context.Context, name string) error {
	var last error
	for range c.attempts() {
		resp, err := c.Git.DeleteRef(ctx, c.Owner, c.Repo, "heads/"+name)
		if err == nil {
			return nil
		}
		last = err
		_, found, lerr := c.branchHead(ctx, name)
		if lerr == nil && !found {
			return nil
		}
		if !uncertain(resp, err) {
			break
		}
	}
	return last
}
