package fakegithub

import (
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
)

// PullReview is a pull request review as the fake keeps it.
type PullReview struct {
	ID       int64
	Number   int
	User     string
	Body     string
	Event    string // what the request asked: APPROVE, REQUEST_CHANGES, COMMENT, or "" (pending)
	State    string // COMMENTED, APPROVED, CHANGES_REQUESTED, PENDING
	CommitID string
	At       time.Time
}

// reviewStates maps a review event to the state the review is in.
var reviewStates = map[string]string{
	"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", "": "PENDING",
}

// reviewBody is the body of POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews.
type reviewBody struct {
	CommitID string `json:"commit_id"`
	Body     string `json:"body"`
	Event    string `json:"event"`
	Comments []struct {
		Path      string `json:"path"`
		Position  *int   `json:"position"`
		Body      string `json:"body"`
		Line      int    `json:"line"`
		Side      string `json:"side"`
		StartLine int    `json:"start_line"`
		StartSide string `json:"start_side"`
	} `json:"comments"`
}

// unprocessable is GitHub's 422 of the reviews API, whose errors are plain strings; it is a violation.
func unprocessable(c *call, message string) reply {
	r := reply{status: http.StatusUnprocessableEntity, body: map[string]any{
		"message": "Unprocessable Entity", "errors": []string{message},
		"documentation_url": c.op.desc.DocURL, "status": "422",
	}}
	r.violation = message
	return r
}

// createReview creates a submitted review with its comments, all or nothing, checking what GitHub checks: the
// body GitHub requires, the length limits, the commit, and that every comment is on a line of the diff (both
// ends of a multi-line comment in the same hunk).
func (s *Server) createReview(c *call) reply {
	n := int(intParam(c, "pull_number"))
	rs := c.repo
	pr := rs.pulls[n]
	if pr == nil {
		return notFound()
	}
	var b reviewBody
	if rep := decodeBody(c, &b); rep != nil {
		return *rep
	}
	switch {
	case (b.Event == "COMMENT" || b.Event == "REQUEST_CHANGES") && b.Body == "":
		return unprocessable(c, "Body is required when the event is "+b.Event)
	case utf8.RuneCountInString(b.Body) > maxCommentLength:
		return unprocessable(c, fmt.Sprintf("Body is too long (maximum is %d characters)", maxCommentLength))
	case b.CommitID == "":
		b.CommitID = pr.HeadSHA
	case !rs.knowsCommit(b.CommitID):
		return unprocessable(c, "No commit found for SHA: "+b.CommitID)
	}
	now := time.Now().UTC().Truncate(time.Second)
	rv := &PullReview{Number: n, User: appSlug + "[bot]", Body: b.Body, Event: b.Event, State: reviewStates[b.Event],
		CommitID: b.CommitID, At: now}
	var comments []*reviewComment
	for i, cm := range b.Comments {
		if cm.Side == "" {
			cm.Side = "RIGHT"
		}
		if cm.StartLine != 0 && cm.StartSide == "" {
			cm.StartSide = cm.Side
		}
		if cm.Position != nil {
			r := ghError(http.StatusNotImplemented, "not implemented by the fake", c.op.desc.DocURL)
			r.violation = "the fake places review comments by line and side, not by the position GitHub is retiring"
			return r
		}
		if msg := s.checkReviewComment(rs, pr, b.CommitID, cm.Path, cm.Side, cm.StartSide, cm.Line, cm.StartLine); msg != "" {
			return unprocessable(c, fmt.Sprintf("comments[%d]: %s", i, msg))
		}
		if l := utf8.RuneCountInString(cm.Body); l > maxCommentLength {
			return unprocessable(c, fmt.Sprintf("comments[%d]: Body is too long (maximum is %d characters)", i, maxCommentLength))
		}
		comments = append(comments, &reviewComment{ReviewComment: ReviewComment{User: rv.User, Path: cm.Path,
			Body: cm.Body, Side: cm.Side, Line: cm.Line, StartLine: cm.StartLine, CommitID: b.CommitID}, number: n, created: now})
	}
	rv.ID = s.st.nextID(reviewIDBase)
	rs.reviews = append(rs.reviews, rv)
	for _, cm := range comments {
		cm.ID, cm.ReviewID = s.st.nextID(reviewCommentIDBase), rv.ID
		rs.reviewComments = append(rs.reviewComments, cm)
	}
	return ok(http.StatusOK, s.reviewJSON(rs, rv))
}

func (s *Server) listReviews(c *call) reply {
	n := int(intParam(c, "pull_number"))
	if c.repo.pulls[n] == nil {
		return notFound()
	}
	var all []*PullReview
	for _, rv := range c.repo.reviews {
		if rv.Number == n {
			all = append(all, rv)
		}
	}
	rep := reply{status: http.StatusOK}
	rep.body = page(s, c, all, &rep, func(rv *PullReview) any { return s.reviewJSON(c.repo, rv) })
	return rep
}

func (s *Server) reviewJSON(rs *repoState, rv *PullReview) object {
	full := rs.Owner + "/" + rs.Name
	html := fmt.Sprintf("%s/%s/pull/%d#pullrequestreview-%d", htmlBase, full, rv.Number, rv.ID)
	pull := s.apiURL("/repos/%s/pulls/%d", full, rv.Number)
	o := object{
		"id": rv.ID, "node_id": nodeID("PullRequestReview", rv.ID), "user": s.userJSON(rv.User), "body": rv.Body,
		"state": rv.State, "html_url": html, "pull_request_url": pull, "commit_id": rv.CommitID,
		"author_association": "NONE",
		"_links":             object{"html": object{"href": html}, "pull_request": object{"href": pull}},
	}
	if rv.State != "PENDING" {
		o["submitted_at"] = timestamp(rv.At)
	}
	return o
}

// Reviews returns the reviews of a pull request, in order.
func (s *Server) Reviews(owner, repo string, number int) []PullReview {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullReview
	if rs := s.st.repo(owner, repo); rs != nil {
		for _, rv := range rs.reviews {
			if rv.Number == number {
				out = append(out, *rv)
			}
		}
	}
	return out
}

// AddReview adds a submitted review of a pull request by anyone (a human's, a forged one); a zero ID gets a
// deterministic one, which AddReview returns.
func (s *Server) AddReview(owner, repo string, number int, rv PullReview) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, pr := s.mustPull("AddReview", owner, repo, number)
	if rv.ID == 0 {
		rv.ID = s.st.nextID(reviewIDBase)
	}
	if rv.State == "" {
		rv.State = "COMMENTED"
	}
	if rv.CommitID == "" {
		rv.CommitID = pr.HeadSHA
	}
	rv.Number = number
	rs.reviews = append(rs.reviews, &rv)
	return rv.ID
}

func (s *Server) mustPull(caller, owner, repo string, number int) (*repoState, *PullRequest) {
	s.t.Helper()
	rs := s.mustRepo(caller, owner, repo)
	pr := rs.pulls[number]
	if pr == nil {
		s.t.Fatalf("fakegithub: %s: no pull request #%d in %s/%s", caller, number, owner, repo)
	}
	return rs, pr
}
