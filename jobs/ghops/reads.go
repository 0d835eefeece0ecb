package ghops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/config"
)

// MaxPullFiles is GitHub's cap on the files the pull request files API lists.
const MaxPullFiles = 3000

// PullRequest is what the job layer needs to know about a pull request.
type PullRequest struct {
	HeadSHA, HeadRef, HeadRepo, BaseRef string
	Fork, Closed                        bool
}

// GetPullRequest reads a pull request's head, base and fork facts.
func GetPullRequest(ctx context.Context, client *github.Client, owner, repo string, number int) (PullRequest, error) {
	pr, _, err := client.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return PullRequest{}, fmt.Errorf("getting pull request %s/%s#%d: %w", owner, repo, number, err)
	}
	head := pr.GetHead()
	headRepo := head.GetRepo().GetFullName()
	return PullRequest{
		HeadSHA:  head.GetSHA(),
		HeadRef:  head.GetRef(),
		HeadRepo: headRepo,
		BaseRef:  pr.GetBase().GetRef(),
		// A deleted fork has no head repository: still not this repository.
		Fork:   !strings.EqualFold(headRepo, owner+"/"+repo),
		Closed: pr.GetState() != "open",
	}, nil
}

// ScanPullFiles calls visit with each file a pull request changes (and its
// previous name when it was renamed), page by page, until visit returns
// false. It reports whether the list was cut at GitHub's cap.
func ScanPullFiles(ctx context.Context, client *github.Client, owner, repo string, number int, visit func(name, previous string) bool) (bool, error) {
	opts := &github.ListOptions{PerPage: pageSize}
	seen := 0
	for {
		files, resp, err := client.PullRequests.ListFiles(ctx, owner, repo, number, opts)
		if err != nil {
			return false, fmt.Errorf("listing files of %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, f := range files {
			if !visit(f.GetFilename(), f.GetPreviousFilename()) {
				return false, nil
			}
		}
		seen += len(files)
		if resp.NextPage == 0 {
			return seen >= MaxPullFiles, nil
		}
		opts.Page = resp.NextPage
	}
}

// permissionLevel is the collaborator permission response, with the
// role_name field go-github v62 lacks: only it tells triage and maintain from
// read and write.
type permissionLevel struct {
	Permission string `json:"permission"`
	RoleName   string `json:"role_name"`
}

// Permission returns login's permission on the repository. A user who is not
// a collaborator (404) has none.
func Permission(ctx context.Context, client *github.Client, owner, repo, login string) (config.Permission, error) {
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(login))
	req, err := client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("building permission request: %w", err)
	}
	var p permissionLevel
	if _, err := client.Do(ctx, req, &p); err != nil {
		if IsStatus(err, http.StatusNotFound) {
			return config.PermissionNone, nil
		}
		return "", fmt.Errorf("getting %s's permission on %s/%s: %w", login, owner, repo, err)
	}
	// role_name is a custom role's name for custom roles; permission is then
	// the base level it maps to.
	for _, level := range []string{p.RoleName, p.Permission} {
		switch perm := config.Permission(level); perm {
		case config.PermissionRead, config.PermissionTriage, config.PermissionWrite,
			config.PermissionMaintain, config.PermissionAdmin, config.PermissionNone:
			return perm, nil
		}
	}
	return config.PermissionNone, nil
}

// BranchHead returns the commit a branch points at.
func BranchHead(ctx context.Context, client *github.Client, owner, repo, branch string) (string, error) {
	b, _, err := client.Repositories.GetBranch(ctx, owner, repo, branch, 1)
	if err != nil {
		return "", fmt.Errorf("getting branch %s of %s/%s: %w", branch, owner, repo, err)
	}
	return b.GetCommit().GetSHA(), nil
}

// BranchProtected reports whether pushes to a branch are restricted, by
// branch protection or by a repository ruleset, and says which. It asks with
// the least permission that answers: the branch's "protected" flag (contents
// read, which reading the configuration needs anyway; the protection's
// details would need administration) and the rules that apply to the branch
// (metadata read). Rulesets do not show in the flag.
func BranchProtected(ctx context.Context, client *github.Client, owner, repo, branch string) (bool, string, error) {
	b, _, err := client.Repositories.GetBranch(ctx, owner, repo, branch, 1)
	switch {
	case IsStatus(err, http.StatusNotFound):
		return false, "", nil // deleted: nothing to push to
	case err != nil:
		return false, "", fmt.Errorf("getting branch %s of %s/%s: %w", branch, owner, repo, err)
	case b.GetProtected():
		return true, "branch protection", nil
	}
	// Only the rules' types are read: go-github's rule decoder panics on
	// rules that come without the parameters it expects.
	u := fmt.Sprintf("repos/%s/%s/rules/branches/%s", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(branch))
	req, err := client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return false, "", fmt.Errorf("building the branch rules request: %w", err)
	}
	var rules []struct {
		Type string `json:"type"`
	}
	if _, err := client.Do(ctx, req, &rules); err != nil {
		return false, "", fmt.Errorf("getting the rules of branch %s of %s/%s: %w", branch, owner, repo, err)
	}
	if len(rules) > 0 {
		return true, "a repository ruleset (" + rules[0].Type + ")", nil
	}
	return false, "", nil
}
