package fakegithub

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// checkRunBody is the body of POST and PATCH check-runs; pointers tell absent from empty.
type checkRunBody struct {
	Name        *string    `json:"name"`
	HeadSHA     *string    `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	Conclusion  *string    `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title       string           `json:"title"`
		Summary     string           `json:"summary"`
		Text        *string          `json:"text"`
		Annotations []annotationBody `json:"annotations"`
	} `json:"output"`
	Actions *[]struct {
		Label       string `json:"label"`
		Description string `json:"description"`
		Identifier  string `json:"identifier"`
	} `json:"actions"`
}

type annotationBody struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     int    `json:"start_column"`
	EndColumn       int    `json:"end_column"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title"`
	RawDetails      string `json:"raw_details"`
}

func (s *Server) createCheckRun(c *call) reply {
	var b checkRunBody
	if rep := decodeBody(c, &b); rep != nil {
		return *rep
	}
	if rep := checkRunLimits(c, &b); rep != nil {
		return *rep
	}
	if sha := *b.HeadSHA; !isSHA(sha) && !c.repo.knowsCommit(sha) {
		return invalid(c, "CheckRun", "head_sha", "No commit found for SHA: "+sha)
	}
	now := time.Now().UTC().Truncate(time.Second)
	cr := &CheckRun{ID: s.st.nextID(checkRunIDBase), Status: "queued", StartedAt: now}
	applyCheckRun(cr, &b, now)
	c.repo.checkRuns = append(c.repo.checkRuns, cr)
	return ok(http.StatusCreated, s.checkRunJSON(c.repo, cr))
}

func (s *Server) updateCheckRun(c *call) reply {
	cr := c.repo.checkRun(intParam(c, "check_run_id"))
	if cr == nil {
		return notFound()
	}
	var b checkRunBody
	if rep := decodeBody(c, &b); rep != nil {
		return *rep
	}
	if rep := checkRunLimits(c, &b); rep != nil {
		return *rep
	}
	b.HeadSHA = nil // not a parameter of the update; GitHub ignores it
	applyCheckRun(cr, &b, time.Now().UTC().Truncate(time.Second))
	return ok(http.StatusOK, s.checkRunJSON(c.repo, cr))
}

// applyCheckRun applies a create or update: fields sent replace the current ones, annotations accumulate, and a
// conclusion completes the run, as on GitHub.
func applyCheckRun(cr *CheckRun, b *checkRunBody, now time.Time) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&cr.Name, b.Name)
	set(&cr.HeadSHA, b.HeadSHA)
	set(&cr.DetailsURL, b.DetailsURL)
	set(&cr.ExternalID, b.ExternalID)
	set(&cr.Status, b.Status)
	if b.StartedAt != nil {
		cr.StartedAt = b.StartedAt.UTC()
	}
	if b.Conclusion != nil {
		cr.Conclusion, cr.Status = *b.Conclusion, "completed"
	}
	if cr.Status == "completed" && cr.CompletedAt.IsZero() {
		cr.CompletedAt = now
	}
	if b.CompletedAt != nil {
		cr.CompletedAt = b.CompletedAt.UTC()
	}
	if o := b.Output; o != nil {
		cr.Output.Title, cr.Output.Summary = o.Title, o.Summary
		set(&cr.Output.Text, o.Text)
		for _, a := range o.Annotations {
			cr.Output.Annotations = append(cr.Output.Annotations, Annotation(a))
		}
	}
	if b.Actions != nil {
		cr.Actions = nil
		for _, a := range *b.Actions {
			cr.Actions = append(cr.Actions, CheckRunAction(a))
		}
	}
}

func (s *Server) getCheckRun(c *call) reply {
	cr := c.repo.checkRun(intParam(c, "check_run_id"))
	if cr == nil {
		return notFound()
	}
	return ok(http.StatusOK, s.checkRunJSON(c.repo, cr))
}

// listCheckRunsForRef lists the check runs of a commit (ref is a SHA, a branch or refs/heads/...), newest first,
// filtered as GitHub filters them (see listRuns).
func (s *Server) listCheckRunsForRef(c *call) reply {
	shas := map[string]bool{}
	for _, k := range c.repo.refKeys(c.params["ref"]) {
		shas[k] = true
	}
	return s.listRuns(c, func(cr *CheckRun) bool { return shas[cr.HeadSHA] })
}

