package fakegithub

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// maxPullFiles is how many files GitHub lists for a pull request at most.
const maxPullFiles = 3000

func (s *Server) getPull(c *call) reply {
	pr := c.repo.pulls[int(intParam(c, "pull_number"))]
	if pr == nil {
		return notFound()
	}
	return ok(http.StatusOK, s.pullJSON(c.repo, pr))
}

func (s *Server) listPullFiles(c *call) reply {
	pr := c.repo.pulls[int(intParam(c, "pull_number"))]
	if pr == nil {
		return notFound()
	}
	files := s.pullFiles(c.repo, pr)
	rep := reply{status: http.StatusOK}
	start, end := s.paginate(c, len(files), &rep)
	rep.body = files[start:end]
	return rep
}

// pullFiles derives each file's status, patch and line counts from the contents seeded at the base ref and the
// pull request's head.
func (s *Server) pullFiles(rs *repoState, pr *PullRequest) []any {
	return s.pullFilesAt(rs, pr, pr.HeadSHA)
}

// pullFilesAt is pullFiles as of commit sha of the pull request.
func (s *Server) pullFilesAt(rs *repoState, pr *PullRequest, sha string) []any {
	names := pr.Files
	if len(names) > maxPullFiles {
		names = names[:maxPullFiles]
	}
	full := rs.Owner + "/" + rs.Name
	out := make([]any, 0, len(names))
	for _, name := range names {
		status, d := s.fileDiffAt(rs, pr, sha, name)
		blob := any(fakeSHA(full + ":" + name))
		if status != "removed" {
			head, _ := s.fileAt(rs, pr, sha, name)
			blob = blobSHA(head)
		}
		o := object{
			"sha": blob, "filename": name, "status": status,
			"additions": d.add, "deletions": d.del, "changes": d.add + d.del,
			"blob_url":     fmt.Sprintf("%s/%s/blob/%s/%s", htmlBase, full, sha, name),
			"raw_url":      fmt.Sprintf("%s/%s/raw/%s/%s", htmlBase, full, sha, name),
			"contents_url": s.apiURL("/repos/%s/contents/%s?ref=%s", full, name, sha),
		}
		if d.patch != "" {
			o["patch"] = d.patch
		}
		out = append(out, o)
	}
	return out
}

// fileDiffAt diffs a file of the pull request between its base and commit sha.
func (s *Server) fileDiffAt(rs *repoState, pr *PullRequest, sha, name string) (string, fileDiff) {
	head, inHead := s.fileAt(rs, pr, sha, name)
	base, inBase := rs.file(pr.BaseRef, name)
	status := "modified"
	switch {
	case inHead && !inBase:
		status = "added"
	case inBase && !inHead:
		status = "removed"
	}
	return status, diffFiles(base, head)
}

// fileAt reads a file of the pull request at commit sha, in the head repository (a fork's) or the base one.
func (s *Server) fileAt(rs *repoState, pr *PullRequest, sha, name string) ([]byte, bool) {
	if hs := s.st.repo(pr.HeadOwner, pr.HeadRepo); hs != nil {
		if content, ok := hs.file(sha, name); ok {
			return content, true
		}
	}
	return rs.file(sha, name)
}

func lines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func (s *Server) pullJSON(rs *repoState, pr *PullRequest) object {
	full := rs.Owner + "/" + rs.Name
	api := s.apiURL("/repos/%s/pulls/%d", full, pr.Number)
	html := fmt.Sprintf("%s/%s/pull/%d", htmlBase, full, pr.Number)
	issue := s.apiURL("/repos/%s/issues/%d", full, pr.Number)
	id := stableID("pull", fmt.Sprintf("%s#%d", full, pr.Number))
	add, del := 0, 0
	for _, f := range s.pullFiles(rs, pr) {
		add += f.(object)["additions"].(int)
		del += f.(object)["deletions"].(int)
	}
	href := func(u string) object { return object{"href": u} }
	baseSHA := rs.branches[pr.BaseRef]
	closed := pr.State == "closed"
	var closedAt any
	if closed {
		closedAt = timestamp(s.st.created)
	}
	return object{
		"id": id, "node_id": nodeID("PullRequest", id), "number": pr.Number, "state": pr.State,
		"locked": false, "title": pr.Title, "body": pr.Body, "user": s.userJSON(pr.User), "draft": pr.Draft,
		"url": api, "html_url": html, "diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue,
		"commits_url": api + "/commits", "review_comments_url": api + "/comments",
		"review_comment_url": s.apiURL("/repos/%s/pulls/comments{/number}", full),
		"comments_url":       issue + "/comments", "statuses_url": s.apiURL("/repos/%s/statuses/%s", full, pr.HeadSHA),
		"labels": []any{}, "assignee": nil, "assignees": []any{}, "milestone": nil,
		"requested_reviewers": []any{}, "requested_teams": []any{},
		"created_at": timestamp(s.st.created), "updated_at": timestamp(s.st.created),
		"closed_at": closedAt, "merged_at": nil, "merge_commit_sha": nil, "merged": false, "merged_by": nil,
		"mergeable": !closed, "mergeable_state": "clean", "rebaseable": !closed, "maintainer_can_modify": false,
		"author_association": s.st.association(rs, pr.User), "auto_merge": nil, "active_lock_reason": nil,
		"comments": s.st.commentCount(rs, pr.Number), "review_comments": 0, "commits": 1,
		"additions": add, "deletions": del, "changed_files": min(len(pr.Files), maxPullFiles),
		"head": s.branchJSON(pr.HeadOwner, pr.HeadRepo, pr.HeadRef, pr.HeadSHA),
		"base": s.branchJSON(rs.Owner, rs.Name, pr.BaseRef, baseSHA),
		"_links": object{
			"self": href(api), "html": href(html), "issue": href(issue), "comments": href(issue + "/comments"),
			"review_comments": href(api + "/comments"), "commits": href(api + "/commits"),
			"review_comment": href(s.apiURL("/repos/%s/pulls/comments{/number}", full)),
			"statuses":       href(s.apiURL("/repos/%s/statuses/%s", full, pr.HeadSHA)),
		},
	}
}

func (s *Server) branchJSON(owner, repo, ref, sha string) object {
	return object{
		"label": owner + ":" + ref, "ref": ref, "sha": sha,
		"user": s.userJSON(owner), "repo": s.repoJSON(owner, repo),
	}
}

// association is the author_association GitHub shows for a user on a repository.
func (st *state) association(rs *repoState, login string) string {
	switch role := rs.perms[strings.ToLower(login)]; {
	case strings.EqualFold(login, rs.Owner):
		return "OWNER"
	case role != "" && role != "none":
		return "COLLABORATOR"
	}
	return "CONTRIBUTOR"
}

func (st *state) commentCount(rs *repoState, number int) int {
	n := 0
	for _, c := range rs.comments {
		if c.number == number {
			n++
		}
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }

func sortedPulls(rs *repoState) []int {
	ns := make([]int, 0, len(rs.pulls))
	for n := range rs.pulls {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}
