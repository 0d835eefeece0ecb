package loop_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/agent/audit"
	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/fakemodel"
	"github.com/infra-agent/infra-agent/wire"
)

// TestReviewWritesNothing: a review job reads, comments, and is refused
// every write tool; the checkout is untouched, and the deterministic fix is
// offered as a suggestion.
func TestReviewWritesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app", fakemodel.Turns(
		turn(call("read_file", map[string]any{"path": "envs/app/main.tf"})),
		turn(encryptLogs, call("write_file", map[string]any{"path": "envs/app/main.tf", "content": "# gone\n"}), call("run_validation", nil)),
		turn(call("comment", map[string]any{"path": "envs/app/main.tf", "line": 44, "body": "The app role can read every asset; scope it to a prefix?"})),
		finish("Reviewed."),
	))
	before := h.file("envs/app/main.tf")
	res := h.run(wire.KindReview, "")
	tr := h.trajectory()
	if res.Status != loop.StatusReviewed {
		t.Fatalf("status %s:\n%s", res.Status, res.Text())
	}
	if h.file("envs/app/main.tf") != before {
		t.Fatal("a review changed the checkout")
	}
	for _, tool := range []string{"edit", "write_file", "run_validation"} {
		steps := tr.Find(fakemodel.Match{Tool: tool})
		if len(steps) != 1 || !steps[0].Error || !strings.Contains(steps[0].Result, "not available to a review job") {
			t.Errorf("%s was not refused as unavailable:\n%s", tool, tr)
		}
	}
	if !tr.Ran(fakemodel.Match{Tool: "read_file"}) || !tr.Ran(fakemodel.Match{Tool: "comment"}) {
		t.Errorf("read and comment did not run:\n%s", tr)
	}
	if len(res.ReviewComments) != 1 || res.ReviewComments[0].Line != 44 {
		t.Errorf("comments = %+v", res.ReviewComments)
	}
	if s := res.Suggestions(); len(s) != 1 || !strings.Contains(s[0].Replacement, `"private"`) {
		t.Errorf("suggestions = %+v", s)
	}
	if len(res.Refusals) != 3 || res.Iterations != 0 {
		t.Errorf("refusals %d, iterations %d", len(res.Refusals), res.Iterations)
	}
}

// TestReviewFromTheCallersBaseline: a review given the caller's validation
// starts from it: its findings are the review's targets and nothing is
// validated again (no plan for the same commit twice).
func TestReviewFromTheCallersBaseline(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app", fakemodel.Turns(finish("Nothing to add.")))
	given := checks.Finding{Root: "envs/app", Source: "policy", Rule: "deny_given", File: "envs/app/main.tf", Line: 3,
		Severity: checks.SeverityWarning, Message: "a finding only the caller's validation has"}
	h.opts.Baseline = &checks.Report{Roots: []checks.RootResult{{Dir: "envs/app", Findings: []checks.Finding{given}}}}
	res := h.run(wire.KindReview, "")
	if res.Status != loop.StatusReviewed || len(res.Targets) != 1 || res.Targets[0].Rule != "deny_given" {
		t.Fatalf("status %s, targets %+v: want the caller's finding", res.Status, res.Targets)
	}
	if strings.Contains(h.trail.String(), `"type":"`+audit.TypePolicyEvaluated+`"`) {
		t.Errorf("the review validated again:\n%s", h.trail.String())
	}
	if reqs := h.srv.Requests(); len(reqs) == 0 || !strings.Contains(string(reqs[0].Body), "a finding only the caller") {
		t.Errorf("the model's brief lacks the caller's finding")
	}
}

