package fakegithub

import (
	"fmt"
	"net/http"
	"time"
)

// Check runs of other Apps (a CI's), seeded with AddCheckRun: what a failing check that triggers an automatic
// fix looks like, with its output and annotations.

// AddCheckRun seeds a check run; App names the App that made it ("" is this App). A zero ID gets a
// deterministic one, which AddCheckRun returns. Its suite is its App's suite of its commit.
func (s *Server) AddCheckRun(owner, repo string, cr CheckRun) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("AddCheckRun", owner, repo)
	if cr.ID == 0 {
		cr.ID = s.st.nextID(checkRunIDBase)
	}
	if cr.Status == "" {
		cr.Status = "completed"
	}
	if cr.StartedAt.IsZero() {
		cr.StartedAt = time.Now().UTC().Truncate(time.Second)
	}
	if cr.Status == "completed" && cr.CompletedAt.IsZero() {
		cr.CompletedAt = cr.StartedAt
	}
	rs.checkRuns = append(rs.checkRuns, &cr)
	return cr.ID
}

// CheckSuiteID returns the id of the check suite an App's check runs of a commit belong to ("" is this App).
func (s *Server) CheckSuiteID(owner, repo, app, sha string) int64 {
	return suiteID(owner+"/"+repo, app, sha)
}

func suiteID(full, app, sha string) int64 {
	if app == "" {
		return stableID("check_suite", full+"@"+sha)
	}
	return stableID("check_suite", full+"@"+sha+":"+app)
}

// listCheckRunsForSuite lists a check suite's runs, newest first, filtered like listCheckRunsForRef.
func (s *Server) listCheckRunsForSuite(c *call) reply {
	full, id := c.repo.Owner+"/"+c.repo.Name, intParam(c, "check_suite_id")
	return s.listRuns(c, func(cr *CheckRun) bool { return suiteID(full, cr.App, cr.HeadSHA) == id })
}

// checkRunApp is the id of the App that made a check run.
func (s *Server) checkRunApp(cr *CheckRun) int64 {
	if cr.App == "" {
		return s.appID
	}
	return stableID("app", cr.App)
}

// listAnnotations lists a check run's annotations, in the order they were sent.
func (s *Server) listAnnotations(c *call) reply {
	rs := c.repo
	cr := rs.checkRun(intParam(c, "check_run_id"))
	if cr == nil {
		return notFound()
	}
	rep := reply{status: http.StatusOK}
	rep.body = page(s, c, cr.Output.Annotations, &rep, func(a Annotation) any {
		nullable := func(n int) any {
			if n == 0 {
				return nil
			}
			return n
		}
		return object{
			"path": a.Path, "start_line": a.StartLine, "end_line": a.EndLine,
			"start_column": nullable(a.StartColumn), "end_column": nullable(a.EndColumn),
			"annotation_level": a.AnnotationLevel, "title": a.Title, "message": a.Message, "raw_details": a.RawDetails,
			"blob_href": fmt.Sprintf("%s/%s/%s/blob/%s/%s", htmlBase, rs.Owner, rs.Name, cr.HeadSHA, a.Path),
		}
	})
	return rep
}

// otherAppJSON renders an App that is not this one, for the check runs it made.
func (s *Server) otherAppJSON(slug string) object {
	id := stableID("app", slug)
	return object{
		"id": id, "slug": slug, "client_id": fmt.Sprintf("Iv1.%016x", id), "node_id": nodeID("Integration", id),
		"owner": s.userJSON(slug + "-owner"), "name": slug, "description": "another App",
		"external_url": "https://example.com/" + slug, "html_url": htmlBase + "/apps/" + slug,
		"created_at": timestamp(s.st.created), "updated_at": timestamp(s.st.created),
		"permissions": map[string]string{"checks": "write"}, "events": []string{},
	}
}
