package fakegithub

import (
	"fmt"
	"net/http"
	"time"
)

// ReviewComment is a pull request review comment: a comment on a line of the diff, or a reply in its thread.
// Comments made through a review, through the reply endpoint and seeded with AddReviewComment are the same
// thing, with the same checks and the same rendering.
type ReviewComment struct {
	ID int64
	// ReviewID is the review the comment belongs to; a seeded comment without one gets a stable id.
	ReviewID int64
	User     string
	Body     string
	Path     string
	Side     string // RIGHT or LEFT
	Line     int
	// StartLine is the first line of a multi-line comment; 0 for one line.
	StartLine int
	CommitID  string
	// InReplyTo is the thread's first comment, for replies.
	InReplyTo int64
	// Minimized and MinimizedReason are what GraphQL's minimizeComment set (the reason in lower case, as GitHub
	// reports it: "resolved", "outdated", ...).
	Minimized       bool
	MinimizedReason string
}

type reviewComment struct {
	ReviewComment
	number    int
	created   time.Time
	reactions []reaction
}

// AddReviewComment adds a review comment on a line of a pull request's diff by anyone, for example the one a
// pull_request_review_comment webhook refers to; a zero ID gets a deterministic one, which it returns. The side
// defaults to RIGHT and the commit to the pull request's head.
func (s *Server) AddReviewComment(owner, repo string, number int, rc ReviewComment) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, pr := s.mustPull("AddReviewComment", owner, repo, number)
	if rc.ID == 0 {
		rc.ID = s.st.nextID(reviewCommentIDBase)
	}
	if rc.Side == "" {
		rc.Side = "RIGHT"
	}
	if rc.CommitID == "" {
		rc.CommitID = pr.HeadSHA
	}
	rs.reviewComments = append(rs.reviewComments, &reviewComment{ReviewComment: rc, number: number, created: time.Now().UTC()})
	return rc.ID
}

// ReviewComments returns the review comments of a pull request, in order, replies included.
func (s *Server) ReviewComments(owner, repo string, number int) []ReviewComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ReviewComment
	if rs := s.st.repo(owner, repo); rs != nil {
		for _, cm := range rs.reviewComments {
			if cm.number == number {
				out = append(out, cm.ReviewComment)
			}
		}
	}
	return out
}

func (rs *repoState) reviewComment(id int64) *reviewComment {
	for _, rc := range rs.reviewComments {
		if rc.ID == id {
			return rc
		}
	}
	return nil
}

// checkReviewComment says why GitHub would refuse a comment, or "".
func (s *Server) checkReviewComment(rs *repoState, pr *PullRequest, sha, path, side, startSide string, line, start int) string {
	if side != "RIGHT" && side != "LEFT" || start != 0 && startSide != "RIGHT" && startSide != "LEFT" {
		return "side must be RIGHT or LEFT"
	}
	known := false
	for _, f := range pr.Files {
		known = known || f == path
	}
	if !known {
		return "Path could not be resolved"
	}
	if line < 1 {
		return "Line could not be resolved"
	}
	_, d := s.fileDiffAt(rs, pr, sha, path)
	h := d.hunkOf(side, line)
	if h < 0 {
		return "Pull request review thread line must be part of the diff"
	}
	if start != 0 {
		if start >= line && startSide == side {
			return "start_line must precede the end line"
		}
		if d.hunkOf(startSide, start) != h {
			return "Pull request review thread start line must be part of the same hunk as the line"
		}
	}
	return ""
}

func (s *Server) listReviewComments(c *call) reply {
	n := int(intParam(c, "pull_number"))
	pr := c.repo.pulls[n]
	if pr == nil {
		return notFound()
	}
	var all []*reviewComment
	for _, cm := range c.repo.reviewComments {
		if cm.number == n {
			all = append(all, cm)
		}
	}
	rep := reply{status: http.StatusOK}
	rep.body = page(s, c, all, &rep, func(cm *reviewComment) any { return s.reviewCommentJSON(c.repo, pr, cm) })
	return rep
}

func (s *Server) getReviewComment(c *call) reply {
	rc := c.repo.reviewComment(intParam(c, "comment_id"))
	if rc == nil || c.repo.pulls[rc.number] == nil {
		return notFound()
	}
	return ok200(s.reviewCommentJSON(c.repo, c.repo.pulls[rc.number], rc))
}

