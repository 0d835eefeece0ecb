package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/agent/writeback"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/wire"
)

const writeHead = "2222222222222222222222222222222222222222"

// writeWorld is a fake GitHub with acme/infra: pull request #1 from branch
// topic (main.tf with a public bucket) into main, and issue #4.
func writeWorld(t *testing.T) (*fakegithub.Server, *job, *writeback.Client) {
	t.Helper()
	s, gh, _ := retryWorld(t)
	s.SetFiles("acme", "infra", "main", map[string][]byte{"main.tf": []byte("acl = \"public-read\"\n")})
	s.SetFiles("acme", "infra", writeHead, map[string][]byte{"main.tf": []byte("acl = \"public-read\"\nx = 1\n")})
	s.AddPullRequest("acme", "infra", fakegithub.PullRequest{Number: 1, Title: "t", User: "alice", HeadRef: "topic", HeadSHA: writeHead,
		Files: []string{"main.tf"}})
	s.AddIssue("acme", "infra", fakegithub.Issue{Number: 4, Title: "The logs bucket is public", User: "alice"})
	j := &job{gh: gh, cfg: config.DefaultRepoConfig(), started: time.Now(), spec: wire.JobSpec{
		ID: "01a23640-b0da-7244-9773-c804bca69201", Kind: wire.KindFix, Repository: wire.Repository{Owner: "acme", Name: "infra", DefaultBranch: "main"},
		Number: 1, PullRequest: true, HeadSHA: writeHead, HeadRef: "topic", BaseRef: "main", Actor: "alice",
		TriggerSource: "issue_comment", GitHubAPIURL: s.URL,
	}}
	return s, j, writeback.New(gh, "acme", "infra")
}

func privateBucket(passed bool) change {
	c := change{
		Passed: passed, Subject: "fix: 1 finding (public_bucket)", Summary: "Made the bucket private.",
		Diff:    "--- a/main.tf\n+++ b/main.tf\n@@ -1,2 +1,2 @@\n-acl = \"public-read\"\n+acl = \"private\"\n x = 1\n",
		Message: "fix: 1 finding (public_bucket)\n\nInfra-Agent-Job: 01a23640\n", Body: "## Summary\n\nMade the bucket private.\n",
		Files: []changedFile{{File: writeback.File{Path: "main.tf", Content: []byte("acl = \"private\"\nx = 1\n")},
			Original: []byte("acl = \"public-read\"\nx = 1\n")}},
		Suggestions: []checks.Suggestion{{Path: "main.tf", StartLine: 1, EndLine: 1, Replacement: "acl = \"private\"\n"}},
		Iterations:  1, MaxIterations: 5, Deterministic: 1,
	}
	if !passed {
		c.NeedsReview = []string{"validation still fails"}
	}
	return c
}

// TestFixOnAnUnprotectedBaseIsSuggested: nothing stops an unreviewed merge
// into main, so nothing is pushed; the change is offered on the pull request
// and the check run says what protection is missing.
func TestFixOnAnUnprotectedBaseIsSuggested(t *testing.T) {
	s, j, wb := writeWorld(t)
	out := j.publishFix(context.Background(), wb, privateBucket(true), trigger{})
	if sha, _ := s.Branch("acme", "infra", "topic"); sha != writeHead || len(s.GitCommits("acme", "infra")) != 0 {
		t.Errorf("topic at %s with %d commits: something was pushed", sha, len(s.GitCommits("acme", "infra")))
	}
	if out.conclusion != "neutral" || !strings.Contains(out.summary, "has no branch protection and no ruleset") {
		t.Errorf("outcome = %+v", out)
	}
	comments := s.Comments("acme", "infra", 1)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "```diff") || !strings.Contains(comments[0].Body, "does not push") {
		t.Errorf("comments = %+v, want one with the change and why it was not pushed", comments)
	}
}

