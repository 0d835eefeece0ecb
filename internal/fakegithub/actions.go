package fakegithub

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxDispatchInputs is GitHub's limit on workflow_dispatch inputs.
const maxDispatchInputs = 25

// dispatchWorkflow records a workflow_dispatch and creates its queued run. The workflow is named by file name or
// id; the ref must be an existing branch (GitHub answers 422 "No ref found" otherwise).
func (s *Server) dispatchWorkflow(c *call) reply {
	rs := c.repo
	wf := c.params["workflow_id"]
	file, id := "", int64(0)
	for f, wid := range rs.workflows {
		if f == wf || strconv.FormatInt(wid, 10) == wf {
			file, id = f, wid
		}
	}
	if file == "" {
		return notFound()
	}
	var body struct {
		Ref              string         `json:"ref"`
		Inputs           map[string]any `json:"inputs"`
		ReturnRunDetails bool           `json:"return_run_details"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return *rep
	}
	if len(body.Inputs) > maxDispatchInputs {
		return invalid(c, "Workflow", "inputs",
			fmt.Sprintf("%d inputs; a workflow_dispatch accepts at most %d", len(body.Inputs), maxDispatchInputs))
	}
	sha, branch := rs.resolve(body.Ref)
	name := branch
	if branch == "" {
		name = strings.TrimPrefix(body.Ref, "refs/tags/")
		if _, isTag := rs.tags[name]; !isTag {
			sha = ""
		}
	}
	if sha == "" {
		r := ghError(http.StatusUnprocessableEntity, "No ref found for: "+body.Ref, c.op.desc.DocURL)
		r.violation = "workflow_dispatch ref " + strconv.Quote(body.Ref) + " is not an existing branch or tag"
		return r
	}
	now := time.Now().UTC().Truncate(time.Second)
	run := &workflowRun{
		id: s.st.nextID(runIDBase), workflowID: id, file: file, ref: name, sha: sha,
		status: "queued", runNumber: len(rs.runs) + 1, created: now, updated: now,
		event: "workflow_dispatch", displayTitle: runName(rs.runNames[file], file, body.Inputs),
	}
	rs.runs[run.id] = run
	rs.dispatches = append(rs.dispatches, Dispatch{Workflow: file, Ref: body.Ref, Inputs: body.Inputs, RunID: run.id})
	if !body.ReturnRunDetails {
		return reply{status: http.StatusNoContent}
	}
	full := rs.Owner + "/" + rs.Name
	return ok(http.StatusOK, object{
		"workflow_run_id": run.id,
		"run_url":         s.apiURL("/repos/%s/actions/runs/%d", full, run.id),
		"html_url":        fmt.Sprintf("%s/%s/actions/runs/%d", htmlBase, full, run.id),
	})
}

// runName evaluates a workflow's run-name for a dispatch: each "${{ inputs.NAME }}" becomes the input's value.
// Without a run-name, GitHub shows the workflow's name.
func runName(template, file string, inputs map[string]any) string {
	if template == "" {
		return strings.TrimSuffix(file, ".yml")
	}
	return inputExpr.ReplaceAllStringFunc(template, func(m string) string {
		name := inputExpr.FindStringSubmatch(m)[1]
		if v, ok := inputs[name]; ok {
			return fmt.Sprint(v)
		}
		return ""
	})
}

var inputExpr = regexp.MustCompile(`\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}`)

func (s *Server) getRun(c *call) reply {
	run := c.repo.runs[intParam(c, "run_id")]
	if run == nil {
		return notFound()
	}
	return ok(http.StatusOK, s.runJSON(c.repo, run))
}

// maxRunResults is how many runs GitHub's list endpoints return for one query at most, whatever the pages.
const maxRunResults = 1000

// listWorkflowRuns lists a workflow's runs, newest first, filtered by event, branch, status and head_sha. GitHub's
// description types created as a single date-time, which GitHub reads as search syntax; the fake does not
// emulate that and refuses it.
func (s *Server) listWorkflowRuns(c *call) reply {
	rs := c.repo
	wf := c.params["workflow_id"]
	var wid int64
	for f, id := range rs.workflows {
		if f == wf || strconv.FormatInt(id, 10) == wf {
			wid = id
		}
	}
	if wid == 0 {
		return notFound()
	}
	q := c.query
	if q.Get("created") != "" {
		return invalid(c, "WorkflowRun", "created", "the fake does not filter runs by created; filter the list instead")
	}
	var runs []*workflowRun
	for _, run := range rs.runs {
		switch {
		case run.workflowID != wid,
			q.Get("event") != "" && q.Get("event") != run.event,
			q.Get("branch") != "" && q.Get("branch") != run.ref,
			q.Get("head_sha") != "" && q.Get("head_sha") != run.sha,
			q.Get("status") != "" && q.Get("status") != run.status && q.Get("status") != run.conclusion:
			continue
		}
		runs = append(runs, run)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].id > runs[j].id })
	runs = runs[:min(len(runs), maxRunResults)]
	out := reply{status: http.StatusOK}
	items := page(s, c, runs, &out, func(run *workflowRun) any { return s.runJSON(rs, run) })
	out.body = object{"total_count": len(runs), "workflow_runs": items}
	return out
}

func (s *Server) runJSON(rs *repoState, run *workflowRun) object {
	full := rs.Owner + "/" + rs.Name
	api := s.apiURL("/repos/%s/actions/runs/%d", full, run.id)
	var conclusion any
	if run.conclusion != "" {
		conclusion = run.conclusion
	}
	repo := s.repoJSON(rs.Owner, rs.Name)
	head := repo
	if run.headOwner != "" {
		head = s.repoJSON(run.headOwner, run.headRepo)
	}
	title := run.displayTitle
	if title == "" {
		title = strings.TrimSuffix(run.file, ".yml")
	}
	event := run.event
	if event == "" {
		event = "workflow_dispatch"
	}
	return object{
		"id": run.id, "node_id": nodeID("WorkflowRun", run.id), "name": strings.TrimSuffix(run.file, ".yml"),
		"display_title": title, "run_number": run.runNumber, "run_attempt": 1,
		"event": event, "status": run.status, "conclusion": conclusion,
		"head_branch": run.ref, "head_sha": run.sha, "path": ".github/workflows/" + run.file,
		"workflow_id": run.workflowID, "check_suite_id": stableID("check_suite", full+"@"+run.sha),
		"url": api, "html_url": fmt.Sprintf("%s/%s/actions/runs/%d", htmlBase, full, run.id),
		"jobs_url": api + "/jobs", "logs_url": api + "/logs", "artifacts_url": api + "/artifacts",
		"cancel_url": api + "/cancel", "rerun_url": api + "/rerun",
		"check_suite_url": s.apiURL("/repos/%s/check-suites/%d", full, stableID("check_suite", full+"@"+run.sha)),
		"workflow_url":    s.apiURL("/repos/%s/actions/workflows/%d", full, run.workflowID),
		"pull_requests":   []any{}, "referenced_workflows": []any{},
		"created_at": timestamp(run.created), "updated_at": timestamp(run.updated),
		"run_started_at": timestamp(run.created),
		"actor":          s.userJSON(appSlug + "[bot]"), "triggering_actor": s.userJSON(appSlug + "[bot]"),
		"head_commit": object{
			"id": run.sha, "tree_id": fakeSHA("tree:" + run.sha), "message": "fake commit",
			"timestamp": timestamp(run.created),
			"author":    object{"name": "fake", "email": "fake@example.com"},
			"committer": object{"name": "fake", "email": "fake@example.com"},
		},
		"repository": repo, "head_repository": head,
	}
}

// cancelRun cancels a run that has not completed (202); GitHub answers 409 for a run that already completed.
func (s *Server) cancelRun(c *call) reply {
	run := c.repo.runs[intParam(c, "run_id")]
	if run == nil {
		return notFound()
	}
	if run.status == "completed" {
		return ghError(http.StatusConflict, "Cannot cancel a workflow run that is completed.", c.op.desc.DocURL)
	}
	run.status, run.conclusion, run.updated = "completed", "cancelled", time.Now().UTC().Truncate(time.Second)
	return ok(http.StatusAccepted, object{})
}
