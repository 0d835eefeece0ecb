package writeback_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/agent/writeback"
)

// logo is binary: not valid UTF-8, with NUL bytes. It cannot travel as a
// JSON string, so it goes as a base64 blob of its own.
var logo = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\x00")

var fix = writeback.Change{
	Files: []writeback.File{
		{Path: "main.tf", Content: []byte("good\n")},
		{Path: "old.tf", Deleted: true},
		{Path: "modules/x/new.tf", Content: []byte("new\n")},
		{Path: "files/logo.png", Content: logo},
	},
	Message: "fix: 1 finding\n\nInfra-Agent-Job: j1\n",
}

func TestPushCommitsOnTheJobsHead(t *testing.T) {
	w := newWorld(t)
	c, err := w.client.Push(context.Background(), writeback.Target{Branch: "topic", Parent: head}, fix)
	if err != nil {
		t.Fatal(err)
	}
	commits := w.fake.GitCommits(owner, repoName)
	if len(commits) != 1 || commits[0].SHA != c.SHA || !slices.Equal(commits[0].Parents, []string{head}) || commits[0].Message != fix.Message {
		t.Fatalf("commits = %+v, want one on %s with the message", commits, head)
	}
	files := commits[0].Files
	if string(files["main.tf"]) != "good\n" || string(files["modules/x/new.tf"]) != "new\n" || files["old.tf"] != nil ||
		!bytes.Equal(files["files/logo.png"], logo) || len(files) != 3 {
		t.Errorf("files = %q", files)
	}
	if !strings.HasPrefix(commits[0].Author, "infra-agent[bot] <") {
		t.Errorf("author %q, want the App's bot (GitHub signs its commits)", commits[0].Author)
	}
	if sha, _ := w.fake.Branch(owner, repoName, "topic"); sha != c.SHA || w.fake.ForcePushes(owner, repoName) != 0 {
		t.Errorf("topic = %s (force pushes %d), want the commit, fast-forwarded", sha, w.fake.ForcePushes(owner, repoName))
	}
	if !strings.Contains(c.URL, "/commit/"+c.SHA) {
		t.Errorf("commit URL %q", c.URL)
	}
	r := "/repos/" + owner + "/" + repoName
	// The text files travel inside the tree request; the binary one as a blob.
	want := []string{"GET " + r + "/branches/topic", "POST " + r + "/git/blobs",
		"POST " + r + "/git/trees", "POST " + r + "/git/commits", "PATCH " + r + "/git/refs/heads/topic"}
	if got := w.calls(); !slices.Equal(got, want) {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPushToABranchThatMovedPushesNothing(t *testing.T) {
	w := newWorld(t)
	moved := strings.Repeat("2", 40)
	w.fake.AddBranch(owner, repoName, "topic", moved)
	_, err := w.client.Push(context.Background(), writeback.Target{Branch: "topic", Parent: head}, fix)
	var me *writeback.MovedError
	if !errors.As(err, &me) || me.Actual != moved || me.Expected != head {
		t.Fatalf("err = %v, want a MovedError to %s", err, moved)
	}
	if n := len(w.fake.GitCommits(owner, repoName)); n != 0 {
		t.Errorf("%d commits made for a branch that had moved", n)
	}
	if sha, _ := w.fake.Branch(owner, repoName, "topic"); sha != moved {
		t.Errorf("topic = %s, want it untouched", sha)
	}
}

// movingGit moves the branch just before the ref update: someone pushed
// while the commit was being built.
type movingGit struct {
	writeback.GitAPI
	move func()
}

func (m movingGit) UpdateRef(ctx context.Context, owner, repo string, ref *github.Reference, force bool) (*github.Reference, *github.Response, error) {
	m.move()
	return m.GitAPI.UpdateRef(ctx, owner, repo, ref, force)
}

func TestBranchMovingDuringThePushIsNotOverwritten(t *testing.T) {
	w := newWorld(t)
	moved := strings.Repeat("3", 40)
	w.client.Git = movingGit{GitAPI: w.client.Git, move: func() { w.fake.AddBranch(owner, repoName, "topic", moved) }}
	_, err := w.client.Push(context.Background(), writeback.Target{Branch: "topic", Parent: head}, fix)
	var me *writeback.MovedError
	if !errors.As(err, &me) || me.Actual != moved {
		t.Fatalf("err = %v, want a MovedError to %s", err, moved)
	}
	if sha, _ := w.fake.Branch(owner, repoName, "topic"); sha != moved || w.fake.ForcePushes(owner, repoName) != 0 {
		t.Errorf("topic = %s, force pushes %d: the other push must stay", sha, w.fake.ForcePushes(owner, repoName))
	}
	if n := countCalls(w.calls(), "PATCH /repos/acme/infra/git/refs/heads/topic"); n != 1 {
		t.Errorf("%d ref updates, want 1 (refused, then read back, not retried)", n)
	}
}

func TestPushAppliedThen502MakesOneCommitOnTheBranch(t *testing.T) {
	w := newWorld(t)
	w.faults.appliedThen502("PATCH", "/git/refs/", 1)
	c, err := w.client.Push(context.Background(), writeback.Target{Branch: "topic", Parent: head}, fix)
	if err != nil {
		t.Fatal(err)
	}
	if w.faults.injected() != 1 {
		t.Fatal("the fault was not injected")
	}
	if sha, _ := w.fake.Branch(owner, repoName, "topic"); sha != c.SHA {
		t.Errorf("topic = %s, want %s", sha, c.SHA)
	}
	calls := w.calls()
	if countCalls(calls, "PATCH /repos/acme/infra/git/refs/heads/topic") != 1 || countCalls(calls, "GET /repos/acme/infra/git/ref/heads/topic") != 1 {
		t.Errorf("calls %v: want one update, then a look that finds it applied", calls)
	}
}

func TestPushRetriesAnUpdateGitHubDidNotApply(t *testing.T) {
	w := newWorld(t)
	w.fake.FailNext("PATCH", "/git/refs/", 1, http.StatusBadGateway, nil)
	w.faults.appliedThen502("POST", "/git/commits$", 1) // an orphan commit object, never on the branch
	c, err := w.client.Push(context.Background(), writeback.Target{Branch: "topic", Parent: head}, fix)
	if err != nil {
		t.Fatal(err)
	}
	if sha, _ := w.fake.Branch(owner, repoName, "topic"); sha != c.SHA {
		t.Errorf("topic = %s, want %s", sha, c.SHA)
	}
	if n := countCalls(w.calls(), "PATCH /repos/acme/infra/git/refs/heads/topic"); n != 2 {
		t.Errorf("%d ref updates, want 2 (the first one failed before GitHub applied it)", n)
	}
	// The branch holds one new commit whose parent is the job's head.
	commits := w.fake.GitCommits(owner, repoName)
	onBranch := 0
	for _, cm := range commits {
		if cm.SHA == c.SHA && slices.Equal(cm.Parents, []string{head}) {
			onBranch++
		}
	}
	if onBranch != 1 {
		t.Errorf("commits %+v: want exactly one on the branch", commits)
	}
}

func TestPushRefusesAnEmptyChange(t *testing.T) {
	w := newWorld(t)
	for _, ch := range []writeback.Change{{Message: "m"}, {Files: fix.Files}, {Files: []writeback.File{{Path: "/etc/x", Content: []byte("x")}}, Message: "m"}} {
		if _, err := w.client.Push(context.Background(), writeback.Target{Branch: "topic", Parent: head}, ch); err == nil {
			t.Errorf("Push(%+v) succeeded", ch)
		}
	}
	if calls := w.calls(); len(calls) != 0 {
		t.Errorf("calls %v for refused changes", calls)
	}
}
