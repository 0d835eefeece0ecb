package writeback_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/writeback"
)

const remediation = "agent/remediate/issue-4-ab12cd34"

func mainHead(t *testing.T, w *world) string {
	t.Helper()
	sha, ok := w.fake.Branch(owner, repoName, "main")
	if !ok {
		t.Fatal("no main")
	}
	return sha
}

func TestOpenPullRequest(t *testing.T) {
	w := newWorld(t)
	base := mainHead(t, w)
	ch := writeback.Change{Files: []writeback.File{{Path: "main.tf", Content: []byte("fixed\n")}}, Message: "fix: x\n"}
	pr, err := w.client.OpenPullRequest(context.Background(), writeback.NewBranch{Name: remediation, Parent: base, Base: "main"}, ch,
		writeback.PullRequestText{Title: "fix: bucket is public", Body: "Fixes #4", Draft: true})
	if err != nil {
		t.Fatal(err)
	}
	prs := w.fake.PullRequests(owner, repoName)
	got := prs[len(prs)-1]
	if got.Number != pr.Number || got.HeadRef != remediation || got.BaseRef != "main" || !got.Draft || got.Body != "Fixes #4" ||
		got.Title != "fix: bucket is public" || got.HeadSHA != pr.Commit.SHA {
		t.Errorf("pull request = %+v, opened %+v", got, pr)
	}
	commits := w.fake.GitCommits(owner, repoName)
	if len(commits) != 1 || !slices.Equal(commits[0].Parents, []string{base}) || string(commits[0].Files["main.tf"]) != "fixed\n" {
		t.Errorf("commits = %+v", commits)
	}
	r := "/repos/" + owner + "/" + repoName
	want := []string{"GET " + r + "/git/commits/" + base, "POST " + r + "/git/trees",
		"POST " + r + "/git/commits", "POST " + r + "/git/refs", "POST " + r + "/pulls"}
	if got := w.calls(); !slices.Equal(got, want) {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPullRequestThatCannotBeOpenedLeavesNoBranch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(w *world)
	}{
		{"server errors", func(w *world) { w.fake.FailNext("POST", "/pulls$", 3, http.StatusInternalServerError, nil) }},
		{"refused", func(w *world) { w.fake.FailNext("POST", "/pulls$", 1, http.StatusForbidden, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.fault(w)
			ch := writeback.Change{Files: []writeback.File{{Path: "main.tf", Content: []byte("fixed\n")}}, Message: "fix: x\n"}
			_, err := w.client.OpenPullRequest(context.Background(), writeback.NewBranch{Name: remediation, Parent: mainHead(t, w), Base: "main"},
				ch, writeback.PullRequestText{Title: "fix: x", Body: "b"})
			if err == nil || !strings.Contains(err.Error(), "was deleted") {
				t.Fatalf("err = %v, want the pull request's failure and the branch deleted", err)
			}
			if _, ok := w.fake.Branch(owner, repoName, remediation); ok {
				t.Error("the branch was left behind without a pull request")
			}
			if n := len(w.fake.PullRequests(owner, repoName)); n != 1 {
				t.Errorf("%d pull requests, want only the seeded one", n)
			}
		})
	}
}

func TestOpenPullRequestAfterAppliedThen502MakesOne(t *testing.T) {
	for _, path := range []string{"/git/refs$", "/pulls$"} {
		t.Run(path, func(t *testing.T) {
			w := newWorld(t)
			w.faults.appliedThen502("POST", path, 1)
			ch := writeback.Change{Files: []writeback.File{{Path: "main.tf", Content: []byte("fixed\n")}}, Message: "fix: x\n"}
			pr, err := w.client.OpenPullRequest(context.Background(), writeback.NewBranch{Name: remediation, Parent: mainHead(t, w), Base: "main"},
				ch, writeback.PullRequestText{Title: "fix: x", Body: "b"})
			if err != nil {
				t.Fatal(err)
			}
			if w.faults.injected() != 1 {
				t.Fatal("the fault was not injected")
			}
			prs := w.fake.PullRequests(owner, repoName)
			if len(prs) != 2 || prs[1].Number != pr.Number {
				t.Errorf("pull requests = %+v, want the seeded one and one more", prs)
			}
			if sha, _ := w.fake.Branch(owner, repoName, remediation); sha != pr.Commit.SHA {
				t.Errorf("branch at %s, want %s", sha, pr.Commit.SHA)
			}
			calls := w.calls()
			if countCalls(calls, "POST /repos/acme/infra/git/refs") != 1 || countCalls(calls, "POST /repos/acme/infra/pulls") != 1 {
				t.Errorf("calls %v: each create once, then a look", calls)
			}
		})
	}
}

func TestExistingBranchAtAnotherCommitIsLeftAlone(t *testing.T) {
	w := newWorld(t)
	other := strings.Repeat("4", 40)
	w.fake.AddBranch(owner, repoName, remediation, other)
	ch := writeback.Change{Files: []writeback.File{{Path: "main.tf", Content: []byte("fixed\n")}}, Message: "fix: x\n"}
	_, err := w.client.OpenPullRequest(context.Background(), writeback.NewBranch{Name: remediation, Parent: mainHead(t, w), Base: "main"},
		ch, writeback.PullRequestText{Title: "fix: x", Body: "b"})
	if !errors.Is(err, writeback.ErrBranchExists) {
		t.Fatalf("err = %v, want ErrBranchExists", err)
	}
	if sha, _ := w.fake.Branch(owner, repoName, remediation); sha != other {
		t.Errorf("the existing branch moved to %s", sha)
	}
}