// TestReviewCommentsCapped: a review model gets at most 20 comments; the
// 21st is refused, and the 20 are kept.
func TestReviewCommentsCapped(t *testing.T) {
	t.Parallel()
	var calls []fakemodel.Call
	for i := range 21 {
		calls = append(calls, call("comment", map[string]any{"path": "envs/app/main.tf", "line": 1, "body": fmt.Sprintf("remark %d", i+1)}))
	}
	h := newHarness(t, "app", fakemodel.Turns(fakemodel.Turn{Calls: calls}, finish("Done.")))
	h.opts.Baseline = &checks.Report{Roots: []checks.RootResult{{Dir: "envs/app"}}}
	res := h.run(wire.KindReview, "")
	steps := h.trajectory().Find(fakemodel.Match{Tool: "comment"})
	if len(res.ReviewComments) != 20 || len(steps) != 21 || steps[19].Error || !steps[20].Error ||
		!strings.Contains(steps[20].Result, "at most 20 comments") {
		t.Errorf("%d comments kept; the 21st answered %q", len(res.ReviewComments), steps[len(steps)-1].Result)
	}
}

// TestAlwaysFailingValidationStopsAtTheLimit: a model whose edits never fix
// the finding is stopped when the plan runs are spent; the result is "needs
// review" with what remains, never success, and the work is kept.
func TestAlwaysFailingValidationStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app", fakemodel.ScriptFunc(func(r *fakemodel.Request) fakemodel.Turn {
		if len(r.LastResults) > 0 && strings.HasPrefix(r.LastResults[0].Content, "set ") {
			return finish("Tagged the bucket.")
		}
		return turn(edit("set", map[string]any{"address": "aws_s3_bucket.logs", "name": "force_destroy", "value": false}))
	}), withConfig(func(c *config.RepoConfig) { c.Agent.MaxPlanRuns = 2 }))
	res := h.run(wire.KindFix, "")
	if res.Status != loop.StatusNeedsReview || res.Limit != "plan_runs" || res.Iterations != 2 || res.MaxIterations != 2 {
		t.Fatalf("status %s, limit %q, iterations %d/%d:\n%s", res.Status, res.Limit, res.Iterations, res.MaxIterations, res.Text())
	}
	if len(res.Remaining) != 1 || !strings.Contains(res.PullRequestBody(), "Targeted findings remaining: 1 of 2") {
		t.Errorf("remaining %d; body:\n%s", len(res.Remaining), res.PullRequestBody())
	}
	if !strings.Contains(h.file("envs/app/main.tf"), "force_destroy = false") || res.Diff == "" {
		t.Error("the partial work was not kept")
	}
	feedback := h.srv.Requests()[2].LastUserText
	if !strings.Contains(feedback, "Validation iteration 1/2: 1 targeted finding(s) remain") {
		t.Errorf("feedback = %q", feedback)
	}
}

// fakeClock advances a step each time it is read.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// TestBudgetLimits: each limit, reached, stops the job gracefully with the
// limit named, the partial work kept, and a budget_exceeded event.
func TestBudgetLimits(t *testing.T) {
	t.Parallel()
	reads := fakemodel.ScriptFunc(func(*fakemodel.Request) fakemodel.Turn {
		return turn(encryptLogsAlgorithm, call("read_file", map[string]any{"path": "envs/app/main.tf"}), call("list_files", nil))
	})
	validations := fakemodel.ScriptFunc(func(*fakemodel.Request) fakemodel.Turn {
		return turn(call("run_validation", nil), edit("set", map[string]any{"address": "aws_s3_bucket.logs", "name": "force_destroy", "value": true}))
	})
	planRuns := 3
	tests := []struct {
		limit  string
		script fakemodel.Script
		budget config.Budget
		// tick, when set, is how far the job's clock moves each time it
		// is read.
		tick time.Duration
	}{
		{"turns", reads, config.Budget{Turns: 2}, 0},
		{"tokens", reads, config.Budget{Tokens: 1000}, 0},
		{"tool_calls", reads, config.Budget{ToolCalls: 4}, 0},
		{"plan_runs", validations, config.Budget{PlanRuns: &planRuns}, 0},
		{"timeout", reads, config.Budget{Timeout: time.Minute}, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.limit, func(t *testing.T) {
			h := newHarness(t, "app", tt.script, withConfig(func(c *config.RepoConfig) { c.Agent.Budgets.Fix = tt.budget }))
			if tt.tick > 0 {
				h.opts.Now = (&fakeClock{now: time.Now(), step: tt.tick}).Now
			}
			res := h.run(wire.KindFix, "")
			if res.Status != loop.StatusNeedsReview || res.Limit != tt.limit {
				t.Fatalf("status %s, limit %q, want %s:\n%s", res.Status, res.Limit, tt.limit, res.Text())
			}
			if !strings.Contains(h.file("envs/app/main.tf"), "sse_algorithm") && !strings.Contains(h.file("envs/app/main.tf"), "force_destroy = true") {
				t.Error("the partial work was not kept")
			}
			exceeded := false
			for _, e := range h.events() {
				if e.Type == audit.TypeBudgetExceeded && e.Data["limit"] == tt.limit {
					exceeded = true
				}
			}
			if !exceeded {
				t.Errorf("no budget_exceeded event for %s:\n%s", tt.limit, h.trail)
			}
			lim := h.opts.Config.Agent.Limits(wire.KindFix)
			u := res.Used
			if u.Turns > lim.Turns || u.ToolCalls > lim.ToolCalls || u.PlanRuns > lim.PlanRuns {
				t.Errorf("used %+v beyond %+v", u, lim)
			}
		})
	}
}

