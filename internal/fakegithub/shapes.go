package fakegithub

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// The JSON shapes below carry every field GitHub's description marks required for the response (the fake's tests
// validate them against it), so go-github, octokit-style clients and anything else decoding them see real shapes.

const htmlBase = "https://github.com"

type object = map[string]any

func (s *Server) apiURL(format string, args ...any) string {
	return strings.TrimSuffix(s.URL, "/") + fmt.Sprintf(format, args...)
}

func timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// stableID derives a positive id from a name, for objects a test does not number (users, forks).
func stableID(kind, name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(kind + ":" + strings.ToLower(name)))
	return int64(h.Sum64()%900_000_000) + 1_000
}

// nodeID imitates GitHub's global node ids (base64 of a type-prefixed id): cheap and unique per object.
func nodeID(kind string, id int64) string {
	return base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprintf("0%d:%s%d", len(kind), kind, id)))
}

func (s *Server) userJSON(login string) object {
	if login == "" {
		login = "ghost"
	}
	typ := "User"
	switch {
	case strings.HasSuffix(login, "[bot]"):
		typ = "Bot"
	case s.st.isAccount(login):
		typ = "Organization"
	}
	id := stableID("user", login)
	u := s.apiURL("/users/%s", login)
	return object{
		"login": login, "id": id, "node_id": nodeID("User", id), "type": typ, "site_admin": false,
		"avatar_url": fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id), "gravatar_id": "",
		"url": u, "html_url": htmlBase + "/" + login,
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs", "repos_url": u + "/repos",
		"events_url": u + "/events{/privacy}", "received_events_url": u + "/received_events",
		"user_view_type": "public",
	}
}

func (st *state) isAccount(login string) bool {
	for _, inst := range st.installations {
		if strings.EqualFold(inst.account, login) {
			return true
		}
	}
	return false
}

// repoURLTemplates are the hypermedia fields of a repository: field -> suffix of the repository's API URL.
func repoURLTemplates() [][2]string {
	return [][2]string{
		{"archive_url", "/{archive_format}{/ref}"}, {"assignees_url", "/assignees{/user}"},
		{"blobs_url", "/git/blobs{/sha}"}, {"branches_url", "/branches{/branch}"},
		{"collaborators_url", "/collaborators{/collaborator}"}, {"comments_url", "/comments{/number}"},
		{"commits_url", "/commits{/sha}"}, {"compare_url", "/compare/{base}...{head}"},
		{"contents_url", "/contents/{+path}"}, {"contributors_url", "/contributors"},
		{"deployments_url", "/deployments"}, {"downloads_url", "/downloads"}, {"events_url", "/events"},
		{"forks_url", "/forks"}, {"git_commits_url", "/git/commits{/sha}"}, {"git_refs_url", "/git/refs{/sha}"},
		{"git_tags_url", "/git/tags{/sha}"}, {"hooks_url", "/hooks"},
		{"issue_comment_url", "/issues/comments{/number}"}, {"issue_events_url", "/issues/events{/number}"},
		{"issues_url", "/issues{/number}"}, {"keys_url", "/keys{/key_id}"}, {"labels_url", "/labels{/name}"},
		{"languages_url", "/languages"}, {"merges_url", "/merges"}, {"milestones_url", "/milestones{/number}"},
		{"notifications_url", "/notifications{?since,all,participating}"}, {"pulls_url", "/pulls{/number}"},
		{"releases_url", "/releases{/id}"}, {"stargazers_url", "/stargazers"},
		{"statuses_url", "/statuses/{sha}"}, {"subscribers_url", "/subscribers"},
		{"subscription_url", "/subscription"}, {"tags_url", "/tags"}, {"teams_url", "/teams"},
		{"trees_url", "/git/trees{/sha}"},
	}
}

// repoJSON renders a repository with the fields of GitHub's full-repository (a superset of repository and
// minimal-repository). Repositories that were not seeded (fork heads) get a stable id.
func (s *Server) repoJSON(owner, name string) object {
	r := Repo{Owner: owner, Name: name, DefaultBranch: "main", ID: stableID("repo", owner+"/"+name)}
	fork := true
	if rs := s.st.repo(owner, name); rs != nil {
		r, fork = rs.Repo, false
	}
	full := r.Owner + "/" + r.Name
	api := s.apiURL("/repos/%s", full)
	visibility := "public"
	if r.Private {
		visibility = "private"
	}
	created := s.st.created.Add(-24 * time.Hour)
	o := object{
		"id": r.ID, "node_id": nodeID("Repository", r.ID), "name": r.Name, "full_name": full,
		"owner": s.userJSON(r.Owner), "private": r.Private, "visibility": visibility, "fork": fork,
		"description": nil, "homepage": nil, "language": "HCL", "license": nil, "mirror_url": nil,
		"url": api, "html_url": htmlBase + "/" + full,
		"clone_url": htmlBase + "/" + full + ".git", "git_url": "git://github.com/" + full + ".git",
		"ssh_url": "git@github.com:" + full + ".git", "svn_url": htmlBase + "/" + full,
		"default_branch": r.DefaultBranch, "archived": false, "disabled": false, "is_template": false,
		"has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false, "has_downloads": true,
		"has_discussions": false, "allow_forking": true, "web_commit_signoff_required": false,
		"forks": 0, "forks_count": 0, "open_issues": 0, "open_issues_count": 0, "size": 1,
		"stargazers_count": 0, "watchers": 0, "watchers_count": 0, "network_count": 0, "subscribers_count": 0,
		"topics": []any{}, "created_at": timestamp(created), "updated_at": timestamp(s.st.created),
		"pushed_at": timestamp(s.st.created),
	}
	for _, f := range repoURLTemplates() {
		o[f[0]] = api + f[1]
	}
	return o
}

func (s *Server) appJSON() object {
	return object{
		"id": s.appID, "slug": appSlug, "client_id": fmt.Sprintf("Iv1.%016x", s.appID),
		"node_id": nodeID("Integration", s.appID), "owner": s.userJSON(appSlug + "-owner"),
		"name": appSlug, "description": "infra-agent test App",
		"external_url": "https://example.com/" + appSlug, "html_url": htmlBase + "/apps/" + appSlug,
		"created_at": timestamp(s.st.created), "updated_at": timestamp(s.st.created),
		"permissions": defaultInstallationPermissions(),
		"events":      []string{"check_run", "check_suite", "issue_comment", "issues", "pull_request", "pull_request_review_comment", "workflow_run"},
	}
}

func (s *Server) installationJSON(inst *installation) object {
	return object{
		"id": inst.id, "app_id": s.appID, "app_slug": appSlug, "client_id": fmt.Sprintf("Iv1.%016x", s.appID),
		"account": s.userJSON(inst.account), "target_id": stableID("user", inst.account),
		"target_type": "Organization", "repository_selection": "all", "single_file_name": nil,
		"access_tokens_url": s.apiURL("/app/installations/%d/access_tokens", inst.id),
		"repositories_url":  s.apiURL("/installation/repositories"),
		"html_url":          fmt.Sprintf("%s/organizations/%s/settings/installations/%d", htmlBase, inst.account, inst.id),
		"permissions":       inst.permissions,
		"events":            []string{"check_run", "check_suite", "issue_comment", "issues", "pull_request", "pull_request_review_comment", "workflow_run"},
		"created_at":        timestamp(s.st.created), "updated_at": timestamp(s.st.created),
		"suspended_by": nil, "suspended_at": nil,
		"has_multiple_single_files": false, "single_file_paths": []string{},
	}
}
