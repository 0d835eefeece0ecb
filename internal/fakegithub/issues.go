package fakegithub

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// maxCommentLength is GitHub's limit on an issue or pull request comment body, in characters.
const maxCommentLength = 65536

func (s *Server) getIssue(c *call) reply {
	n := int(intParam(c, "issue_number"))
	rs := c.repo
	full := rs.Owner + "/" + rs.Name
	var o object
	switch {
	case rs.issues[n] != nil:
		is := rs.issues[n]
		o = s.issueJSON(rs, n, is.Title, is.Body, is.User, is.State, is.Labels)
	case rs.pulls[n] != nil:
		pr := rs.pulls[n]
		o = s.issueJSON(rs, n, pr.Title, pr.Body, pr.User, pr.State, nil)
		html := fmt.Sprintf("%s/%s/pull/%d", htmlBase, full, n)
		o["html_url"] = html
		o["pull_request"] = object{
			"url": s.apiURL("/repos/%s/pulls/%d", full, n), "html_url": html,
			"diff_url": html + ".diff", "patch_url": html + ".patch", "merged_at": nil,
		}
	default:
		return notFound()
	}
	return ok(http.StatusOK, o)
}

func (s *Server) issueJSON(rs *repoState, n int, title, body, user, state string, labels []string) object {
	full := rs.Owner + "/" + rs.Name
	api := s.apiURL("/repos/%s/issues/%d", full, n)
	id := stableID("issue", fmt.Sprintf("%s#%d", full, n))
	ls := make([]any, 0, len(labels))
	for _, l := range labels {
		lid := stableID("label", full+":"+l)
		ls = append(ls, object{
			"id": lid, "node_id": nodeID("Label", lid), "url": s.apiURL("/repos/%s/labels/%s", full, l),
			"name": l, "description": nil, "color": "ededed", "default": false,
		})
	}
	var closedAt any
	if state == "closed" {
		closedAt = timestamp(s.st.created)
	}
	return object{
		"id": id, "node_id": nodeID("Issue", id), "number": n, "title": title, "body": body,
		"user": s.userJSON(user), "state": state, "locked": false, "labels": ls,
		"assignee": nil, "assignees": []any{}, "milestone": nil, "comments": s.st.commentCount(rs, n),
		"url": api, "html_url": fmt.Sprintf("%s/%s/issues/%d", htmlBase, full, n),
		"repository_url": s.apiURL("/repos/%s", full), "labels_url": api + "/labels{/name}",
		"comments_url": api + "/comments", "events_url": api + "/events",
		"created_at": timestamp(s.st.created), "updated_at": timestamp(s.st.created), "closed_at": closedAt,
		"author_association": s.st.association(rs, user), "active_lock_reason": nil,
	}
}

func (s *Server) createComment(c *call) reply {
	n := int(intParam(c, "issue_number"))
	rs := c.repo
	if rs.issues[n] == nil && rs.pulls[n] == nil {
		return notFound()
	}
	body, rep := commentBody(c, "IssueComment")
	if rep != nil {
		return *rep
	}
	ic := &issueComment{
		Comment: Comment{ID: s.st.nextID(commentIDBase), User: appSlug + "[bot]", Body: body},
		number:  n, created: time.Now().UTC().Truncate(time.Second),
	}
	rs.comments = append(rs.comments, ic)
	o := s.commentJSON(rs, ic)
	return reply{status: http.StatusCreated, body: o, header: http.Header{"Location": {o["url"].(string)}}}
}

func (s *Server) commentJSON(rs *repoState, ic *issueComment) object {
	full := rs.Owner + "/" + rs.Name
	kind := "issues"
	if rs.pulls[ic.number] != nil {
		kind = "pull"
	}
	o := object{
		"id": ic.ID, "node_id": nodeID("IssueComment", ic.ID), "body": ic.Body, "user": s.userJSON(ic.User),
		"url":        s.apiURL("/repos/%s/issues/comments/%d", full, ic.ID),
		"html_url":   fmt.Sprintf("%s/%s/%s/%d#issuecomment-%d", htmlBase, full, kind, ic.number, ic.ID),
		"issue_url":  s.apiURL("/repos/%s/issues/%d", full, ic.number),
		"created_at": timestamp(ic.created), "updated_at": timestamp(latest(ic.created, ic.updated)),
		"author_association": "NONE",
	}
	if ic.User == appSlug+"[bot]" {
		o["performed_via_github_app"] = s.appJSON()
	}
	return o
}

// createReaction adds the App's reaction to a comment; repeating a reaction answers 200 with the existing one.
func (s *Server) createReaction(c *call) reply {
	ic := c.repo.issueComment(intParam(c, "comment_id"))
	if ic == nil {
		return notFound()
	}
	content, rep := reactionContent(c)
	if rep != nil {
		return *rep
	}
	var out reply
	ic.reactions, out = s.react(ic.reactions, content)
	return out
}

// reactionContent decodes a reaction request's content.
func reactionContent(c *call) (string, *reply) {
	var body struct {
		Content string `json:"content"`
	}
	return body.Content, decodeBody(c, &body)
}

// commentBody decodes a comment's body and applies GitHub's length limit.
func commentBody(c *call, resource string) (string, *reply) {
	var body struct {
		Body string `json:"body"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return "", rep
	}
	if l := utf8.RuneCountInString(body.Body); l > maxCommentLength {
		rep := invalid(c, resource, "body", fmt.Sprintf("body is too long (maximum is %d characters, got %d)", maxCommentLength, l))
		return "", &rep
	}
	return body.Body, nil
}

func (rs *repoState) issueComment(id int64) *issueComment {
	for _, cm := range rs.comments {
		if cm.ID == id {
			return cm
		}
	}
	return nil
}

// react adds the App's reaction to a list, or answers 200 with the one it already made.
func (s *Server) react(list []reaction, content string) ([]reaction, reply) {
	user := appSlug + "[bot]"
	for _, r := range list {
		if r.user == user && r.content == content {
			return list, ok(http.StatusOK, s.reactionJSON(r))
		}
	}
	r := reaction{id: s.st.nextID(reactionIDBase), user: user, content: content,
		created: time.Now().UTC().Truncate(time.Second)}
	return append(list, r), ok(http.StatusCreated, s.reactionJSON(r))
}

func (s *Server) reactionJSON(r reaction) object {
	return object{
		"id": r.id, "node_id": nodeID("Reaction", r.id), "user": s.userJSON(r.user), "content": r.content,
		"created_at": timestamp(r.created),
	}
}

// listComments lists the comments of an issue or pull request, oldest first, those updated at or after since
// when it is given.
func (s *Server) listComments(c *call) reply {
	n := int(intParam(c, "issue_number"))
	rs := c.repo
	if rs.issues[n] == nil && rs.pulls[n] == nil {
		return notFound()
	}
	var since time.Time
	if v := c.query.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return invalid(c, "IssueComment", "since", "since "+strconv.Quote(v)+" is not an ISO 8601 timestamp")
		}
		since = t
	}
	var matched []*issueComment
	for _, ic := range rs.comments {
		if ic.number == n && !ic.created.Before(since) {
			matched = append(matched, ic)
		}
	}
	rep := reply{status: http.StatusOK}
	rep.body = page(s, c, matched, &rep, func(ic *issueComment) any { return s.commentJSON(rs, ic) })
	return rep
}