// listRuns lists the check runs of the repository that in selects, newest first, filtered by check_name, status and
// app_id; filter=latest (the default) keeps the newest run of each name.
func (s *Server) listRuns(c *call, in func(*CheckRun) bool) reply {
	rs := c.repo
	name, status, app := c.query.Get("check_name"), c.query.Get("status"), c.query.Get("app_id")
	latest := c.query.Get("filter") != "all"
	var runs []*CheckRun
	seen := map[string]bool{}
	for i := len(rs.checkRuns) - 1; i >= 0; i-- {
		cr := rs.checkRuns[i]
		if !in(cr) || name != "" && cr.Name != name || status != "" && cr.Status != status ||
			app != "" && app != strconv.FormatInt(s.checkRunApp(cr), 10) {
			continue
		}
		if latest && seen[cr.Name] {
			continue
		}
		seen[cr.Name] = true
		runs = append(runs, cr)
	}
	rep := reply{status: http.StatusOK}
	items := page(s, c, runs, &rep, func(cr *CheckRun) any { return s.checkRunJSON(rs, cr) })
	rep.body = object{"total_count": len(runs), "check_runs": items}
	return rep
}

func (rs *repoState) checkRun(id int64) *CheckRun {
	i := slices.IndexFunc(rs.checkRuns, func(cr *CheckRun) bool { return cr.ID == id })
	if i < 0 {
		return nil
	}
	return rs.checkRuns[i]
}

// knowsCommit reports whether sha is a commit the fake knows in the repository: a branch head, a pull request
// head or a ref files were seeded at.
func (rs *repoState) knowsCommit(sha string) bool {
	for _, s := range rs.branches {
		if s == sha {
			return true
		}
	}
	for _, pr := range rs.pulls {
		if pr.HeadSHA == sha {
			return true
		}
	}
	_, ok := rs.files[sha]
	return ok
}

func (s *Server) checkRunJSON(rs *repoState, cr *CheckRun) object {
	full := rs.Owner + "/" + rs.Name
	api := s.apiURL("/repos/%s/check-runs/%d", full, cr.ID)
	nullable := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	var prs []any
	for _, n := range sortedPulls(rs) {
		pr := rs.pulls[n]
		if pr.HeadSHA != cr.HeadSHA || !strings.EqualFold(pr.HeadOwner, rs.Owner) {
			continue // GitHub lists only same-repository pull requests here
		}
		ref := func(branch, sha string) object {
			return object{"ref": branch, "sha": sha,
				"repo": object{"id": rs.ID, "url": s.apiURL("/repos/%s", full), "name": rs.Name}}
		}
		prs = append(prs, object{
			"id": stableID("pull", full+"#"+itoa(n)), "number": n, "url": s.apiURL("/repos/%s/pulls/%d", full, n),
			"head": ref(pr.HeadRef, pr.HeadSHA), "base": ref(pr.BaseRef, rs.branches[pr.BaseRef]),
		})
	}
	if prs == nil {
		prs = []any{}
	}
	app := s.appJSON()
	if cr.App != "" {
		app = s.otherAppJSON(cr.App)
	}
	var completed any
	if cr.Status == "completed" {
		completed = timestamp(cr.CompletedAt)
	}
	return object{
		"id": cr.ID, "node_id": nodeID("CheckRun", cr.ID), "head_sha": cr.HeadSHA, "name": cr.Name,
		"external_id": cr.ExternalID, "url": api, "html_url": htmlBase + "/" + full + "/runs/" + itoa(int(cr.ID)),
		"details_url": nullable(cr.DetailsURL), "status": cr.Status, "conclusion": nullable(cr.Conclusion),
		"started_at": timestamp(cr.StartedAt), "completed_at": completed,
		"output": object{
			"title": nullable(cr.Output.Title), "summary": nullable(cr.Output.Summary),
			"text": nullable(cr.Output.Text), "annotations_count": len(cr.Output.Annotations),
			"annotations_url": api + "/annotations",
		},
		"check_suite":   object{"id": suiteID(full, cr.App, cr.HeadSHA)},
		"app":           app,
		"pull_requests": prs,
	}
}
