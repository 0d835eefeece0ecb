package fakegithub_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

func TestContents(t *testing.T) {
	s := seeded(t)
	s.SetFile(owner, repoName, "main", ".github/infra-agent.yml", []byte("version: 1\n"))
	s.SetFile(owner, repoName, "main", "envs/prod/main.tf", []byte(`resource "terraform_data" "x" {}`))
	s.SetFile(owner, repoName, headSHA, ".github/infra-agent.yml", []byte("version: 2\n"))
	gh := s.Client(t, installationID)
	ctx := context.Background()

	tests := []struct {
		name, path, ref string
		want            string // file content, or "dir:" + entries
	}{
		{"default branch", ".github/infra-agent.yml", "", "version: 1\n"},
		{"by sha", ".github/infra-agent.yml", headSHA, "version: 2\n"},
		{"refs/heads form", ".github/infra-agent.yml", "refs/heads/main", "version: 1\n"},
		{"nested path", "envs/prod/main.tf", "main", `resource "terraform_data" "x" {}`},
		{"directory", "envs", "main", "dir:prod"},
		{"root", "", "main", "dir:.github,envs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, dir, _, err := gh.Repositories.GetContents(ctx, owner, repoName, tt.path,
				&github.RepositoryContentGetOptions{Ref: tt.ref})
			if err != nil {
				t.Fatalf("get contents: %v", err)
			}
			if want, isDir := strings.CutPrefix(tt.want, "dir:"); isDir {
				var names []string
				for _, d := range dir {
					names = append(names, d.GetName())
				}
				if strings.Join(names, ",") != want {
					t.Errorf("entries = %v, want %s", names, want)
				}
				return
			}
			got, err := file.GetContent()
			if err != nil || got != tt.want || file.GetSHA() == "" {
				t.Errorf("content = %q (%v), want %q", got, err, tt.want)
			}
		})
	}

	if _, _, resp, err := gh.Repositories.GetContents(ctx, owner, repoName, "absent.yml", nil); err == nil ||
		resp.StatusCode != http.StatusNotFound {
		t.Errorf("absent file: %v", err)
	}
	raw, _ := call(t, s, "GET", "/repos/acme/infra/contents/.github/infra-agent.yml",
		"token "+mint(t, s, installationID, nil), nil, http.Header{"Accept": {"application/vnd.github.raw+json"}})
	if raw.Header.Get("Content-Type") != "application/vnd.github.raw; charset=utf-8" {
		t.Errorf("raw media type answered %s", raw.Header.Get("Content-Type"))
	}
}

func TestCollaboratorPermission(t *testing.T) {
	s := seeded(t)
	s.AddRepo(fakegithub.Repo{Owner: owner, Name: "secret", Private: true, InstallationID: installationID})
	for login, role := range map[string]string{"ada": "admin", "max": "maintain", "wes": "write", "tia": "triage"} {
		s.SetPermission(owner, repoName, login, role)
	}
	gh := s.Client(t, installationID)
	tests := []struct{ repo, login, permission, role string }{
		{repoName, "ada", "admin", "admin"},
		{repoName, "max", "write", "maintain"},
		{repoName, "wes", "write", "write"},
		{repoName, "tia", "read", "triage"},
		{repoName, "stranger", "read", "read"},
		{"secret", "stranger", "none", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"/"+tt.login, func(t *testing.T) {
			// go-github v62 exposes the fine-grained role as user.role_name.
			got, _, err := gh.Repositories.GetPermissionLevel(context.Background(), owner, tt.repo, tt.login)
			if err != nil {
				t.Fatalf("permission: %v", err)
			}
			if got.GetPermission() != tt.permission || got.GetUser().GetRoleName() != tt.role || got.GetUser().GetLogin() != tt.login {
				t.Errorf("got %s/%s for %s, want %s/%s", got.GetPermission(), got.GetUser().GetRoleName(),
					got.GetUser().GetLogin(), tt.permission, tt.role)
			}
		})
	}
}