// createReviewReply answers in a review comment's thread, on the thread's line and commit; GitHub refuses a
// reply to a reply (it answers the thread's first comment only). As on GitHub, the reply is a review of its own.
func (s *Server) createReviewReply(c *call) reply {
	n := int(intParam(c, "pull_number"))
	rs := c.repo
	parent := rs.reviewComment(intParam(c, "comment_id"))
	if parent == nil || parent.number != n || rs.pulls[n] == nil {
		return notFound()
	}
	body, rep := commentBody(c, "PullRequestReviewComment")
	if rep != nil {
		return *rep
	}
	if parent.InReplyTo != 0 {
		return invalid(c, "PullRequestReviewComment", "in_reply_to",
			fmt.Sprintf("comment %d is a reply; replies go to the thread's first comment %d", parent.ID, parent.InReplyTo))
	}
	now := time.Now().UTC().Truncate(time.Second)
	rv := &PullReview{ID: s.st.nextID(reviewIDBase), Number: n, User: appSlug + "[bot]", Event: "COMMENT",
		State: reviewStates["COMMENT"], CommitID: parent.CommitID, At: now}
	rs.reviews = append(rs.reviews, rv)
	rc := &reviewComment{ReviewComment: parent.ReviewComment, number: n, created: now}
	rc.ID, rc.ReviewID, rc.User, rc.Body, rc.InReplyTo = s.st.nextID(reviewCommentIDBase), rv.ID, rv.User, body, parent.ID
	rc.Minimized, rc.MinimizedReason = false, ""
	rs.reviewComments = append(rs.reviewComments, rc)
	o := s.reviewCommentJSON(rs, rs.pulls[n], rc)
	return reply{status: http.StatusCreated, body: o, header: http.Header{"Location": {o["url"].(string)}}}
}

// createReviewCommentReaction adds the App's reaction to a review comment; repeating one answers 200 with it.
func (s *Server) createReviewCommentReaction(c *call) reply {
	rc := c.repo.reviewComment(intParam(c, "comment_id"))
	if rc == nil {
		return notFound()
	}
	return s.react(c, &rc.reactions)
}

// reviewCommentJSON renders a comment as GitHub shows it now: when the lines it was made on changed in the
// pull request's head since, it is outdated, and GitHub no longer gives it a line or position.
func (s *Server) reviewCommentJSON(rs *repoState, pr *PullRequest, cm *reviewComment) object {
	full := rs.Owner + "/" + rs.Name
	api := s.apiURL("/repos/%s/pulls/comments/%d", full, cm.ID)
	html := fmt.Sprintf("%s/%s/pull/%d#discussion_r%d", htmlBase, full, cm.number, cm.ID)
	pull := s.apiURL("/repos/%s/pulls/%d", full, cm.number)
	review := cm.ReviewID
	if review == 0 {
		review = stableID("review", fmt.Sprint(cm.ID))
	}
	_, d := s.fileDiffAt(rs, pr, cm.CommitID, cm.Path)
	o := object{
		"url": api, "id": cm.ID, "node_id": nodeID("PullRequestReviewComment", cm.ID),
		"pull_request_review_id": review, "diff_hunk": d.diffHunk(cm.Side, cm.Line), "path": cm.Path,
		"commit_id": cm.CommitID, "original_commit_id": cm.CommitID, "user": s.userJSON(cm.User), "body": cm.Body,
		"created_at": timestamp(cm.created), "updated_at": timestamp(cm.created), "html_url": html, "pull_request_url": pull,
		"author_association": s.st.association(rs, cm.User), "original_line": cm.Line, "side": cm.Side,
		"subject_type": "line", "start_line": nil, "original_start_line": nil, "start_side": nil,
		"_links": object{"self": object{"href": api}, "html": object{"href": html}, "pull_request": object{"href": pull}},
	}
	if cm.StartLine != 0 {
		o["original_start_line"], o["start_side"] = cm.StartLine, cm.Side
	}
	if cm.InReplyTo != 0 {
		o["in_reply_to_id"] = cm.InReplyTo
	}
	if s.stillCurrent(rs, pr, cm) {
		o["line"], o["commit_id"] = cm.Line, pr.HeadSHA
		if cm.StartLine != 0 {
			o["start_line"] = cm.StartLine
		}
	}
	return o
}

// stillCurrent reports whether a comment's file is unchanged between the commit it was made on and the pull
// request's head: GitHub keeps such a comment on its line and outdates it otherwise.
func (s *Server) stillCurrent(rs *repoState, pr *PullRequest, cm *reviewComment) bool {
	if cm.CommitID == pr.HeadSHA {
		return true
	}
	then, ok1 := s.fileAt(rs, pr, cm.CommitID, cm.Path)
	now, ok2 := s.fileAt(rs, pr, pr.HeadSHA, cm.Path)
	return ok1 && ok2 && string(then) == string(now)
}
