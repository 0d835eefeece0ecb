package broker

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/store"
)

// refusal is a request the broker answers with an error status and no token.
type refusal struct {
	status int
	kind   string // wire.ErrorDetail.Type
	reason string
	state  store.JobState
}

func (r *refusal) Error() string { return r.reason }

func refuse(status int, format string, a ...any) *refusal {
	kinds := map[int]string{
		http.StatusBadRequest: "invalid_request", http.StatusUnauthorized: "unauthenticated",
		http.StatusForbidden: "forbidden", http.StatusNotFound: "not_found", http.StatusConflict: "conflict",
		http.StatusTooManyRequests: "rate_limited", http.StatusServiceUnavailable: "unavailable",
	}
	return &refusal{status: status, kind: kinds[status], reason: fmt.Sprintf(format, a...)}
}

// notYourJob answers a claim of a job that is not the token's repository's,
// whether the job exists or not.
const notYourJob = "job %s is not a job of repository %s"

// workflowRef is the ref an Actions token names for the job's workflow file on
// the default branch: "owner/repo/.github/workflows/file.yml@refs/heads/main".
func workflowRef(j store.Job) string {
	return fmt.Sprintf("%s/%s/.github/workflows/%s@refs/heads/%s", j.Owner, j.Repo, j.Workflow, j.DefaultBranch)
}

// sameRef compares workflow refs; owner and repository names are
// case-insensitive on GitHub, paths and branches are not.
func sameRef(got, want string) bool {
	gotRepo, gotRest, _ := strings.Cut(got, "/.github/")
	wantRepo, wantRest, _ := strings.Cut(want, "/.github/")
	return strings.EqualFold(gotRepo, wantRepo) && gotRest == wantRest
}

// bindIdentity checks that a verified identity may act for job j: the token's
// repository is the job's (by id: a repository deleted and re-created under
// the same name has another), the run was started by workflow_dispatch of the
// configured workflow on the default branch, and the job is waiting for a
// runner or bound to this very run. A job of another repository (and so of
// any other installation) is 403 with the same words as an unknown job, so
// that job ids tell a caller nothing about other tenants, not even existence.
func bindIdentity(j store.Job, id identity) *refusal {
	if j.RepoID == 0 || id.repoID != j.RepoID {
		return refuse(http.StatusForbidden, notYourJob, j.ID, id.Repository)
	}
	if id.EventName != "workflow_dispatch" {
		return refuse(http.StatusForbidden, "the run was started by %q, not workflow_dispatch", id.EventName)
	}
	want := workflowRef(j)
	if id.WorkflowRef == "" && id.JobWorkflowRef == "" {
		return refuse(http.StatusForbidden, "the token names no workflow")
	}
	for _, ref := range []string{id.WorkflowRef, id.JobWorkflowRef} {
		if ref != "" && !sameRef(ref, want) {
			return refuse(http.StatusForbidden, "the run's workflow %s is not %s (the configured workflow on the default branch)", ref, want)
		}
	}
	if !j.State.Active() {
		r := refuse(http.StatusConflict, "the job ended (%s)", j.State)
		r.state = j.State
		return r
	}
	if j.RunID != 0 && j.RunID != id.runID {
		r := refuse(http.StatusConflict, "the job belongs to workflow run %d, not %d", j.RunID, id.runID)
		r.state = j.State
		return r
	}
	return nil
}

// checkRunner refuses self-hosted runners unless the repository allows them.
func checkRunner(id identity, cfg config.RepoConfig) *refusal {
	if id.RunnerEnvironment == "github-hosted" || cfg.Runner.SelfHosted {
		return nil
	}
	env := id.RunnerEnvironment
	if env == "" {
		env = "unknown"
	}
	return refuse(http.StatusForbidden, "the job ran on a %s runner; set runner.self_hosted: true in %s to allow self-hosted runners (they must be ephemeral)",
		env, config.RepoConfigPath)
}
