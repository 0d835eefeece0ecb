package fakegithub

import (
	"crypto/sha1"
	"encoding/hex"
	"maps"
	"strings"
	"time"
)

// AddInstallation adds an installation of the App on an account (an organisation or user login), with the
// permissions the App asks for: actions, checks, contents, issues and pull_requests write, metadata read.
func (s *Server) AddInstallation(id int64, account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.installations[id] = &installation{id: id, account: account, permissions: defaultInstallationPermissions()}
}

// SetInstallationPermissions replaces the permissions an installation grants (tokens can ask for less, never more).
func (s *Server) SetInstallationPermissions(id int64, permissions map[string]string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.st.installations[id]
	if inst == nil {
		s.t.Fatalf("fakegithub: SetInstallationPermissions(%d): AddInstallation first", id)
	}
	inst.permissions = maps.Clone(permissions)
}

// AddRepo adds a repository. A zero ID gets a deterministic one; an empty DefaultBranch means "main".
func (s *Server) AddRepo(r Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	if r.ID == 0 {
		r.ID = int64(100_000 + len(s.st.repos) + 1)
	}
	rs := &repoState{
		Repo:      r,
		files:     map[string]map[string][]byte{},
		branches:  map[string]string{r.DefaultBranch: fakeSHA(r.Owner + "/" + r.Name + "@" + r.DefaultBranch)},
		perms:     map[string]string{},
		pulls:     map[int]*PullRequest{},
		issues:    map[int]*Issue{},
		workflows: map[string]int64{},
		runNames:  map[string]string{},
		runs:      map[int64]*workflowRun{},
		tags:      map[string]string{},
		protected: map[string]bool{},
	}
	s.st.repos[repoKey(r.Owner, r.Name)] = rs
}

// AddBranch adds a branch (or moves it) to the given head SHA.
func (s *Server) AddBranch(owner, repo, branch, sha string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo("AddBranch", owner, repo).branches[branch] = sha
}

// SetFile stores a file at a ref: a branch name (which then exists) or a commit SHA.
func (s *Server) SetFile(owner, repo, ref, path string, content []byte) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("SetFile", owner, repo)
	if !isSHA(ref) {
		if _, ok := rs.branches[ref]; !ok {
			rs.branches[ref] = fakeSHA(owner + "/" + repo + "@" + ref)
		}
	}
	if rs.files[ref] == nil {
		rs.files[ref] = map[string][]byte{}
	}
	rs.files[ref][strings.Trim(path, "/")] = append([]byte(nil), content...)
}

// SetPermission sets a user's role on a repository: admin|maintain|write|triage|read|none.
func (s *Server) SetPermission(owner, repo, login string, perm string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch perm {
	case "admin", "maintain", "write", "triage", "read", "none":
	default:
		s.t.Fatalf("fakegithub: SetPermission: unknown role %q (want admin|maintain|write|triage|read|none)", perm)
	}
	s.mustRepo("SetPermission", owner, repo).perms[strings.ToLower(login)] = perm
}

// AddPullRequest adds a pull request. Its head branch exists in the head repository at HeadSHA.
func (s *Server) AddPullRequest(owner, repo string, pr PullRequest) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("AddPullRequest", owner, repo)
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.BaseRef == "" {
		pr.BaseRef = rs.DefaultBranch
	}
	if pr.HeadOwner == "" {
		pr.HeadOwner = rs.Owner
	}
	if pr.HeadRepo == "" {
		pr.HeadRepo = rs.Name
	}
	if pr.HeadSHA == "" {
		pr.HeadSHA = fakeSHA(pr.HeadOwner + "/" + pr.HeadRepo + "@" + pr.HeadRef)
	}
	pr.Files = append([]string(nil), pr.Files...)
	if head := s.st.repo(pr.HeadOwner, pr.HeadRepo); head != nil && pr.HeadRef != "" {
		head.branches[pr.HeadRef] = pr.HeadSHA
	}
	if _, ok := rs.branches[pr.BaseRef]; !ok {
		rs.branches[pr.BaseRef] = fakeSHA(owner + "/" + repo + "@" + pr.BaseRef)
	}
	rs.pulls[pr.Number] = &pr
}

// AddIssue adds an issue.
func (s *Server) AddIssue(owner, repo string, issue Issue) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if issue.State == "" {
		issue.State = "open"
	}
	issue.Labels = append([]string(nil), issue.Labels...)
	s.mustRepo("AddIssue", owner, repo).issues[issue.Number] = &issue
}

// AddComment adds a comment on an issue or pull request, for example the one a webhook payload refers to; a zero
// ID gets a deterministic one, which AddComment returns.
func (s *Server) AddComment(owner, repo string, number int, c Comment) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("AddComment", owner, repo)
	if c.ID == 0 {
		c.ID = s.st.nextID(commentIDBase)
	}
	rs.comments = append(rs.comments, &issueComment{Comment: c, number: number, created: time.Now().UTC()})
	return c.ID
}

// AddWorkflow adds a workflow file (under .github/workflows) that accepts workflow_dispatch; dispatching a workflow
// that was not added is answered 404.
func (s *Server) AddWorkflow(owner, repo, file string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("AddWorkflow", owner, repo)
	if _, ok := rs.workflows[file]; !ok {
		rs.workflows[file] = s.st.nextID(workflowIDBase)
	}
}