func TestPullRequest(t *testing.T) {
	s := seeded(t)
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{
		Number: 5, Title: "Add bucket", Body: "please", User: "octocat",
		HeadOwner: "forker", HeadRepo: "infra-fork", HeadRef: "patch-1", HeadSHA: headSHA,
		Files: []string{"main.tf"},
	})
	gh := s.Client(t, installationID)
	pr, _, err := gh.PullRequests.Get(context.Background(), owner, repoName, 5)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if pr.GetHead().GetRepo().GetFullName() != "forker/infra-fork" || !pr.GetHead().GetRepo().GetFork() ||
		pr.GetBase().GetRepo().GetFullName() != "acme/infra" || pr.GetBase().GetRef() != "main" ||
		pr.GetHead().GetSHA() != headSHA || pr.GetUser().GetLogin() != "octocat" || pr.GetState() != "open" ||
		pr.GetChangedFiles() != 1 || pr.GetHTMLURL() != "https://github.com/acme/infra/pull/5" {
		t.Errorf("pull request = %+v", pr)
	}
	issue, _, err := gh.Issues.Get(context.Background(), owner, repoName, 5)
	if err != nil || !issue.IsPullRequest() || issue.GetTitle() != "Add bucket" {
		t.Errorf("issue view of the pull request = %+v, %v", issue, err)
	}
}

// TestPullRequestFilesPagination lists 250 files through go-github's pagination: three pages of 100, 100, 50.
func TestPullRequestFilesPagination(t *testing.T) {
	s := seeded(t)
	var files []string
	for i := range 250 {
		files = append(files, fmt.Sprintf("mod%03d/main.tf", i))
	}
	s.SetFile(owner, repoName, "main", "mod000/main.tf", []byte("a\nb\n"))
	s.SetFile(owner, repoName, headSHA, "mod000/main.tf", []byte("a\nc\nd\n"))
	s.SetFile(owner, repoName, headSHA, "mod001/main.tf", []byte("new\n"))
	s.SetFile(owner, repoName, "main", "mod002/main.tf", []byte("gone\n"))
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 9, HeadRef: "big", HeadSHA: headSHA, Files: files})
	gh := s.Client(t, installationID)

	var all []*github.CommitFile
	var pages []int
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := gh.PullRequests.ListFiles(context.Background(), owner, repoName, 9, opts)
		if err != nil {
			t.Fatalf("page %d: %v", opts.Page, err)
		}
		all = append(all, page...)
		pages = append(pages, len(page))
		if resp.NextPage == 0 {
			if resp.LastPage != 0 || resp.PrevPage != 2 {
				t.Errorf("last page links: prev %d last %d", resp.PrevPage, resp.LastPage)
			}
			break
		}
		opts.Page = resp.NextPage
	}
	if fmt.Sprint(pages) != "[100 100 50]" || len(all) != 250 || all[249].GetFilename() != "mod249/main.tf" {
		t.Fatalf("pages %v, %d files", pages, len(all))
	}
	want := []struct {
		status            string
		add, del, changes int
	}{{"modified", 2, 1, 3}, {"added", 1, 0, 1}, {"removed", 0, 1, 1}}
	for i, w := range want {
		f := all[i]
		if f.GetStatus() != w.status || f.GetAdditions() != w.add || f.GetDeletions() != w.del || f.GetChanges() != w.changes {
			t.Errorf("%s: %s +%d -%d =%d, want %+v", f.GetFilename(), f.GetStatus(), f.GetAdditions(),
				f.GetDeletions(), f.GetChanges(), w)
		}
	}
}

