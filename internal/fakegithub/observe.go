package fakegithub

import (
	"maps"
	"regexp"
	"slices"
)

// Requests returns every request received, in order, including token minting.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.st.requests))
	for i, r := range s.st.requests {
		out[i] = Request{Method: r.Method, Path: r.Path, Query: maps.Clone(r.Query), Header: r.Header.Clone(),
			Body: slices.Clone(r.Body), Permissions: slices.Clone(r.Permissions), Status: r.Status}
	}
	return out
}

// Calls returns "METHOD /path" for every request in order, without the query and without the token minting
// calls (POST /app/installations/{id}/access_tokens) that client transports make on their own.
func (s *Server) Calls() []string {
	mint := regexp.MustCompile(`^/app/installations/[^/]+/access_tokens$`)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.st.requests {
		if r.Method == "POST" && mint.MatchString(r.Path) {
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// CheckRuns returns the current state of a repository's check runs, in creation order.
func (s *Server) CheckRuns(owner, repo string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return nil
	}
	out := make([]CheckRun, len(rs.checkRuns))
	for i, cr := range rs.checkRuns {
		out[i] = *cr
		out[i].Output.Annotations = slices.Clone(cr.Output.Annotations)
		out[i].Actions = slices.Clone(cr.Actions)
	}
	return out
}

// Comments returns the comments on an issue or pull request, in order (seeded ones included).
func (s *Server) Comments(owner, repo string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return nil
	}
	var out []Comment
	for _, c := range rs.comments {
		if c.number == number {
			out = append(out, c.Comment)
		}
	}
	return out
}

// Reactions returns the contents ("eyes", "+1", ...) of the reactions on an issue or review comment, in order.
func (s *Server) Reactions(owner, repo string, commentID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return nil
	}
	var out []string
	for _, c := range rs.comments {
		if c.ID != commentID {
			continue
		}
		for _, r := range c.reactions {
			out = append(out, r.content)
		}
	}
	if rc := rs.reviewComment(commentID); rc != nil {
		for _, r := range rc.reactions {
			out = append(out, r.content)
		}
	}
	return out
}

// Dispatches returns the workflow_dispatch events of a repository, in order.
func (s *Server) Dispatches(owner, repo string) []Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return nil
	}
	out := make([]Dispatch, len(rs.dispatches))
	for i, d := range rs.dispatches {
		out[i] = d
		out[i].Inputs = maps.Clone(d.Inputs)
	}
	return out
}

// Tokens returns the installation tokens minted so far, in order.
func (s *Server) Tokens() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Token, len(s.st.tokens))
	for i, t := range s.st.tokens {
		out[i] = *t
		out[i].Permissions = maps.Clone(t.Permissions)
		out[i].Repositories = slices.Clone(t.Repositories)
		out[i].RepositoryIDs = slices.Clone(t.RepositoryIDs)
	}
	return out
}

// Redeliveries returns the ids of the deliveries redelivered through POST /app/hook/deliveries/{id}/attempts.
func (s *Server) Redeliveries() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.redeliveries)
}

// RunStatus returns a workflow run's status and conclusion ("" when it has none); ok is false when there is no such
// run.
func (s *Server) RunStatus(owner, repo string, runID int64) (status, conclusion string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil || rs.runs[runID] == nil {
		return "", "", false
	}
	run := rs.runs[runID]
	return run.status, run.conclusion, true
}
