package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// operations is the fake's handler table; apidesc/implemented.txt must list exactly these operations. perms are
// the fine-grained permissions GitHub documents for each operation.
func operations() []operation {
	return []operation{
		{method: "POST", path: "/app/installations/{installation_id}/access_tokens", auth: authApp,
			handle: (*Server).createAccessToken},
		{method: "GET", path: "/app", auth: authApp,
			handle: (*Server).getApp},
		{method: "GET", path: "/app/installations/{installation_id}", auth: authApp,
			handle: (*Server).getInstallation},
		{method: "GET", path: "/repos/{owner}/{repo}/installation", auth: authApp,
			handle: (*Server).getRepoInstallation},
		{method: "DELETE", path: "/installation/token", auth: authInstallation,
			handle: (*Server).revokeToken},
		{method: "GET", path: "/app/hook/deliveries", auth: authApp,
			handle: (*Server).listHookDeliveries},
		{method: "POST", path: "/app/hook/deliveries/{delivery_id}/attempts", auth: authApp,
			handle: (*Server).redeliver},
		{method: "GET", path: "/repos/{owner}/{repo}", perms: []string{"metadata:read"},
			handle: (*Server).getRepo},
		{method: "GET", path: "/repos/{owner}/{repo}/branches/{branch}", perms: []string{"contents:read"},
			handle: (*Server).getBranch},
		{method: "GET", path: "/repos/{owner}/{repo}/rules/branches/{branch}", perms: []string{"metadata:read"},
			handle: (*Server).getBranchRules},
		{method: "GET", path: "/repos/{owner}/{repo}/rulesets/{ruleset_id}", perms: []string{"metadata:read"},
			handle: (*Server).getRuleset},
		{method: "GET", path: "/repos/{owner}/{repo}/contents/{path}", perms: []string{"contents:read"},
			handle: (*Server).getContent},
		{method: "GET", path: "/repos/{owner}/{repo}/tarball/{ref}", perms: []string{"contents:read"},
			handle: (*Server).getTarball},
		{method: "GET", path: "/repos/{owner}/{repo}/collaborators/{username}/permission",
			perms: []string{"metadata:read"}, handle: (*Server).getPermission},
		{method: "GET", path: "/repos/{owner}/{repo}/pulls/{pull_number}", perms: []string{"pull_requests:read"},
			handle: (*Server).getPull},
		{method: "GET", path: "/repos/{owner}/{repo}/pulls/{pull_number}/files",
			perms: []string{"pull_requests:read"}, handle: (*Server).listPullFiles},
		{method: "POST", path: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
			perms: []string{"pull_requests:write"}, handle: (*Server).createReview},
		{method: "GET", path: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
			perms: []string{"pull_requests:read"}, handle: (*Server).listReviews},
		{method: "GET", path: "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
			perms: []string{"pull_requests:read"}, handle: (*Server).listReviewComments},
		{method: "GET", path: "/repos/{owner}/{repo}/issues/{issue_number}",
			perms: []string{"issues:read", "pull_requests:read"}, handle: (*Server).getIssue},
		{method: "GET", path: "/repos/{owner}/{repo}/issues/{issue_number}/comments",
			perms: []string{"issues:read", "pull_requests:read"}, handle: (*Server).listComments},
		{method: "POST", path: "/repos/{owner}/{repo}/issues/{issue_number}/comments",
			perms: []string{"issues:write", "pull_requests:write"}, handle: (*Server).createComment},
		{method: "POST", path: "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
			perms: []string{"issues:write", "pull_requests:write"}, handle: (*Server).createReaction},
		{method: "PATCH", path: "/repos/{owner}/{repo}/issues/comments/{comment_id}",
			perms: []string{"issues:write", "pull_requests:write"}, handle: (*Server).updateComment},
		{method: "GET", path: "/repos/{owner}/{repo}/pulls/{pull_number}/commits", perms: []string{"pull_requests:read"},
			handle: (*Server).listPullCommits},
		{method: "GET", path: "/repos/{owner}/{repo}/pulls", perms: []string{"pull_requests:read"},
			handle: (*Server).listPulls},
		{method: "POST", path: "/repos/{owner}/{repo}/pulls", perms: []string{"pull_requests:write"},
			handle: (*Server).createPull},
		{method: "GET", path: "/repos/{owner}/{repo}/pulls/comments/{comment_id}", perms: []string{"pull_requests:read"},
			handle: (*Server).getReviewComment},
		{method: "POST", path: "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
			perms: []string{"pull_requests:write"}, handle: (*Server).createReviewCommentReaction},
		{method: "POST", path: "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
			perms: []string{"pull_requests:write"}, handle: (*Server).createReviewReply},
		{method: "POST", path: "/repos/{owner}/{repo}/git/blobs", perms: []string{"contents:write"},
			handle: (*Server).createBlob},
		{method: "POST", path: "/repos/{owner}/{repo}/git/trees", perms: []string{"contents:write"},
			handle: (*Server).createTree},
		{method: "POST", path: "/repos/{owner}/{repo}/git/commits", perms: []string{"contents:write"},
			handle: (*Server).createCommit},
		{method: "GET", path: "/repos/{owner}/{repo}/git/commits/{commit_sha}", perms: []string{"contents:read"},
			handle: (*Server).getGitCommit},
		{method: "GET", path: "/repos/{owner}/{repo}/git/ref/{ref}", perms: []string{"contents:read"},
			handle: (*Server).getRef},
		{method: "POST", path: "/repos/{owner}/{repo}/git/refs", perms: []string{"contents:write"},
			handle: (*Server).createRef},
		{method: "PATCH", path: "/repos/{owner}/{repo}/git/refs/{ref}", perms: []string{"contents:write"},
			handle: (*Server).updateRef},
		{method: "DELETE", path: "/repos/{owner}/{repo}/git/refs/{ref}", perms: []string{"contents:write"},
			handle: (*Server).deleteRef},
		{method: "POST", path: "/repos/{owner}/{repo}/check-runs", perms: []string{"checks:write"},
			handle: (*Server).createCheckRun},
		{method: "PATCH", path: "/repos/{owner}/{repo}/check-runs/{check_run_id}", perms: []string{"checks:write"},
			handle: (*Server).updateCheckRun},
		{method: "GET", path: "/repos/{owner}/{repo}/check-runs/{check_run_id}", perms: []string{"checks:read"},
			handle: (*Server).getCheckRun},
		{method: "GET", path: "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", perms: []string{"checks:read"},
			handle: (*Server).listAnnotations},
		{method: "GET", path: "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs", perms: []string{"checks:read"},
			handle: (*Server).listCheckRunsForSuite},
		{method: "GET", path: "/repos/{owner}/{repo}/commits/{ref}/check-runs", perms: []string{"checks:read"},
			handle: (*Server).listCheckRunsForRef},
		{method: "POST", path: "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
			perms: []string{"actions:write"}, handle: (*Server).dispatchWorkflow},
		{method: "GET", path: "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
			perms: []string{"actions:read"}, handle: (*Server).listWorkflowRuns},
		{method: "GET", path: "/repos/{owner}/{repo}/actions/runs/{run_id}", perms: []string{"actions:read"},
			handle: (*Server).getRun},
		{method: "POST", path: "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel", perms: []string{"actions:write"},
			handle: (*Server).cancelRun},
	}
}

