package writeback

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/google/go-github/v62/github"
)

// Target is the branch a commit goes to and the commit it must still point
// at: the head the job worked on, the new commit's parent.
type Target struct {
	Branch string
	Parent string
}

// Push commits the change on top of t.Parent and moves t.Branch to it, only
// as a fast-forward from t.Parent. When the branch moved (or was deleted)
// while the job ran, nothing is pushed and the error is a *MovedError.
func (c *Client) Push(ctx context.Context, t Target, ch Change) (Commit, error) {
	if err := ch.check(); err != nil {
		return Commit{}, err
	}
	if t.Branch == "" || t.Parent == "" {
		return Commit{}, fmt.Errorf("pushing: no branch (%q) or parent (%q)", t.Branch, t.Parent)
	}
	// The branch's head tells both whether it moved and the tree to build on.
	b, resp, err := c.Branches.GetBranch(ctx, c.Owner, c.Repo, t.Branch, 0)
	switch {
	case status(resp, err) == http.StatusNotFound:
		return Commit{}, &MovedError{Branch: t.Branch, Expected: t.Parent}
	case err != nil:
		return Commit{}, fmt.Errorf("reading branch %s: %w", t.Branch, err)
	case b.GetCommit().GetSHA() != t.Parent:
		return Commit{}, &MovedError{Branch: t.Branch, Expected: t.Parent, Actual: b.GetCommit().GetSHA()}
	}
	commit, err := c.commit(ctx, b.GetCommit().GetCommit().GetTree().GetSHA(), t.Parent, ch)
	if err != nil {
		return Commit{}, err
	}
	if err := c.fastForward(ctx, t, commit.SHA); err != nil {
		return Commit{}, err
	}
	return commit, nil
}

// fastForward moves the branch from t.Parent to sha, never by force. A
// refusal or an uncertain answer is checked against the branch itself: at
// sha, an earlier attempt was applied; at t.Parent after an uncertain
// answer, it is tried again; anywhere else, the branch moved.
func (c *Client) fastForward(ctx context.Context, t Target, sha string) error {
	ref := &github.Reference{Ref: github.String("refs/heads/" + t.Branch), Object: &github.GitObject{SHA: github.String(sha)}}
	var last error
	for range c.attempts() {
		_, resp, err := c.Git.UpdateRef(ctx, c.Owner, c.Repo, ref, false)
		if err == nil {
			return nil
		}
		last = err
		if status(resp, err) != http.StatusUnprocessableEntity && !uncertain(resp, err) {
			return fmt.Errorf("updating branch %s: %w", t.Branch, err)
		}
		now, found, lerr := c.branchHead(ctx, t.Branch)
		switch {
		case lerr != nil:
			return fmt.Errorf("updating branch %s: %w (and reading it back: %v)", t.Branch, err, lerr)
		case now == sha:
			return nil
		case !found:
			return &MovedError{Branch: t.Branch, Expected: t.Parent}
		case now != t.Parent:
			return &MovedError{Branch: t.Branch, Expected: t.Parent, Actual: now}
		case !uncertain(resp, err):
			// Refused although the branch is where it was: not a move.
			return fmt.Errorf("updating branch %s: %w", t.Branch, err)
		}
	}
	return fmt.Errorf("updating branch %s: %d attempts: %w", t.Branch, c.attempts(), last)
}

// branchHead reads where a branch points now.
func (c *Client) branchHead(ctx context.Context, branch string) (sha string, found bool, err error) {
	ref, resp, err := c.Git.GetRef(ctx, c.Owner, c.Repo, "heads/"+branch)
	if status(resp, err) == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading branch %s: %w", branch, err)
	}
	return ref.GetObject().GetSHA(), true, nil
}

// commit writes the change's binary files as blobs, a tree on baseTree with
// the text files' content inline, and a commit whose parent is parent. Blobs
// and trees are content-addressed, so trying them again is harmless; a
// commit created twice leaves an unreferenced object, never a second commit
// on a branch.
func (c *Client) commit(ctx context.Context, baseTree, parent string, ch Change) (Commit, error) {
	entries := make([]*github.TreeEntry, 0, len(ch.Files))
	for _, f := range ch.Files {
		mode := "100644"
		if f.Executable {
			mode = "100755"
		}
		e := &github.TreeEntry{Path: github.String(f.Path), Mode: github.String(mode), Type: github.String("blob")}
		switch {
		case f.Deleted:
		case inlineText(f.Content):
			// GitHub writes the blob of a tree entry's content itself: one
			// request fewer per file than a blob of its own.
			e.Content = github.String(string(f.Content))
		default:
			sha, err := c.blob(ctx, f)
			if err != nil {
				return Commit{}, err
			}
			e.SHA = github.String(sha)
		}
		entries = append(entries, e)
	}
	var tree *github.Tree
	err := c.retry(ctx, "creating the tree", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		tree, resp, err = c.Git.CreateTree(ctx, c.Owner, c.Repo, baseTree, entries)
		return resp, err
	})
	if err != nil {
		return Commit{}, err
	}
	// No author or committer: the commit is the App's, and GitHub signs it.
	in := &github.Commit{Message: github.String(ch.Message), Tree: &github.Tree{SHA: tree.SHA},
		Parents: []*github.Commit{{SHA: github.String(parent)}}}
	var out *github.Commit
	err = c.retry(ctx, "creating the commit", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		out, resp, err = c.Git.CreateCommit(ctx, c.Owner, c.Repo, in, nil)
		return resp, err
	})
	if err != nil {
		return Commit{}, err
	}
	return Commit{SHA: out.GetSHA(), URL: out.GetHTMLURL()}, nil
}

// maxInline bounds the content sent inside a tree request: larger files go
// as blobs of their own, so one request never carries several large files.
const maxInline = 256 << 10

// inlineText reports whether content can travel as a tree entry's content:
// a JSON string, so only valid UTF-8 (anything else would be altered on the
// way) and no NUL byte (binary, which goes base64-encoded as a blob).
func inlineText(content []byte) bool {
	return len(content) <= maxInline && utf8.Valid(content) && !bytes.ContainsRune(content, 0)
}

func (c *Client) blob(ctx context.Context, f File) (string, error) {
	in := &github.Blob{Content: github.String(base64.StdEncoding.EncodeToString(f.Content)), Encoding: github.String("base64")}
	var out *github.Blob
	err := c.retry(ctx, "creating the blob of "+f.Path, func() (*github.Response, error) {
		var resp *github.Response
		var err error
		out, resp, err = c.Git.CreateBlob(ctx, c.Owner, c.Repo, in)
		return resp, err
	})
	return out.GetSHA(), err
}

// retry repeats an idempotent write whose outcome was uncertain.
func (c *Client) retry(ctx context.Context, what string, do func() (*github.Response, error)) error {
	var err error
	for range c.attempts() {
		var resp *github.Response
		if resp, err = do(); err == nil || !uncertain(resp, err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
