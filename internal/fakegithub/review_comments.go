package fakegithub

import (
	"fmt"
	"net/http"
	"time"
)

// ReviewComment is a pull request review comment: a comment on a line of the diff, or a reply in its thread.
type ReviewComment struct {
	ID       int64
	User     string
	Body     string
	Path     string
	Line     int
	CommitID string
	// InReplyTo is the thread's first comment, for replies.
	InReplyTo int64
}

type reviewComment struct {
	ReviewComment
	number    int
	created   time.Time
	reactions []reaction
}

// reviewCommentIDBase keeps review comment ids apart from issue comment ids.
const reviewCommentIDBase = 3_000_000_000

// AddReviewComment adds a review comment on a line of a pull request's diff, for example the one a
// pull_request_review_comment webhook refers to; a zero ID gets a deterministic one, which it returns.
func (s *Server) AddReviewComment(owner, repo string, number int, rc ReviewComment) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("AddReviewComment", owner, repo)
	if rs.pulls[number] == nil {
		s.t.Fatalf("fakegithub: AddReviewComment: no pull request #%d in %s/%s", number, owner, repo)
	}
	if rc.ID == 0 {
		rc.ID = s.st.nextID(reviewCommentIDBase)
	}
	rs.reviewComments = append(rs.reviewComments, &reviewComment{ReviewComment: rc, number: number, created: time.Now().UTC()})
	return rc.ID
}

// ReviewComments returns the review comments of a pull request, in order, replies included.
func (s *Server) ReviewComments(owner, repo string, number int) []ReviewComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return nil
	}
	var out []ReviewComment
	for _, rc := range rs.reviewComments {
		if rc.number == number {
			out = append(out, rc.ReviewComment)
		}
	}
	return out
}

// createReviewReply answers in a review comment's thread; GitHub refuses a reply to a reply (it answers the
// thread's first comment only).
func (s *Server) createReviewReply(c *call) reply {
	n := int(intParam(c, "pull_number"))
	id := intParam(c, "comment_id")
	rs := c.repo
	var parent *reviewComment
	for _, rc := range rs.reviewComments {
		if rc.ID == id && rc.number == n {
			parent = rc
		}
	}
	if parent == nil {
		return notFound()
	}
	body, rep := commentBody(c, "PullRequestReviewComment")
	if rep != nil {
		return *rep
	}
	if parent.InReplyTo != 0 {
		return invalid(c, "PullRequestReviewComment", "in_reply_to",
			fmt.Sprintf("comment %d is a reply; replies go to the thread's first comment %d", id, parent.InReplyTo))
	}
	rc := &reviewComment{ReviewComment: ReviewComment{
		ID: s.st.nextID(reviewCommentIDBase), User: appSlug + "[bot]", Body: body, Path: parent.Path,
		Line: parent.Line, CommitID: parent.CommitID, InReplyTo: parent.ID,
	}, number: n, created: time.Now().UTC().Truncate(time.Second)}
	rs.reviewComments = append(rs.reviewComments, rc)
	o := s.reviewCommentJSON(rs, rc)
	return reply{status: http.StatusCreated, body: o, header: http.Header{"Location": {o["url"].(string)}}}
}

func (s *Server) reviewCommentJSON(rs *repoState, rc *reviewComment) object {
	full := rs.Owner + "/" + rs.Name
	u := s.apiURL("/repos/%s/pulls/comments/%d", full, rc.ID)
	html := fmt.Sprintf("%s/%s/pull/%d#discussion_r%d", htmlBase, full, rc.number, rc.ID)
	pr := s.apiURL("/repos/%s/pulls/%d", full, rc.number)
	href := func(v string) object { return object{"href": v} }
	o := object{
		"url": u, "id": rc.ID, "node_id": nodeID("PullRequestReviewComment", rc.ID),
		"pull_request_review_id": stableID("review", fmt.Sprint(rc.ID)), "diff_hunk": "@@ -1 +1 @@",
		"path": rc.Path, "commit_id": rc.CommitID, "original_commit_id": rc.CommitID,
		"user": s.userJSON(rc.User), "body": rc.Body, "created_at": timestamp(rc.created),
		"updated_at": timestamp(rc.created), "html_url": html, "pull_request_url": pr,
		"author_association": s.st.association(rs, rc.User),
		"_links":             object{"self": href(u), "html": href(html), "pull_request": href(pr)},
		"line":               rc.Line, "original_line": rc.Line, "side": "RIGHT",
	}
	if rc.InReplyTo != 0 {
		o["in_reply_to_id"] = rc.InReplyTo
	}
	return o
}

func (rs *repoState) reviewComment(id int64) *reviewComment {
	for _, rc := range rs.reviewComments {
		if rc.ID == id {
			return rc
		}
	}
	return nil
}

func (s *Server) getReviewComment(c *call) reply {
	rc := c.repo.reviewComment(intParam(c, "comment_id"))
	if rc == nil {
		return notFound()
	}
	return ok200(s.reviewCommentJSON(c.repo, rc))
}

// createReviewCommentReaction adds the App's reaction to a review comment; repeating one answers 200 with it.
func (s *Server) createReviewCommentReaction(c *call) reply {
	rc := c.repo.reviewComment(intParam(c, "comment_id"))
	if rc == nil {
		return notFound()
	}
	content, rep := reactionContent(c)
	if rep != nil {
		return *rep
	}
	var out reply
	rc.reactions, out = s.react(rc.reactions, content)
	return out
}
