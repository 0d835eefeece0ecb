package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/publish"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/wire"
)

const (
	owner, repo = "acme", "infra"
	headSHA     = "0123456789abcdef0123456789abcdef01234567"
	runs        = "/repos/acme/infra/check-runs"
)

// newPublisher starts a fake GitHub with one repository and returns it with a
// publisher for headSHA talking to it through a real installation client.
func newPublisher(t *testing.T) (*fakegithub.Server, *publish.Publisher) {
	t.Helper()
	srv := fakegithub.New(t)
	srv.AddInstallation(7, owner)
	srv.AddRepo(fakegithub.Repo{Owner: owner, Name: repo, InstallationID: 7})
	p := publish.New(srv.Client(t, 7).Checks, publish.Target{
		Owner: owner, Repo: repo, HeadSHA: headSHA,
		DetailsURL: "https://github.com/acme/infra/actions/runs/42", ExternalID: "job-1",
	})
	return srv, p
}

// report has a planned root with 120 policy findings on .tf lines and one
// without a file, and a root whose validate step failed with a diagnostic.
func report(t *testing.T) checks.Report {
	t.Helper()
	plan, err := checks.ParsePlan([]byte(`{"format_version":"1.2","planned_values":{},"resource_changes":[
		{"address":"aws_s3_bucket.logs","change":{"actions":["create"],"after":{"bucket":"logs"},"after_unknown":{"id":true}}},
		{"address":"aws_instance.old","change":{"actions":["delete"],"before":{"id":"i-1"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var findings []checks.Finding
	for i := range 120 {
		findings = append(findings, checks.Finding{
			Severity: checks.SeverityFailure, Message: fmt.Sprintf("rule %d: bucket must be private", i),
			File: "envs/prod/main.tf", Line: i + 1, Source: "policy", Namespace: "main", Rule: "deny", Policy: "s3.rego",
		})
	}
	findings = append(findings, checks.Finding{Severity: checks.SeverityWarning, Message: "plan deletes a resource", Source: "policy"})
	return checks.Report{Roots: []checks.RootResult{
		{
			Dir:      "envs/prod",
			Steps:    []checks.Step{{Name: checks.StepValidate, Status: checks.StepOK}, {Name: checks.StepPlan, Status: checks.StepOK}, {Name: checks.StepPolicyPlan, Status: checks.StepFailed}},
			Plan:     plan,
			Findings: findings,
		},
		{
			Dir:      "envs/dev",
			Steps:    []checks.Step{{Name: checks.StepValidate, Status: checks.StepError, Detail: "Error: Unsupported argument"}},
			Findings: []checks.Finding{{Severity: checks.SeverityFailure, Message: "Unsupported argument", File: "envs/dev/main.tf", Line: 3, Source: "validate"}},
		},
	}}
}

// bodies decodes the check-run request bodies the fake received.
func bodies(t *testing.T, srv *fakegithub.Server) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range srv.Requests() {
		if !strings.Contains(r.Path, "/check-runs") {
			continue
		}
		var b map[string]any
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("%s %s: %v", r.Method, r.Path, err)
		}
		out = append(out, b)
	}
	return out
}

func annotationCount(b map[string]any) int {
	out, _ := b["output"].(map[string]any)
	a, _ := out["annotations"].([]any)
	return len(a)
}

func TestStartAndFinish(t *testing.T) {
	srv, p := newPublisher(t)
	ctx := context.Background()
	ids, err := p.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	started := srv.CheckRuns(owner, repo)
	if len(started) != 2 || started[0].Name != wire.CheckPlan || started[1].Name != wire.CheckPolicy {
		t.Fatalf("check runs after Start: %+v", started)
	}
	for _, cr := range started {
		if cr.Status != "in_progress" || cr.HeadSHA != headSHA || cr.ExternalID != "job-1" || cr.DetailsURL == "" {
			t.Errorf("started run %s: status %s, sha %s, external id %q, details %q", cr.Name, cr.Status, cr.HeadSHA, cr.ExternalID, cr.DetailsURL)
		}
	}
	if err := p.Finish(ctx, ids, report(t)); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"POST " + runs,
		"POST " + runs,
		fmt.Sprintf("PATCH %s/%d", runs, ids.Plan),
		fmt.Sprintf("PATCH %s/%d", runs, ids.Policy),
		fmt.Sprintf("PATCH %s/%d", runs, ids.Policy),
		fmt.Sprintf("PATCH %s/%d", runs, ids.Policy),
	}
	if got := srv.Calls(); !reflect.DeepEqual(got, wantCalls) {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantCalls, "\n"))
	}

	// 120 policy annotations arrive in three requests of 50, 50 and 20; only
	// the last request completes the run.
	b := bodies(t, srv)
	for i, want := range []struct {
		annotations int
		conclusion  any
	}{{1, "failure"}, {50, nil}, {50, nil}, {20, "failure"}} {
		got := b[2+i]
		if annotationCount(got) != want.annotations || got["conclusion"] != want.conclusion {
			t.Errorf("PATCH %d: %d annotations, conclusion %v; want %d and %v", i+1, annotationCount(got), got["conclusion"], want.annotations, want.conclusion)
		}
	}

	final := srv.CheckRuns(owner, repo)
	plan, policy := final[0], final[1]
	if plan.Status != "completed" || plan.Conclusion != checks.ConclusionFailure || len(plan.Output.Annotations) != 1 {
		t.Errorf("plan run: %s %s, %d annotations", plan.Status, plan.Conclusion, len(plan.Output.Annotations))
	}
	if !strings.Contains(plan.Output.Summary, "`envs/prod`") || !strings.Contains(plan.Output.Text, "### `envs/dev`") ||
		!strings.Contains(plan.Output.Summary, "aws_instance.old") {
		t.Errorf("plan run output lacks its per-root sections:\n%s\n%s", plan.Output.Summary, plan.Output.Text)
	}
	if policy.Status != "completed" || policy.Conclusion != checks.ConclusionFailure || len(policy.Output.Annotations) != 120 {
		t.Errorf("policy run: %s %s, %d annotations, want completed failure with 120", policy.Status, policy.Conclusion, len(policy.Output.Annotations))
	}
	a := policy.Output.Annotations[119]
	if a.Path != "envs/prod/main.tf" || a.StartLine != 120 || a.AnnotationLevel != "failure" || a.Title != "main.deny" {
		t.Errorf("last annotation %+v", a)
	}
	if !strings.Contains(policy.Output.Text, "plan deletes a resource") {
		t.Error("the finding without a file is not in the policy run's text")
	}
}

func TestFinishWithoutStart(t *testing.T) {
	srv, p := newPublisher(t)
	r := checks.Report{Roots: []checks.RootResult{{Dir: ".", Steps: []checks.Step{{Name: checks.StepFmt, Status: checks.StepOK}}}}}
	if err := p.Finish(context.Background(), publish.Runs{}, r); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.Calls(), []string{"POST " + runs, "POST " + runs}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
	for _, cr := range srv.CheckRuns(owner, repo) {
		if cr.Status != "completed" || cr.Conclusion != checks.ConclusionNeutral {
			t.Errorf("%s: %s %s, want completed neutral (nothing planned)", cr.Name, cr.Status, cr.Conclusion)
		}
	}
}

func TestFail(t *testing.T) {
	srv, p := newPublisher(t)
	ctx := context.Background()
	ids, err := p.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cause := errors.New("terraform init: registry said 401 for token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB")
	if err := p.Fail(ctx, ids, cause); err != nil {
		t.Fatal(err)
	}
	if got := srv.Calls(); len(got) != 4 || got[2] != fmt.Sprintf("PATCH %s/%d", runs, ids.Plan) || got[3] != fmt.Sprintf("PATCH %s/%d", runs, ids.Policy) {
		t.Fatalf("calls %q", got)
	}
	for _, cr := range srv.CheckRuns(owner, repo) {
		if cr.Conclusion != checks.ConclusionFailure || !strings.Contains(cr.Output.Summary, "registry said 401") {
			t.Errorf("%s: %s %q", cr.Name, cr.Conclusion, cr.Output.Summary)
		}
		if strings.Contains(cr.Output.Summary, "ghp_") {
			t.Errorf("%s shows the token: %s", cr.Name, cr.Output.Summary)
		}
	}
}

func TestFinishError(t *testing.T) {
	srv, p := newPublisher(t)
	ctx := context.Background()
	ids, err := p.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(http.MethodPatch, `/check-runs/`, 1, http.StatusUnprocessableEntity, nil)
	err = p.Finish(ctx, ids, report(t))
	if err == nil || !strings.Contains(err.Error(), "updating check run infra-agent/plan") {
		t.Fatalf("Finish error %v, want it to name the check run", err)
	}
	// Neither run may hang in progress: the refused one is concluded as a
	// failure that says why, the other with its results.
	want := map[string]string{wire.CheckPlan: "failure", wire.CheckPolicy: checks.PolicyCheck(report(t)).Conclusion}
	for _, cr := range srv.CheckRuns(owner, repo) {
		if cr.Status != "completed" || cr.Conclusion != want[cr.Name] {
			t.Errorf("%s is %s/%s, want completed/%s", cr.Name, cr.Status, cr.Conclusion, want[cr.Name])
		}
		if cr.Name == wire.CheckPlan && !strings.Contains(cr.Output.Summary+cr.Output.Text, "publishing the results") {
			t.Errorf("%s does not say why it failed:\n%s", cr.Name, cr.Output.Summary)
		}
	}
}
