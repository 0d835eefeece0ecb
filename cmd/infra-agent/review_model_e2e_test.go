package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks/review"
	"github.com/infra-agent/infra-agent/internal/fakemodel"
)

// newModelReviewWorld is newReviewWorld with a server whose model proxy
// forwards to the scripted model with the server's key.
func newModelReviewWorld(t *testing.T, model *fakemodel.Server) *runnerWorld {
	t.Helper()
	dir := filepath.Join("testdata", "review")
	w := newRunnerWorldTrees(t, map[string]string{"main": filepath.Join(dir, "main"), reviewHead1: filepath.Join(dir, "head1")}, nil,
		map[string]string{
			"INFRA_AGENT_HEARTBEAT_TIMEOUT": "15m", "INFRA_AGENT_MODEL_PROVIDER": "anthropic",
			"INFRA_AGENT_MODEL_BASE_URL": model.AnthropicURL(), "INFRA_AGENT_MODEL_API_KEY": serverKey,
		})
	w.pushPR(reviewHead1)
	return w
}

// reviewWithModel opens the pull request and runs its review job; it
// returns the job and the runner's log.
func (w *runnerWorld) reviewWithModel(t *testing.T) (string, string) {
	t.Helper()
	if got := deliver(t, w.srv.url, "pull_request", "delivery-pr-model", prPayload(t, "opened", reviewHead1), e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	jobID, runID := w.dispatched(t, 1)
	log := w.runJob(t, jobID, runID)
	eventually(t, "the job's check run concluded", func() bool { return jobCheckRun(t, w.fake, jobID).Status == "completed" })
	return jobID, log
}

// TestReviewWithModel: a repository whose server has a model → the review
// job asks it, through the server's proxy (the runner authenticates with its
// session secret; the provider sees only the server's key), with read-only
// tools and the diff's commentable lines in its brief. Its comment on a line
// of the diff is posted inline, marked as its opinion; its comment outside
// the diff is not posted, and the body says where it was; its call to a
// write tool is refused and in the job's audit trail. One review, event
// COMMENT, nothing pushed, and the check run names the model and its tokens.
func TestReviewWithModel(t *testing.T) {
	model := fakemodel.New(t, fakemodel.Turns(
		fakemodel.Turn{Calls: []fakemodel.Call{
			{Name: "comment", Args: map[string]any{"path": "main.tf", "line": 17, "body": "The name `logs` suggests access logs; they are usually kept private. See [docs](https://evil.example) @admins"}},
			{Name: "comment", Args: map[string]any{"path": "main.tf", "line": 3, "body": "The legacy bucket should be renamed."}},
			{Name: "write_file", Args: map[string]any{"path": "main.tf", "content": "# reviewed\n"}},
		}},
		fakemodel.Turn{Calls: []fakemodel.Call{{Name: "finish", Args: map[string]any{"summary": "Two remarks."}}}},
	))
	w := newModelReviewWorld(t, model)
	dump := filepath.Join(t.TempDir(), "terraform.dump")
	w.tf = fakeTerraform(t, w.tf, dump)
	jobID, log := w.reviewWithModel(t)

	reviews := w.fake.Reviews(e2eOwner, e2eRepo, e2ePR)
	if len(reviews) != 1 || reviews[0].Event != review.Event || reviews[0].State != "COMMENTED" {
		t.Fatalf("reviews = %+v, want one COMMENT", reviews)
	}
	body := reviews[0].Body
	for _, want := range []string{"1 comment from the model", "`anthropic/", "reviewed the diff with read-only tools (",
		"1 comment was not posted: not on a line of this pull request's diff (`main.tf:3`)", "`main.tf:1` terraform\\_data.legacy is public"} {
		if !strings.Contains(body, want) {
			t.Errorf("the review's body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "The legacy bucket should be renamed") {
		t.Errorf("the comment outside the diff was posted in the body:\n%s", body)
	}
	comments := w.fake.ReviewComments(e2eOwner, e2eRepo, e2ePR)
	if len(comments) != 2 || comments[0].Line != 15 || !strings.Contains(comments[0].Body, "terraform\\_data.bucket is public") {
		t.Fatalf("comments = %+v, want the policy's on line 15 and the model's on 17", comments)
	}
	if c := comments[1]; c.Path != "main.tf" || c.Line != 17 || c.Side != "RIGHT" || !strings.Contains(c.Body, "The model's opinion") ||
		!strings.Contains(c.Body, "suggests access logs") || !strings.Contains(c.Body, `\[docs\]`) || !strings.Contains(c.Body, `\@admins`) {
		t.Errorf("the model's comment is not on line 17, marked and inert: %+v", c)
	}

	reqs := model.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.Header.Get("X-Api-Key") != serverKey {
			t.Errorf("a model request reached the provider without the server's key: the proxy did not forward it")
		}
		tools := slices.Sorted(slices.Values(r.Tools))
		if !slices.Equal(tools, []string{"comment", "finish", "list_files", "read_file", "search"}) {
			t.Errorf("the review model was offered %v, want the read-only tools", tools)
		}
	}
	if brief := string(reqs[0].Body); !strings.Contains(brief, "# Task: review job") || !strings.Contains(brief, "main.tf: lines 11-20") {
		t.Errorf("the brief lacks the diff's commentable lines:\n%.3000s", brief)
	}
	if !strings.Contains(w.srv.logs.String(), "model call forwarded") || !strings.Contains(w.srv.logs.String(), jobID) {
		t.Errorf("the server's log shows no model call forwarded for job %s", jobID)
	}
	tr := model.Trajectory()
	if !tr.Refused(fakemodel.Match{Tool: "write_file"}) || tr.Ran(fakemodel.Match{Tool: "write_file"}) {
		t.Errorf("write_file was not refused:\n%s", tr)
	}
	if !strings.Contains(log, `"type":"refusal"`) || !strings.Contains(log, `"tool":"write_file"`) {
		t.Errorf("the refusal is not in the job's audit trail:\n%s", log)
	}
	// The model's review starts from the validation the check runs published: the root is planned once.
	if data, err := os.ReadFile(dump); err != nil || strings.Count(string(data), "--- plan") != 1 {
		t.Errorf("terraform plan ran %d times, want once (%v)", strings.Count(string(data), "--- plan"), err)
	}
	if n := len(w.fake.GitCommits(e2eOwner, e2eRepo)); n != 0 {
		t.Errorf("%d commits: a review never writes", n)
	}
	// The model's calls go to the server's proxy, not to GitHub: the same 17 REST calls as a first review without one (the README quotes it).
	if calls := appCalls(w.fake); len(calls) != 17 {
		t.Errorf("%d REST calls, want 17:\n  %s", len(calls), strings.Join(calls, "\n  "))
	}
	cr := jobCheckRun(t, w.fake, jobID)
	if !strings.Contains(cr.Output.Summary, "1 from the model") || !strings.Contains(cr.Output.Summary, "Model: `anthropic/") ||
		strings.Contains(cr.Output.Summary, "part failed") {
		t.Errorf("the job's check run does not name the model and its tokens:\n%s", cr.Output.Summary)
	}
}

// TestReviewModelFails: a model server answering 500 to every call → the
// SDK's retries are spent, and the deterministic review is posted anyway,
// its body and the job's check run saying the model's part failed and why.
func TestReviewModelFails(t *testing.T) {
	model := fakemodel.New(t, fakemodel.ScriptFunc(func(*fakemodel.Request) fakemodel.Turn {
		return fakemodel.Turn{Status: http.StatusInternalServerError}
	}))
	w := newModelReviewWorld(t, model)
	jobID, _ := w.reviewWithModel(t)

	if n := len(model.Requests()); n < 2 {
		t.Errorf("%d model requests, want the call and its retries", n)
	}
	reviews := w.fake.Reviews(e2eOwner, e2eRepo, e2ePR)
	if len(reviews) != 1 || reviews[0].Event != review.Event {
		t.Fatalf("reviews = %+v, want the deterministic review", reviews)
	}
	body := reviews[0].Body
	if !strings.Contains(body, "**The model's part failed**: the model call failed") || !strings.Contains(body, "500") ||
		!strings.Contains(body, "`main.tf:1` terraform\\_data.legacy is public") {
		t.Errorf("the review's body does not say the model's part failed, or lost the deterministic part:\n%s", body)
	}
	comments := w.fake.ReviewComments(e2eOwner, e2eRepo, e2ePR)
	if len(comments) != 1 || comments[0].Line != 15 {
		t.Errorf("comments = %+v, want the policy's finding on line 15", comments)
	}
	cr := jobCheckRun(t, w.fake, jobID)
	if cr.Conclusion != "failure" || !strings.HasPrefix(cr.Output.Title, "Review posted") ||
		!strings.Contains(cr.Output.Summary, "The model's part failed: the model call failed") {
		t.Errorf("the job's check run: %s %q\n%s", cr.Conclusion, cr.Output.Title, cr.Output.Summary)
	}
	if toks := runnerTokens(w.fake); len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("tokens = %+v", toks)
	}
}