// SetWorkflowRunName gives a workflow added with AddWorkflow a run-name, as its `run-name:` key would: the
// display_title of the runs a dispatch creates, with each "${{ inputs.NAME }}" replaced by the dispatch's input.
func (s *Server) SetWorkflowRunName(owner, repo, file, template string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("SetWorkflowRunName", owner, repo)
	if _, ok := rs.workflows[file]; !ok {
		s.t.Fatalf("fakegithub: SetWorkflowRunName: AddWorkflow(%s) first", file)
	}
	rs.runNames[file] = template
}

// WorkflowRun is a workflow run to seed with AddWorkflowRun: one that a dispatch did not create, such as a run of
// a pull request's edited workflow.
type WorkflowRun struct {
	Workflow     string // a file added with AddWorkflow
	Event        string // pull_request, push, workflow_dispatch, ...
	DisplayTitle string
	HeadBranch   string
	HeadSHA      string
	// HeadOwner and HeadRepo name the repository the run's code comes from (a fork's for pull requests from
	// forks); empty means the repository itself.
	HeadOwner, HeadRepo string
	Status              string // queued (default) | in_progress | completed
	Conclusion          string
}

// AddWorkflowRun seeds a workflow run and returns its id.
func (s *Server) AddWorkflowRun(owner, repo string, r WorkflowRun) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("AddWorkflowRun", owner, repo)
	wid, ok := rs.workflows[r.Workflow]
	if !ok {
		s.t.Fatalf("fakegithub: AddWorkflowRun: AddWorkflow(%s) first", r.Workflow)
	}
	if r.Status == "" {
		r.Status = "queued"
	}
	if r.HeadSHA == "" {
		r.HeadSHA = fakeSHA(owner + "/" + repo + "@" + r.HeadBranch)
	}
	now := time.Now().UTC().Truncate(time.Second)
	run := &workflowRun{
		id: s.st.nextID(runIDBase), workflowID: wid, file: r.Workflow, ref: r.HeadBranch, sha: r.HeadSHA,
		status: r.Status, conclusion: r.Conclusion, runNumber: len(rs.runs) + 1, created: now, updated: now,
		event: r.Event, displayTitle: r.DisplayTitle, headOwner: r.HeadOwner, headRepo: r.HeadRepo,
	}
	rs.runs[run.id] = run
	return run.id
}

// AddTag adds a tag (or moves it) to a commit. A ref given by bare name resolves to a tag before a branch of
// the same name, as git resolves it: only "refs/heads/NAME" names the branch for certain.
func (s *Server) AddTag(owner, repo, tag, sha string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo("AddTag", owner, repo).tags[tag] = sha
}

// ProtectBranch turns branch protection on for a branch (GET /repos/{owner}/{repo}/branches/{branch} then says
// "protected": true).
func (s *Server) ProtectBranch(owner, repo, branch string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo("ProtectBranch", owner, repo).protected[branch] = true
}

// AddBranchRule makes a repository ruleset rule of the given type (pull_request, non_fast_forward, update, ...)
// apply to a branch, as GET /repos/{owner}/{repo}/rules/branches/{branch} lists them: a ruleset of its own with
// that one rule (a pull_request rule requires one approval), which the App cannot bypass.
func (s *Server) AddBranchRule(owner, repo, branch, ruleType string) {
	s.t.Helper()
	r := Ruleset{Branch: branch, Types: []string{ruleType}}
	if ruleType == "pull_request" {
		r.Approvals = 1
	}
	s.AddRuleset(owner, repo, r)
}

// SetRunStatus moves a workflow run created by a dispatch to a status (queued|in_progress|completed) and
// conclusion (empty unless completed), as the Actions runner would.
func (s *Server) SetRunStatus(owner, repo string, runID int64, status, conclusion string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.mustRepo("SetRunStatus", owner, repo).runs[runID]
	if run == nil {
		s.t.Fatalf("fakegithub: SetRunStatus: no workflow run %d in %s/%s", runID, owner, repo)
	}
	run.status, run.conclusion, run.updated = status, conclusion, time.Now().UTC()
}

// AddHookDelivery adds a webhook delivery of the App; a zero ID gets a deterministic one, which it returns.
func (s *Server) AddHookDelivery(d HookDelivery) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.ID == 0 {
		d.ID = s.st.nextID(deliveryIDBase)
	}
	if d.Status == "" {
		d.Status = "OK"
	}
	if d.StatusCode == 0 {
		d.StatusCode = 200
	}
	if d.DeliveredAt.IsZero() {
		d.DeliveredAt = time.Now().UTC()
	}
	s.st.deliveries = append(s.st.deliveries, d)
	return d.ID
}

func (s *Server) mustRepo(caller, owner, repo string) *repoState {
	s.t.Helper()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		s.t.Fatalf("fakegithub: %s(%s/%s): AddRepo first", caller, owner, repo)
	}
	return rs
}

// isSHA reports whether ref is a full commit SHA (GitHub writes them in lower-case hex).
func isSHA(ref string) bool {
	if len(ref) != 40 {
		return false
	}
	for _, c := range ref {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// fakeSHA derives a stable commit-like SHA from a name.
func fakeSHA(name string) string {
	sum := sha1.Sum([]byte(name))
	return hex.EncodeToString(sum[:])
}