// TestModelFaults: 429 with Retry-After and 500 are retried; malformed,
// unknown and schema-breaking tool calls are refused and the job goes on;
// a model that keeps failing ends the job as needs review with the
// deterministic work kept.
func TestModelFaults(t *testing.T) {
	t.Parallel()
	t.Run("retried and refused", func(t *testing.T) {
		h := newHarness(t, "app", fakemodel.Turns(
			fakemodel.Turn{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}},
			fakemodel.Turn{Status: http.StatusInternalServerError},
			turn(fakemodel.Call{Name: "read_file", RawArgs: `{"path": "envs/app/main.tf"`},
				call("bash", map[string]any{"command": "cat /etc/passwd"}),
				edit("set", map[string]any{"address": "aws_s3_bucket.logs"}),
				call("read_file", map[string]any{"path": "envs/app/main.tf", "mode": "raw"})),
			turn(encryptLogsAlgorithm),
			finish("Encrypted."),
		), withAPI(fakemodel.OpenAI))
		res := h.run(wire.KindFix, "")
		if res.Status != loop.StatusFixed {
			t.Fatalf("status %s:\n%s\n%s", res.Status, res.Text(), h.trajectory())
		}
		tr := h.trajectory()
		for _, want := range []string{"not valid JSON", `there is no tool "bash"`, "missing property 'name'", "additional properties 'mode' not allowed"} {
			found := false
			for _, s := range tr {
				if s.Error && strings.Contains(s.Result, want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no refusal saying %q:\n%s", want, tr)
			}
		}
		if len(res.Refusals) != 4 || len(h.srv.Requests()) != 5 {
			t.Errorf("refusals %d, requests %d", len(res.Refusals), len(h.srv.Requests()))
		}
	})
	t.Run("down", func(t *testing.T) {
		h := newHarness(t, "app", fakemodel.ScriptFunc(func(*fakemodel.Request) fakemodel.Turn {
			return fakemodel.Turn{Status: http.StatusInternalServerError, Header: http.Header{"Retry-After-Ms": {"5"}}}
		}))
		res := h.run(wire.KindFix, "")
		if res.Status != loop.StatusNeedsReview || !strings.Contains(strings.Join(res.NeedsReview, "\n"), "the model call failed") || len(res.Deterministic) != 1 {
			t.Fatalf("status %s, reasons %v:\n%s", res.Status, res.NeedsReview, res.Text())
		}
		if !strings.Contains(h.file("envs/app/main.tf"), `acl    = "private"`) {
			t.Error("the deterministic work was not kept")
		}
	})
}