// TestFixAskedOnALineIsSuggestedInItsThread: on an unprotected base, a fix
// asked for in a review comment is answered there with a suggestion of
// exactly that line.
func TestFixAskedOnALineIsSuggestedInItsThread(t *testing.T) {
	s, j, wb := writeWorld(t)
	thread := s.AddReviewComment("acme", "infra", 1, fakegithub.ReviewComment{User: "alice", Body: "/agent fix", Path: "main.tf", Line: 1})
	j.publishFix(context.Background(), wb, privateBucket(true), trigger{File: "main.tf", Line: 1, Thread: thread})
	rcs := s.ReviewComments("acme", "infra", 1)
	if len(rcs) != 2 || rcs[1].InReplyTo != thread || !strings.Contains(rcs[1].Body, "```suggestion\nacl = \"private\"\n```") {
		t.Errorf("review comments = %+v, want a suggestion in the thread", rcs)
	}
	if n := len(s.Comments("acme", "infra", 1)); n != 0 {
		t.Errorf("%d pull request comments besides the thread reply", n)
	}
}

// TestForkFixIsNeverPushed: a fork's pull request gets suggestions whatever
// protects its base, and the push target is refused outright.
func TestForkFixIsNeverPushed(t *testing.T) {
	s, j, wb := writeWorld(t)
	j.spec.Fork = true
	if _, err := j.pushTarget(); err == nil {
		t.Fatal("a fork's branch is a push target")
	}
	out := j.publishFix(context.Background(), wb, privateBucket(true), trigger{})
	if len(s.GitCommits("acme", "infra")) != 0 || out.conclusion != "neutral" || !strings.Contains(out.summary, "comes from a fork") {
		t.Errorf("outcome %+v, commits %d", out, len(s.GitCommits("acme", "infra")))
	}
}

func TestPushTargetIsOnlyThePullRequestsOwnBranch(t *testing.T) {
	_, j, _ := writeWorld(t)
	for name, edit := range map[string]func(*wire.JobSpec){
		"default branch": func(s *wire.JobSpec) { s.HeadRef = "main" },
		"qualified":      func(s *wire.JobSpec) { s.HeadRef = "refs/heads/main" },
		"no head":        func(s *wire.JobSpec) { s.HeadRef = "" },
		"remediation":    func(s *wire.JobSpec) { s.Kind = wire.KindRemediate },
		"not a pull":     func(s *wire.JobSpec) { s.PullRequest = false },
	} {
		jj := &job{spec: j.spec}
		edit(&jj.spec)
		if _, err := jj.pushTarget(); err == nil {
			t.Errorf("%s: a push target", name)
		}
	}
	if tgt, err := j.pushTarget(); err != nil || tgt.Branch != "topic" || tgt.Parent != writeHead {
		t.Errorf("target = %+v, %v", tgt, err)
	}
}

// TestRemediationOnAnUnprotectedDefaultBranch: no branch, no pull request;
// the issue's progress comment is edited to hold the change and the missing
// protection.
func TestRemediationOnAnUnprotectedDefaultBranch(t *testing.T) {
	s, j, wb := writeWorld(t)
	j.spec.Kind, j.spec.Number, j.spec.PullRequest, j.spec.HeadRef, j.spec.TriggerSource = wire.KindRemediate, 4, false, "", "issues"
	ctx := context.Background()
	progress := j.startRemediation(ctx, wb)
	out := j.publishRemediation(ctx, wb, privateBucket(true), progress)
	comments := s.Comments("acme", "infra", 4)
	if len(comments) != 1 || s.CommentEdits("acme", "infra", progress.ID) != 1 || !strings.Contains(comments[0].Body, "did not open a pull request") {
		t.Errorf("issue comments = %+v, want the progress comment edited once", comments)
	}
	for b := range s.Branches("acme", "infra") {
		if strings.HasPrefix(b, "agent/") {
			t.Errorf("branch %s created", b)
		}
	}
	if out.conclusion != "neutral" {
		t.Errorf("outcome = %+v", out)
	}
	if got := j.remediationBranch(); got != "agent/remediate/issue-4-bca69201" {
		t.Errorf("branch name %q", got)
	}
}
