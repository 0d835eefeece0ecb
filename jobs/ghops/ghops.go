// Package ghops holds the GitHub operations of the job layer, each safe to
// repeat. A step of a job may be retried after it failed half-way (a 502
// often comes after GitHub did the work), so what it creates is looked for
// before it is created again: a comment by a hidden marker, a check run by its
// external id, a workflow run by the job id in its title.
package ghops

import (
	"errors"

	"github.com/google/go-github/v62/github"
)

// Target is the pull request or issue a job or reply is about.
type Target struct {
	RepoID      int64
	Owner, Repo string
	Number      int
}

// pageSize is GitHub's largest page.
const pageSize = 100

// IsStatus reports whether err is a GitHub API error with the given status.
func IsStatus(err error, status int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == status
}