// decodeBody decodes a body already validated against the description.
func decodeBody(c *call, v any) *reply {
	if len(c.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		r := ghError(http.StatusBadRequest, "Problems parsing JSON", c.op.desc.DocURL)
		r.violation = "body: " + err.Error()
		return &r
	}
	return nil
}

// intParam returns a path parameter the description declares an integer (validation already passed).
func intParam(c *call, name string) int64 {
	n, _ := strconv.ParseInt(c.params[name], 10, 64)
	return n
}

// maxPerPage is GitHub's page size limit; larger values are silently capped by GitHub.
const maxPerPage = 100

// page renders the page of all the request asks for (see paginate).
func page[T any](s *Server, c *call, all []T, rep *reply, render func(T) any) []any {
	start, end := s.paginate(c, len(all), rep)
	items := make([]any, 0, end-start)
	for _, v := range all[start:end] {
		items = append(items, render(v))
	}
	return items
}

// paginate slices n items by the request's page and per_page (GitHub's defaults: 1 and 30), sets the Link header
// on rep the way GitHub does, and records a violation when per_page exceeds 100 (GitHub silently returns 100, so
// a client asking for more would miss items it thinks it asked for).
func (s *Server) paginate(c *call, n int, rep *reply) (start, end int) {
	per := 30
	if v := c.query.Get("per_page"); v != "" {
		per, _ = strconv.Atoi(v)
	}
	if per > maxPerPage {
		rep.violation = fmt.Sprintf("per_page=%d exceeds GitHub's maximum of %d (GitHub silently returns %d)",
			per, maxPerPage, maxPerPage)
		per = maxPerPage
	}
	if per < 1 {
		per = 30
	}
	page := 1
	if v := c.query.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	page = max(page, 1)
	last := max((n+per-1)/per, 1)
	link := func(p int, rel string) string {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s?%s>; rel="%s"`, s.apiURL("%s", c.r.URL.EscapedPath()), q.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		if rep.header == nil {
			rep.header = http.Header{}
		}
		rep.header.Set("Link", strings.Join(links, ", "))
	}
	start = min((page-1)*per, n)
	return start, min(start+per, n)
}
