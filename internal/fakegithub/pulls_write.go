package fakegithub

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// maxPullBody is GitHub's limit on a pull request body, in characters.
const maxPullBody = 65536

// createPull opens a pull request from a branch of the repository itself (the fake has no forks to open from),
// refusing what GitHub refuses: a missing base or head, no difference, a second open pull request for the same
// head and base.
func (s *Server) createPull(c *call) reply {
	var body struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
		Issue *int   `json:"issue"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return *rep
	}
	rs := c.repo
	head := body.Head
	if owner, branch, qualified := strings.Cut(head, ":"); qualified {
		if !strings.EqualFold(owner, rs.Owner) {
			return invalid(c, "PullRequest", "head", "the fake opens pull requests from the repository's own branches only")
		}
		head = branch
	}
	switch {
	case body.Issue != nil:
		return invalid(c, "PullRequest", "issue", "the fake does not convert issues into pull requests")
	case strings.TrimSpace(body.Title) == "":
		return invalid(c, "PullRequest", "title", "title is required")
	case utf8.RuneCountInString(body.Body) > maxPullBody:
		return invalid(c, "PullRequest", "body", fmt.Sprintf("body is too long (maximum is %d characters)", maxPullBody))
	}
	baseSHA, baseOK := rs.branches[body.Base]
	headSHA, headOK := rs.branches[head]
	if !baseOK {
		return pullValidation(c, "base", "invalid")
	}
	if !headOK {
		return pullValidation(c, "head", "invalid")
	}
	for _, n := range sortedPulls(rs) {
		pr := rs.pulls[n]
		if pr.State == "open" && pr.HeadRef == head && strings.EqualFold(pr.HeadOwner, rs.Owner) && pr.BaseRef == body.Base {
			// Not a violation: a client that retried a create GitHub had applied sees this.
			return ghErrorDetail(c, fmt.Sprintf("A pull request already exists for %s:%s.", rs.Owner, head))
		}
	}
	changed := changedFiles(rs, baseSHA, headSHA)
	if len(changed) == 0 {
		return ghErrorDetail(c, fmt.Sprintf("No commits between %s and %s", body.Base, head))
	}
	bot := appSlug + "[bot]"
	pr := &PullRequest{
		Number: nextNumber(rs), State: "open", Title: body.Title, Body: body.Body, User: bot, HeadSHA: headSHA,
		HeadRef: head, HeadOwner: rs.Owner, HeadRepo: rs.Name, BaseRef: body.Base, Files: changed, Draft: body.Draft,
		CreatedBy: bot,
	}
	rs.pulls[pr.Number] = pr
	o := s.pullJSON(rs, pr)
	return reply{status: http.StatusCreated, body: o, header: http.Header{"Location": {o["url"].(string)}}}
}

// pullValidation is GitHub's 422 for a pull request field, with the error code it uses ("invalid", "missing").
// It is not a violation: it answers a request about state (a branch that does not exist), not a malformed one.
func pullValidation(c *call, field, code string) reply {
	return reply{status: http.StatusUnprocessableEntity, body: object{
		"message":           "Validation Failed",
		"errors":            []any{object{"resource": "PullRequest", "field": field, "code": code}},
		"documentation_url": c.op.desc.DocURL, "status": "422",
	}}
}

func ghErrorDetail(c *call, message string) reply {
	return reply{status: http.StatusUnprocessableEntity, body: object{
		"message":           "Validation Failed",
		"errors":            []any{object{"resource": "PullRequest", "code": "custom", "message": message}},
		"documentation_url": c.op.desc.DocURL, "status": "422",
	}}
}

// nextNumber is the number the next issue or pull request gets.
func nextNumber(rs *repoState) int {
	n := 0
	for k := range rs.pulls {
		n = max(n, k)
	}
	for k := range rs.issues {
		n = max(n, k)
	}
	return n + 1
}

// changedFiles lists the paths that differ between two commits.
func changedFiles(rs *repoState, base, head string) []string {
	a, _, _ := rs.filesAt(base)
	b, _, _ := rs.filesAt(head)
	var out []string
	for p, content := range b {
		if old, ok := a[p]; !ok || !bytes.Equal(old, content) {
			out = append(out, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// listPulls lists pull requests by state, head ("owner:branch") and base, newest first (GitHub's default sort).
func (s *Server) listPulls(c *call) reply {
	rs := c.repo
	state := c.query.Get("state")
	if state == "" {
		state = "open"
	}
	headOwner, headRef, _ := strings.Cut(c.query.Get("head"), ":")
	if headRef == "" && c.query.Get("head") != "" {
		headRef, headOwner = headOwner, ""
	}
	var matched []*PullRequest
	ns := sortedPulls(rs)
	for i := len(ns) - 1; i >= 0; i-- {
		pr := rs.pulls[ns[i]]
		switch {
		case state != "all" && pr.State != state:
		case headRef != "" && (pr.HeadRef != headRef || headOwner != "" && !strings.EqualFold(pr.HeadOwner, headOwner)):
		case c.query.Get("base") != "" && pr.BaseRef != c.query.Get("base"):
		default:
			matched = append(matched, pr)
		}
	}
	rep := reply{status: http.StatusOK}
	rep.body = page(s, c, matched, &rep, func(pr *PullRequest) any { return s.pullJSON(rs, pr) })
	return rep
}

// updateComment edits an issue or pull request comment (an installation with issues or pull requests write may
// edit anyone's; CommentEdits lets a test check whose were).
func (s *Server) updateComment(c *call) reply {
	ic := c.repo.issueComment(intParam(c, "comment_id"))
	if ic == nil {
		return notFound()
	}
	body, rep := commentBody(c, "IssueComment")
	if rep != nil {
		return *rep
	}
	ic.Body = body
	ic.updated = time.Now().UTC().Truncate(time.Second)
	ic.edits++
	return ok200(s.commentJSON(c.repo, ic))
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// CommentEdits returns how many times a comment was edited through the API.
func (s *Server) CommentEdits(owner, repo string, commentID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return 0
	}
	for _, c := range rs.comments {
		if c.ID == commentID {
			return c.edits
		}
	}
	return 0
}

// PullRequests returns a repository's pull requests (seeded and opened through the API), by number.
func (s *Server) PullRequests(owner, repo string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return nil
	}
	var out []PullRequest
	for _, n := range sortedPulls(rs) {
		pr := *rs.pulls[n]
		pr.Files = append([]string(nil), pr.Files...)
		out = append(out, pr)
	}
	return out
}
