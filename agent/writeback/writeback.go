// Package writeback puts an agent's change on GitHub with the job's scoped
// token: a commit on a pull request's branch through the Git Data API (a
// tree with the text files inline and blobs for binary ones, commit, then a
// fast-forward-only ref update whose parent is the commit the job worked
// on), or a new branch and a pull request for a
// remediation; and it reads how the target branch is protected, so the
// caller can fall back to suggestions where nothing would stop an
// unreviewed merge.
//
// It never force-pushes and never leaves half-done work behind: a branch
// whose pull request cannot be opened is deleted. A write GitHub may have
// applied before it failed (a 5xx, a dropped connection) is looked up before
// it is tried again, so a retry never makes a second commit, branch or pull
// request.
package writeback

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"
)

// GitAPI is the part of the Git Data API the write-back uses (go-github's
// GitService).
type GitAPI interface {
	CreateBlob(ctx context.Context, owner, repo string, blob *github.Blob) (*github.Blob, *github.Response, error)
	CreateTree(ctx context.Context, owner, repo, baseTree string, entries []*github.TreeEntry) (*github.Tree, *github.Response, error)
	CreateCommit(ctx context.Context, owner, repo string, commit *github.Commit, opts *github.CreateCommitOptions) (*github.Commit, *github.Response, error)
	GetCommit(ctx context.Context, owner, repo, sha string) (*github.Commit, *github.Response, error)
	GetRef(ctx context.Context, owner, repo, ref string) (*github.Reference, *github.Response, error)
	CreateRef(ctx context.Context, owner, repo string, ref *github.Reference) (*github.Reference, *github.Response, error)
	UpdateRef(ctx context.Context, owner, repo string, ref *github.Reference, force bool) (*github.Reference, *github.Response, error)
	DeleteRef(ctx context.Context, owner, repo, ref string) (*github.Response, error)
}

// BranchAPI reads a branch (go-github's RepositoriesService).
type BranchAPI interface {
	GetBranch(ctx context.Context, owner, repo, branch string, maxRedirects int) (*github.Branch, *github.Response, error)
}

// PullsAPI opens and finds pull requests (go-github's PullRequestsService).
type PullsAPI interface {
	Create(ctx context.Context, owner, repo string, pull *github.NewPullRequest) (*github.PullRequest, *github.Response, error)
	List(ctx context.Context, owner, repo string, opts *github.PullRequestListOptions) ([]*github.PullRequest, *github.Response, error)
}

// IssuesAPI comments on issues and pull requests (go-github's IssuesService).
type IssuesAPI interface {
	CreateComment(ctx context.Context, owner, repo string, number int, comment *github.IssueComment) (*github.IssueComment, *github.Response, error)
	EditComment(ctx context.Context, owner, repo string, id int64, comment *github.IssueComment) (*github.IssueComment, *github.Response, error)
}

// Requester sends requests go-github has no method for, or decodes wrongly
// (review thread replies, branch rules).
type Requester interface {
	NewRequest(method, urlStr string, body any, opts ...github.RequestOption) (*http.Request, error)
	Do(ctx context.Context, req *http.Request, v any) (*github.Response, error)
}

// Client writes to one repository.
type Client struct {
	Owner, Repo string

	Git      GitAPI
	Branches BranchAPI
	Pulls    PullsAPI
	Issues   IssuesAPI
	Raw      Requester

	// Attempts bounds the tries of a write whose outcome was uncertain
	// (default 3).
	Attempts int
}

// New returns a Client for owner/repo over a go-github client authenticated
// with the job's token.
func New(gh *github.Client, owner, repo string) *Client {
	return &Client{Owner: owner, Repo: repo, Git: gh.Git, Branches: gh.Repositories, Pulls: gh.PullRequests,
		Issues: gh.Issues, Raw: gh}
}

func (c *Client) attempts() int {
	if c.Attempts > 0 {
		return c.Attempts
	}
	return 3
}

// File is one changed file of a change.
type File struct {
	// Path is slash-separated and relative to the repository's root.
	Path    string
	Content []byte
	// Deleted removes the file; Content is ignored.
	Deleted bool
	// Executable keeps a file's executable bit.
	Executable bool
}

// Change is what to commit.
type Change struct {
	Files   []File
	Message string
}

func (ch Change) check() error {
	if len(ch.Files) == 0 {
		return errors.New("the change has no files")
	}
	if ch.Message == "" {
		return errors.New("the change has no commit message")
	}
	seen := map[string]bool{}
	for _, f := range ch.Files {
		if f.Path == "" || f.Path[0] == '/' || seen[f.Path] {
			return fmt.Errorf("the change's file %q is empty, absolute or listed twice", f.Path)
		}
		seen[f.Path] = true
	}
	return nil
}

// Commit is a commit the write-back made.
type Commit struct {
	SHA string
	URL string // the commit's page on GitHub
}

// MovedError says the branch no longer points at the commit the job worked
// on: someone pushed (or force-pushed) meanwhile, so nothing was pushed.
type MovedError struct {
	Branch   string
	Expected string
	// Actual is where the branch is now; empty when it was deleted.
	Actual string
}

func (e *MovedError) Error() string {
	if e.Actual == "" {
		return fmt.Sprintf("branch %s was deleted while the job ran (it was at %s); nothing was pushed", e.Branch, short(e.Expected))
	}
	return fmt.Sprintf("branch %s moved from %s to %s while the job ran; nothing was pushed", e.Branch, short(e.Expected), short(e.Actual))
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// status is the HTTP status GitHub answered err with, 0 when it did not
// answer (a connection error).
func status(resp *github.Response, err error) int {
	if resp != nil && resp.Response != nil {
		return resp.StatusCode
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// uncertain reports whether a failed write may have been applied: GitHub
// answered 5xx, or did not answer at all. Rate limits and other 4xx say the
// request was refused.
func uncertain(resp *github.Response, err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	s := status(resp, err)
	return s == 0 || s >= 500
}

// retryable reports whether a failed call was refused for now (a rate limit)
// rather than for good.
func retryable(resp *github.Response, err error) bool {
	var rl *github.RateLimitError
	var arl *github.AbuseRateLimitError
	return errors.As(err, &rl) || errors.As(err, &arl) || status(resp, err) == http.StatusTooManyRequests
}
