package fakegithub

import (
	"fmt"
	"net/http"
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
	branch := strings.TrimPrefix(body.Ref, "refs/heads/")
	sha, isBranch := rs.branches[branch]
	if !isBranch {
		r := ghError(http.StatusUnprocessableEntity, "No ref found for: "+body.Ref, c.op.desc.DocURL)
		r.violation = "workflow_dispatch ref " + strconv.Quote(body.Ref) + " is not an existing branch"
		return r
	}
	now := time.Now().UTC().Truncate(time.Second)
	run := &workflowRun{
		id: s.st.nextID(runIDBase), workflowID: id, file: file, ref: branch, sha: sha,
		status: "queued", runNumber: len(rs.dispatches) + 1, created: now, updated: now,
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

func (s *Server) getRun(c *call) reply {
	rs := c.repo
	run := rs.runs[intParam(c, "run_id")]
	if run == nil {
		return notFound()
	}
	full := rs.Owner + "/" + rs.Name
	api := s.apiURL("/repos/%s/actions/runs/%d", full, run.id)
	var conclusion any
	if run.conclusion != "" {
		conclusion = run.conclusion
	}
	repo := s.repoJSON(rs.Owner, rs.Name)
	return ok(http.StatusOK, object{
		"id": run.id, "node_id": nodeID("WorkflowRun", run.id), "name": strings.TrimSuffix(run.file, ".yml"),
		"display_title": strings.TrimSuffix(run.file, ".yml"), "run_number": run.runNumber, "run_attempt": 1,
		"event": "workflow_dispatch", "status": run.status, "conclusion": conclusion,
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
		"repository": repo, "head_repository": repo,
	})
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
