package fakegithub_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

// TestTagBeforeBranch: a bare ref that names both a tag and a branch is the tag, as git resolves it; only
// refs/heads/NAME is certainly the branch.
func TestTagBeforeBranch(t *testing.T) {
	s := seeded(t)
	tagSHA := "2222222222222222222222222222222222222222"
	s.SetFile(owner, repoName, "main", "config.yml", []byte("branch\n"))
	s.SetFile(owner, repoName, tagSHA, "config.yml", []byte("tag\n"))
	s.AddTag(owner, repoName, "main", tagSHA)
	s.AddWorkflow(owner, repoName, "infra-agent.yml")
	gh := s.Client(t, installationID)
	ctx := context.Background()
	for ref, want := range map[string]string{"main": "tag\n", "refs/tags/main": "tag\n", "refs/heads/main": "branch\n"} {
		fc, _, _, err := gh.Repositories.GetContents(ctx, owner, repoName, "config.yml", &github.RepositoryContentGetOptions{Ref: ref})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if got, _ := fc.GetContent(); got != want {
			t.Errorf("config.yml at %s = %q, want %q", ref, got, want)
		}
	}
	for ref, wantTag := range map[string]bool{"main": true, "refs/heads/main": false} {
		link, _, err := gh.Repositories.GetArchiveLink(ctx, owner, repoName, github.Tarball, &github.RepositoryContentGetOptions{Ref: ref}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if onTag := archiveCommit(t, link.String()) == tagSHA; onTag != wantTag {
			t.Errorf("the archive of %q is of the tag: %v, want %v", ref, onTag, wantTag)
		}
		if _, err := gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, owner, repoName, "infra-agent.yml",
			github.CreateWorkflowDispatchEventRequest{Ref: ref}); err != nil {
			t.Fatal(err)
		}
		ds := s.Dispatches(owner, repoName)
		run, _, err := gh.Actions.GetWorkflowRunByID(ctx, owner, repoName, ds[len(ds)-1].RunID)
		if err != nil {
			t.Fatal(err)
		}
		if onTag := run.GetHeadSHA() == tagSHA; onTag != wantTag {
			t.Errorf("dispatch on %q ran on %s; on the tag: %v, want %v", ref, run.GetHeadSHA(), onTag, wantTag)
		}
	}
}

// archiveCommit downloads a tarball and returns the commit its header names.
func archiveCommit(t *testing.T, link string) string {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("the archive is not gzip: %v", err)
	}
	h, err := tar.NewReader(gz).Next()
	if err != nil || h.Typeflag != tar.TypeXGlobalHeader {
		t.Fatalf("the archive does not start with its commit: %v", err)
	}
	return h.PAXRecords["comment"]
}

func TestWorkflowRunsByTitle(t *testing.T) {
	s := seeded(t)
	s.AddWorkflow(owner, repoName, "infra-agent.yml")
	s.SetWorkflowRunName(owner, repoName, "infra-agent.yml", "infra-agent job ${{ inputs.job_id }}")
	forged := s.AddWorkflowRun(owner, repoName, fakegithub.WorkflowRun{
		Workflow: "infra-agent.yml", Event: "pull_request", DisplayTitle: "infra-agent job j1", HeadBranch: "patch-1",
		HeadOwner: "mallory", HeadRepo: "infra",
	})
	gh := s.Client(t, installationID)
	ctx := context.Background()
	if _, err := gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, owner, repoName, "infra-agent.yml",
		github.CreateWorkflowDispatchEventRequest{Ref: "refs/heads/main", Inputs: map[string]any{"job_id": "j1"}}); err != nil {
		t.Fatal(err)
	}
	dispatched := s.Dispatches(owner, repoName)[0].RunID
	all, _, err := gh.Actions.ListWorkflowRunsByFileName(ctx, owner, repoName, "infra-agent.yml", &github.ListWorkflowRunsOptions{})
	if err != nil || all.GetTotalCount() != 2 {
		t.Fatalf("runs = %+v, %v; want 2", all, err)
	}
	runs, _, err := gh.Actions.ListWorkflowRunsByFileName(ctx, owner, repoName, "infra-agent.yml", &github.ListWorkflowRunsOptions{
		Event: "workflow_dispatch", Branch: "main"})
	if err != nil || runs.GetTotalCount() != 1 {
		t.Fatalf("dispatched runs = %+v, %v; want 1", runs, err)
	}
	r := runs.WorkflowRuns[0]
	if r.GetID() != dispatched || r.GetDisplayTitle() != "infra-agent job j1" || r.GetHeadRepository().GetFullName() != "acme/infra" {
		t.Errorf("run = %d %q from %s, want %d titled after the job", r.GetID(), r.GetDisplayTitle(), r.GetHeadRepository().GetFullName(), dispatched)
	}
	f, _, err := gh.Actions.GetWorkflowRunByID(ctx, owner, repoName, forged)
	if err != nil || f.GetEvent() != "pull_request" || f.GetHeadRepository().GetFullName() != "mallory/infra" {
		t.Errorf("forged run = %+v, %v", f, err)
	}
}

func TestListComments(t *testing.T) {
	s := seeded(t)
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 3, HeadRef: "topic"})
	for range 5 {
		s.AddComment(owner, repoName, 3, fakegithub.Comment{User: "alice", Body: "hi"})
	}
	gh := s.Client(t, installationID)
	ctx := context.Background()
	page1, resp, err := gh.Issues.ListComments(ctx, owner, repoName, 3, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 3}})
	if err != nil || len(page1) != 3 || resp.NextPage != 2 {
		t.Fatalf("page 1: %d comments, next %d, %v", len(page1), resp.NextPage, err)
	}
	future := time.Now().Add(time.Hour)
	none, _, err := gh.Issues.ListComments(ctx, owner, repoName, 3, &github.IssueListCommentsOptions{Since: &future})
	if err != nil || len(none) != 0 {
		t.Errorf("comments since an hour ahead: %d, %v", len(none), err)
	}
}

func TestBranchProtection(t *testing.T) {
	s := seeded(t)
	s.AddBranch(owner, repoName, "release", headSHA)
	s.AddBranch(owner, repoName, "guarded", headSHA)
	s.ProtectBranch(owner, repoName, "release")
	s.AddBranchRule(owner, repoName, "guarded", "non_fast_forward")
	gh := s.Client(t, installationID)
	ctx := context.Background()
	for branch, want := range map[string]bool{"release": true, "guarded": false, "main": false} {
		b, _, err := gh.Repositories.GetBranch(ctx, owner, repoName, branch, 0)
		if err != nil || b.GetProtected() != want {
			t.Errorf("branch %s protected = %v (%v), want %v", branch, b.GetProtected(), err, want)
		}
	}
	rules, _, err := gh.Repositories.GetRulesForBranch(ctx, owner, repoName, "guarded")
	if err != nil || len(rules) != 1 || rules[0].Type != "non_fast_forward" {
		t.Errorf("rules = %+v, %v", rules, err)
	}
	if rules, _, _ := gh.Repositories.GetRulesForBranch(ctx, owner, repoName, "main"); len(rules) != 0 {
		t.Errorf("main has rules %+v", rules)
	}
	// Rules need only metadata:read.
	s.SetInstallationPermissions(installationID, map[string]string{"metadata": "read"})
	if _, _, err := s.Client(t, installationID).Repositories.GetRulesForBranch(ctx, owner, repoName, "guarded"); err != nil {
		t.Errorf("rules with metadata:read: %v", err)
	}
	_ = http.StatusOK
}
