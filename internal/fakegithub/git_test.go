package fakegithub_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
	ghv88 "github.com/google/go-github/v88/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

// commitOnTopic seeds a pull request whose head branch "topic" has two files, and returns a client.
func commitOnTopic(t *testing.T) (*fakegithub.Server, *github.Client) {
	t.Helper()
	s := seeded(t)
	s.SetFiles(owner, repoName, "main", map[string][]byte{"main.tf": []byte("a\n")})
	s.SetFiles(owner, repoName, "topic", map[string][]byte{"main.tf": []byte("b\n"), "old.tf": []byte("old\n")})
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 1, Title: "t", User: "octocat", HeadRef: "topic",
		HeadSHA: headSHA, Files: []string{"main.tf", "old.tf"}})
	return s, s.Client(t, installationID)
}

// buildCommit makes a commit on topic's head: main.tf changed through a blob, old.tf deleted, new.tf added
// inline.
func buildCommit(t *testing.T, gh *github.Client) *github.Commit {
	t.Helper()
	ctx := context.Background()
	branch, _, err := gh.Repositories.GetBranch(ctx, owner, repoName, "topic", 0)
	if err != nil {
		t.Fatal(err)
	}
	blob, _, err := gh.Git.CreateBlob(ctx, owner, repoName, &github.Blob{Content: github.String("Yw=="), Encoding: github.String("base64")})
	if err != nil {
		t.Fatal(err)
	}
	tree, _, err := gh.Git.CreateTree(ctx, owner, repoName, branch.GetCommit().GetCommit().GetTree().GetSHA(), []*github.TreeEntry{
		{Path: github.String("main.tf"), Mode: github.String("100644"), Type: github.String("blob"), SHA: blob.SHA},
		{Path: github.String("old.tf"), Mode: github.String("100644"), Type: github.String("blob")},
		{Path: github.String("new.tf"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("n\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	commit, _, err := gh.Git.CreateCommit(ctx, owner, repoName, &github.Commit{
		Message: github.String("fix: things\n\nInfra-Agent-Job: j1\n"), Tree: &github.Tree{SHA: tree.SHA},
		Parents: []*github.Commit{{SHA: github.String(headSHA)}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return commit
}

func TestCommitThroughTheGitDataAPI(t *testing.T) {
	s, gh := commitOnTopic(t)
	ctx := context.Background()
	commit := buildCommit(t, gh)
	if !commit.GetVerification().GetVerified() || commit.GetAuthor().GetName() != "infra-agent[bot]" {
		t.Errorf("commit author %+v verification %+v: want the App's bot, signed by GitHub", commit.GetAuthor(), commit.GetVerification())
	}
	if sha, _ := s.Branch(owner, repoName, "topic"); sha != headSHA {
		t.Fatalf("a commit alone moved the branch to %s", sha)
	}
	ref, _, err := gh.Git.UpdateRef(ctx, owner, repoName, &github.Reference{Ref: github.String("refs/heads/topic"),
		Object: &github.GitObject{SHA: commit.SHA}}, false)
	if err != nil || ref.GetObject().GetSHA() != commit.GetSHA() {
		t.Fatalf("UpdateRef = %+v, %v", ref, err)
	}
	commits := s.GitCommits(owner, repoName)
	if len(commits) != 1 || len(commits[0].Parents) != 1 || commits[0].Parents[0] != headSHA {
		t.Fatalf("commits = %+v", commits)
	}
	files := commits[0].Files
	if string(files["main.tf"]) != "c" || string(files["new.tf"]) != "n\n" || files["old.tf"] != nil || len(files) != 2 {
		t.Errorf("the commit's files = %q", files)
	}
	// The branch, the pull request and the contents API all show the new commit; the old head keeps its files.
	pr, _, err := gh.PullRequests.Get(ctx, owner, repoName, 1)
	if err != nil || pr.GetHead().GetSHA() != commit.GetSHA() {
		t.Errorf("pull request head = %s (%v), want the new commit", pr.GetHead().GetSHA(), err)
	}
	content, _, _, err := gh.Repositories.GetContents(ctx, owner, repoName, "old.tf", &github.RepositoryContentGetOptions{Ref: headSHA})
	if err != nil || content == nil {
		t.Errorf("old.tf at the old head: %v", err)
	}
	if _, _, _, err := gh.Repositories.GetContents(ctx, owner, repoName, "old.tf", &github.RepositoryContentGetOptions{Ref: "topic"}); err == nil {
		t.Error("old.tf is still on topic after the commit deleted it")
	}
	if s.ForcePushes(owner, repoName) != 0 {
		t.Error("a fast-forward counted as a force push")
	}
	list, _, err := gh.PullRequests.ListCommits(ctx, owner, repoName, 1, nil)
	if err != nil || len(list) != 2 || list[0].GetSHA() != headSHA || list[0].GetAuthor().GetLogin() != "octocat" ||
		list[1].GetSHA() != commit.GetSHA() || list[1].GetAuthor().GetLogin() != "infra-agent[bot]" ||
		!strings.Contains(list[1].GetCommit().GetMessage(), "Infra-Agent-Job: j1") {
		t.Errorf("pull request commits = %v, %v: want the seeded head, then the App's commit", list, err)
	}
}

func TestRefUpdateThatIsNotAFastForwardIsRefused(t *testing.T) {
	s, gh := commitOnTopic(t)
	commit := buildCommit(t, gh)
	moved := strings.Repeat("9", 40)
	s.AddBranch(owner, repoName, "topic", moved) // someone pushed meanwhile
	_, resp, err := gh.Git.UpdateRef(context.Background(), owner, repoName, &github.Reference{Ref: github.String("heads/topic"),
		Object: &github.GitObject{SHA: commit.SHA}}, false)
	if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "not a fast forward") {
		t.Fatalf("UpdateRef on a moved branch = %v, want 422 not a fast forward", err)
	}
	if sha, _ := s.Branch(owner, repoName, "topic"); sha != moved {
		t.Errorf("topic = %s, want it left at %s", sha, moved)
	}
	if _, _, err := gh.Git.UpdateRef(context.Background(), owner, repoName, &github.Reference{Ref: github.String("heads/topic"),
		Object: &github.GitObject{SHA: commit.SHA}}, true); err != nil {
		t.Fatal(err)
	}
	if s.ForcePushes(owner, repoName) != 1 {
		t.Error("a forced update was not counted")
	}
}

func TestBranchCreateDeleteAndPullRequest(t *testing.T) {
	s, gh := commitOnTopic(t)
	ctx := context.Background()
	commit := buildCommit(t, gh)
	ref := &github.Reference{Ref: github.String("refs/heads/agent/remediate/issue-4-ab12"), Object: &github.GitObject{SHA: commit.SHA}}
	if _, _, err := gh.Git.CreateRef(ctx, owner, repoName, ref); err != nil {
		t.Fatal(err)
	}
	if _, resp, _ := gh.Git.CreateRef(ctx, owner, repoName, ref); resp == nil || resp.StatusCode != 422 {
		t.Fatalf("creating an existing ref: %v, want 422", resp)
	}
	pr, _, err := gh.PullRequests.Create(ctx, owner, repoName, &github.NewPullRequest{Title: github.String("fix: a"),
		Head: github.String("agent/remediate/issue-4-ab12"), Base: github.String("main"), Body: github.String("Fixes #4"),
		Draft: github.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetNumber() != 2 || !pr.GetDraft() || pr.GetUser().GetLogin() != "infra-agent[bot]" || pr.GetHead().GetSHA() != commit.GetSHA() {
		t.Errorf("pull request = #%d draft %v by %s head %s", pr.GetNumber(), pr.GetDraft(), pr.GetUser().GetLogin(), pr.GetHead().GetSHA())
	}
	_, _, err = gh.PullRequests.Create(ctx, owner, repoName, &github.NewPullRequest{Title: github.String("fix: a"),
		Head: github.String("agent/remediate/issue-4-ab12"), Base: github.String("main")})
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || !strings.Contains(ge.Errors[0].Message, "already exists") {
		t.Fatalf("a second pull request for the same head = %v, want 422 already exists", err)
	}
	open, _, err := gh.PullRequests.List(ctx, owner, repoName, &github.PullRequestListOptions{Head: owner + ":agent/remediate/issue-4-ab12"})
	if err != nil || len(open) != 1 || open[0].GetNumber() != 2 {
		t.Fatalf("pull requests of the head = %v, %v", open, err)
	}
	if _, err := gh.Git.DeleteRef(ctx, owner, repoName, "heads/agent/remediate/issue-4-ab12"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Branch(owner, repoName, "agent/remediate/issue-4-ab12"); ok {
		t.Error("the branch is still there after DeleteRef")
	}
	s.SetFiles(owner, repoName, "same", map[string][]byte{"main.tf": []byte("a\n")})
	_, _, err = gh.PullRequests.Create(ctx, owner, repoName, &github.NewPullRequest{Title: github.String("x"),
		Head: github.String("same"), Base: github.String("main")})
	if !errors.As(err, &ge) || !strings.Contains(ge.Errors[0].Message, "No commits between") {
		t.Errorf("a pull request without changes = %v, want 422 no commits", err)
	}
}

func TestCommentEditAndReviewReplies(t *testing.T) {
	s, gh := commitOnTopic(t)
	ctx := context.Background()
	c, _, err := gh.Issues.CreateComment(ctx, owner, repoName, 1, &github.IssueComment{Body: github.String("working")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Issues.EditComment(ctx, owner, repoName, c.GetID(), &github.IssueComment{Body: github.String("done")}); err != nil {
		t.Fatal(err)
	}
	if got := s.Comments(owner, repoName, 1); len(got) != 1 || got[0].Body != "done" || s.CommentEdits(owner, repoName, c.GetID()) != 1 {
		t.Errorf("comments = %+v, edits %d", got, s.CommentEdits(owner, repoName, c.GetID()))
	}
	first := s.AddReviewComment(owner, repoName, 1, fakegithub.ReviewComment{User: "octocat", Body: "/agent fix", Path: "main.tf", Line: 1, CommitID: headSHA})
	// go-github's CreateCommentInReplyTo posts to .../comments with in_reply_to; GitHub documents .../replies.
	req, err := gh.NewRequest("POST", fmt.Sprintf("repos/%s/%s/pulls/1/comments/%d/replies", owner, repoName, first),
		map[string]string{"body": "on it"})
	if err != nil {
		t.Fatal(err)
	}
	reply := new(github.PullRequestComment)
	_, err = gh.Do(ctx, req, reply)
	if err != nil || reply.GetInReplyTo() != first || reply.GetPath() != "main.tf" {
		t.Fatalf("reply = %+v, %v", reply, err)
	}
	if got := s.ReviewComments(owner, repoName, 1); len(got) != 2 || got[1].InReplyTo != first || got[1].User != "infra-agent[bot]" {
		t.Errorf("review comments = %+v", got)
	}
}

func TestGitWritesNeedContentsWrite(t *testing.T) {
	s := seeded(t)
	s.ExpectViolations()
	tok := mint(t, s, installationID, &ghv88.InstallationTokenOptions{Permissions: &ghv88.InstallationPermissions{Contents: ghv88.Ptr("read")}})
	resp, _ := call(t, s, "POST", "/repos/acme/infra/git/blobs", "token "+tok, map[string]any{"content": "x"}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if v := s.Violations(); len(v) != 1 || !strings.Contains(v[0], "contents:write") {
		t.Errorf("violations = %q", v)
	}
}
