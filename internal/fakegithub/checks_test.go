package fakegithub_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

func annotations(n int, level string) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, n)
	for i := range out {
		out[i] = &github.CheckRunAnnotation{
			Path: github.String("main.tf"), StartLine: github.Int(i + 1), EndLine: github.Int(i + 1),
			AnnotationLevel: github.String(level), Message: github.String(fmt.Sprintf("finding %d", i)),
		}
	}
	return out
}

func TestCheckRunLifecycle(t *testing.T) {
	s := seeded(t)
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 3, HeadRef: "feature/x", HeadSHA: headSHA})
	gh := s.Client(t, installationID)
	ctx := context.Background()

	created, _, err := gh.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{
		Name: "infra-agent/plan", HeadSHA: headSHA, ExternalID: github.String("job-1"),
		Status: github.String("in_progress"),
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.GetID() == 0 || created.GetStatus() != "in_progress" || created.GetApp().GetSlug() != s.AppSlug() ||
		len(created.PullRequests) != 1 || created.PullRequests[0].GetNumber() != 3 {
		t.Errorf("created = %+v", created)
	}
	for i, level := range []string{"warning", "failure"} {
		opts := github.UpdateCheckRunOptions{
			Name: "infra-agent/plan",
			Output: &github.CheckRunOutput{Title: github.String(fmt.Sprintf("pass %d", i)),
				Summary: github.String("summary"), Annotations: annotations(50, level)},
		}
		if i == 1 {
			opts.Conclusion = github.String("failure")
			opts.Actions = []*github.CheckRunAction{{Label: "Fix it", Description: "Ask the agent to fix", Identifier: "fix"}}
		}
		if _, _, err := gh.Checks.UpdateCheckRun(ctx, owner, repoName, created.GetID(), opts); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}

	got, _, err := gh.Checks.GetCheckRun(ctx, owner, repoName, created.GetID())
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.GetStatus() != "completed" || got.GetConclusion() != "failure" || got.GetCompletedAt().IsZero() ||
		got.GetOutput().GetAnnotationsCount() != 100 || got.GetOutput().GetTitle() != "pass 1" ||
		got.GetExternalID() != "job-1" {
		t.Errorf("check run = %+v, output %+v", got, got.GetOutput())
	}
	runs := s.CheckRuns(owner, repoName)
	if len(runs) != 1 || len(runs[0].Output.Annotations) != 100 || runs[0].Output.Annotations[0].AnnotationLevel != "warning" ||
		runs[0].Output.Annotations[99].AnnotationLevel != "failure" || len(runs[0].Actions) != 1 {
		t.Errorf("CheckRuns() = %+v", runs)
	}
}

func TestListCheckRunsForRef(t *testing.T) {
	s := seeded(t)
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 3, HeadRef: "feature/x", HeadSHA: headSHA})
	gh := s.Client(t, installationID)
	ctx := context.Background()
	for _, name := range []string{"infra-agent/plan", "infra-agent/policy", "infra-agent/plan"} {
		if _, _, err := gh.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{
			Name: name, HeadSHA: headSHA,
		}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	tests := []struct {
		name    string
		ref     string
		opts    *github.ListCheckRunsOptions
		wantIDs int
	}{
		{"by sha, latest per name", headSHA, nil, 2},
		{"by branch with a slash", "feature/x", nil, 2},
		{"by check name", headSHA, &github.ListCheckRunsOptions{CheckName: github.String("infra-agent/plan")}, 1},
		{"all runs of a name", headSHA, &github.ListCheckRunsOptions{
			CheckName: github.String("infra-agent/plan"), Filter: github.String("all")}, 2},
		{"status filter", headSHA, &github.ListCheckRunsOptions{Status: github.String("completed")}, 0},
		{"other commit", strings.Repeat("2", 40), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, err := gh.Checks.ListCheckRunsForRef(ctx, owner, repoName, tt.ref, tt.opts)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if res.GetTotal() != tt.wantIDs || len(res.CheckRuns) != tt.wantIDs {
				t.Errorf("total %d, %d runs, want %d", res.GetTotal(), len(res.CheckRuns), tt.wantIDs)
			}
		})
	}
}

// TestCheckRunLimits covers GitHub's documented limits: each request is refused with 422 and recorded.
func TestCheckRunLimits(t *testing.T) {
	long := strings.Repeat("x", 65536)
	tests := []struct {
		name      string
		opts      github.CreateCheckRunOptions
		violation string
	}{
		{"51 annotations", github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
			Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(51, "notice")}},
			"maximum number of items is 50"},
		{"summary too long", github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
			Title: github.String("t"), Summary: github.String(long)}}, "output/summary"},
		{"text too long", github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
			Title: github.String("t"), Summary: github.String("s"), Text: github.String(long)}}, "output/text"},
		{"bad annotation level", github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
			Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(1, "error")}},
			"annotation_level"},
		{"completed without conclusion", github.CreateCheckRunOptions{Status: github.String("completed")},
			"conclusion is required when status is completed"},
		{"four actions", github.CreateCheckRunOptions{Actions: []*github.CheckRunAction{
			{Label: "a", Description: "a", Identifier: "a"}, {Label: "b", Description: "b", Identifier: "b"},
			{Label: "c", Description: "c", Identifier: "c"}, {Label: "d", Description: "d", Identifier: "d"}}},
			"actions"},
		{"action label too long", github.CreateCheckRunOptions{Actions: []*github.CheckRunAction{
			{Label: strings.Repeat("l", 21), Description: "d", Identifier: "i"}}}, "actions/0/label"},
		{"columns across lines", github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
			Title: github.String("t"), Summary: github.String("s"), Annotations: []*github.CheckRunAnnotation{{
				Path: github.String("a.tf"), StartLine: github.Int(1), EndLine: github.Int(2),
				StartColumn: github.Int(1), EndColumn: github.Int(3),
				AnnotationLevel: github.String("notice"), Message: github.String("m")}}}},
			"only allowed when start_line equals end_line"},
		{"unknown commit", github.CreateCheckRunOptions{HeadSHA: "abc123"}, "No commit found for SHA: abc123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			s.ExpectViolations()
			opts := tt.opts
			opts.Name = "infra-agent/plan"
			if opts.HeadSHA == "" {
				opts.HeadSHA = headSHA
			}
			_, resp, err := s.Client(t, installationID).Checks.CreateCheckRun(context.Background(), owner, repoName, opts)
			var ge *github.ErrorResponse
			if !errors.As(err, &ge) || resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("err = %v, want 422", err)
			}
			checkViolation(t, s, tt.violation)
			if runs := s.CheckRuns(owner, repoName); len(runs) != 0 {
				t.Errorf("a refused request created %d check runs", len(runs))
			}
		})
	}
}

func TestCheckRunUpdateOfAbsentRunIs404(t *testing.T) {
	s := seeded(t)
	_, resp, err := s.Client(t, installationID).Checks.UpdateCheckRun(context.Background(), owner, repoName, 12345,
		github.UpdateCheckRunOptions{Name: "x"})
	if err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("err = %v, want 404", err)
	}
}
