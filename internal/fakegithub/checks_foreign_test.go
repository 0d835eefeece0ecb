package fakegithub_test

import (
	"context"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

func TestAnotherAppsCheckRunsAndTheirSuite(t *testing.T) {
	s := seeded(t)
	s.SetFile(owner, repoName, headSHA, "main.tf", []byte("x\n"))
	gh := s.Client(t, installationID)
	ctx := context.Background()
	ours, _, err := gh.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{Name: "infra-agent/plan", HeadSHA: headSHA})
	if err != nil {
		t.Fatal(err)
	}
	ci := s.AddCheckRun(owner, repoName, fakegithub.CheckRun{Name: "ci/terraform", HeadSHA: headSHA, Conclusion: "failure", App: "ci-app",
		Output: fakegithub.CheckRunOutput{Title: "validate failed", Annotations: []fakegithub.Annotation{
			{Path: "main.tf", StartLine: 2, EndLine: 2, AnnotationLevel: "failure", Message: "Unsupported argument"}}}})
	run, _, err := gh.Checks.GetCheckRun(ctx, owner, repoName, ci)
	if err != nil || run.GetApp().GetSlug() != "ci-app" || run.GetConclusion() != "failure" {
		t.Fatalf("check run = %+v, %v", run, err)
	}
	if run.GetCheckSuite().GetID() == ours.GetCheckSuite().GetID() {
		t.Error("another App's check run is in this App's suite")
	}
	suite, _, err := gh.Checks.ListCheckRunsCheckSuite(ctx, owner, repoName, run.GetCheckSuite().GetID(), nil)
	if err != nil || suite.GetTotal() != 1 || suite.CheckRuns[0].GetID() != ci {
		t.Errorf("suite runs = %+v, %v", suite, err)
	}
	anns, _, err := gh.Checks.ListCheckRunAnnotations(ctx, owner, repoName, ci, nil)
	if err != nil || len(anns) != 1 || anns[0].GetMessage() != "Unsupported argument" || anns[0].GetStartLine() != 2 {
		t.Errorf("annotations = %+v, %v", anns, err)
	}
}