func TestPullRequestFilesCapAndPageSize(t *testing.T) {
	s := seeded(t)
	s.ExpectViolations()
	files := make([]string, 3100)
	for i := range files {
		files[i] = fmt.Sprintf("f%04d.tf", i)
	}
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 1, HeadRef: "huge", HeadSHA: headSHA, Files: files})
	gh := s.Client(t, installationID)
	ctx := context.Background()
	last, _, err := gh.PullRequests.ListFiles(ctx, owner, repoName, 1, &github.ListOptions{PerPage: 100, Page: 30})
	if err != nil || len(last) != 100 || last[99].GetFilename() != "f2999.tf" {
		t.Errorf("page 30: %d files, %v", len(last), err)
	}
	beyond, _, err := gh.PullRequests.ListFiles(ctx, owner, repoName, 1, &github.ListOptions{PerPage: 100, Page: 31})
	if err != nil || len(beyond) != 0 {
		t.Errorf("page 31 (beyond GitHub's 3,000-file cap): %d files, %v", len(beyond), err)
	}
	big, _, err := gh.PullRequests.ListFiles(ctx, owner, repoName, 1, &github.ListOptions{PerPage: 500})
	if err != nil || len(big) != 100 {
		t.Errorf("per_page=500 answered %d files (%v), want GitHub's cap of 100", len(big), err)
	}
	checkViolation(t, s, "per_page=500 exceeds GitHub's maximum of 100")
}

func TestCommentsAndReactions(t *testing.T) {
	s := seeded(t)
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 4, HeadRef: "f", HeadSHA: headSHA})
	s.AddIssue(owner, repoName, fakegithub.Issue{Number: 6, Title: "Open port", Labels: []string{"infra-agent:remediate"}})
	trigger := s.AddComment(owner, repoName, 4, fakegithub.Comment{ID: 555, User: "octocat", Body: "/agent fix"})
	gh := s.Client(t, installationID)
	ctx := context.Background()

	for _, content := range []string{"eyes", "eyes", "+1"} {
		if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, owner, repoName, trigger, content); err != nil {
			t.Fatalf("reaction %s: %v", content, err)
		}
	}
	if got := s.Reactions(owner, repoName, trigger); strings.Join(got, ",") != "eyes,+1" {
		t.Errorf("reactions = %v (a repeated reaction is not added twice)", got)
	}
	c, _, err := gh.Issues.CreateComment(ctx, owner, repoName, 4, &github.IssueComment{Body: github.String("on it")})
	if err != nil {
		t.Fatalf("comment: %v", err)
	}
	if c.GetUser().GetLogin() != s.AppSlug()+"[bot]" || !strings.HasSuffix(c.GetHTMLURL(), fmt.Sprintf("/pull/4#issuecomment-%d", c.GetID())) {
		t.Errorf("comment = %+v", c)
	}
	got := s.Comments(owner, repoName, 4)
	if len(got) != 2 || got[0].ID != 555 || got[1].Body != "on it" || got[1].User != "infra-agent[bot]" {
		t.Errorf("Comments() = %+v", got)
	}
	issue, _, err := gh.Issues.Get(ctx, owner, repoName, 6)
	if err != nil || issue.IsPullRequest() || len(issue.Labels) != 1 || issue.Labels[0].GetName() != "infra-agent:remediate" {
		t.Errorf("issue = %+v, %v", issue, err)
	}
	if _, resp, err := gh.Issues.CreateComment(ctx, owner, repoName, 99, &github.IssueComment{Body: github.String("x")}); err == nil ||
		resp.StatusCode != http.StatusNotFound {
		t.Errorf("comment on an absent issue: %v", err)
	}
}

func TestCommentLengthLimit(t *testing.T) {
	s := seeded(t)
	s.ExpectViolations()
	s.AddIssue(owner, repoName, fakegithub.Issue{Number: 1})
	gh := s.Client(t, installationID)
	ctx := context.Background()
	atLimit := strings.Repeat("é", 65536) // characters, not bytes
	if _, _, err := gh.Issues.CreateComment(ctx, owner, repoName, 1, &github.IssueComment{Body: &atLimit}); err != nil {
		t.Fatalf("a comment of 65,536 characters is allowed: %v", err)
	}
	over := atLimit + "x"
	_, resp, err := gh.Issues.CreateComment(ctx, owner, repoName, 1, &github.IssueComment{Body: &over})
	if err == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("err = %v, want 422", err)
	}
	checkViolation(t, s, "body is too long (maximum is 65536 characters, got 65537)")
	if n := len(s.Comments(owner, repoName, 1)); n != 1 {
		t.Errorf("%d comments stored, want 1", n)
	}
}
