package loop_test

import (
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/fakemodel"
	"github.com/infra-agent/infra-agent/wire"
)

// bumpGeneration changes the attribute that forces the data set's
// replacement.
var bumpGeneration = edit("set", map[string]any{"address": "terraform_data.dataset", "name": "triggers_replace", "value": []any{"generation-2"}})

// TestDestroyGate: a change whose plan replaces an existing resource fails
// the gate unless agent.allow_destroy; the result lists the replace.
func TestDestroyGate(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		name := map[bool]string{false: "refused", true: "allowed"}[allow]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "state", fakemodel.Turns(turn(bumpGeneration), finish("Bumped the generation.")),
				withConfig(func(c *config.RepoConfig) { c.Agent.AllowDestroy = allow; c.Agent.MaxPlanRuns = 2 }))
			res := h.runTask(loop.Task{Kind: wire.KindFix, Instructions: "Move the data set to generation 2.", Findings: []checks.Finding{}})
			if len(res.Plan.Destroys) != 1 || res.Plan.Destroys[0].Address != "terraform_data.dataset" || res.Plan.Destroys[0].After != checks.ActionReplace {
				t.Fatalf("destroys = %+v\n%s", res.Plan.Destroys, res.Text())
			}
			if allow {
				if res.Status != loop.StatusFixed {
					t.Errorf("allowed: status %s: %v", res.Status, res.NeedsReview)
				}
				return
			}
			if res.Status != loop.StatusNeedsReview || !strings.Contains(strings.Join(res.NeedsReview, "\n"), "delete or replace") {
				t.Errorf("refused: status %s: %v", res.Status, res.NeedsReview)
			}
			if fb := h.srv.Requests()[2].LastUserText; !strings.Contains(fb, "adds a delete or replace: terraform_data.dataset") {
				t.Errorf("the model was not told: %q", fb)
			}
		})
	}
}

// TestPlanScopeGate: a fix may change only what the task is about (the
// target and what it refers to); a change to another resource fails the
// gate and is listed, and an IAM change is flagged for a human.
func TestPlanScopeGate(t *testing.T) {
	t.Parallel()
	// The role is neither a target, nor what a target refers to, nor refers
	// to one (its policy refers to the assets bucket; the role does not).
	tagRole := edit("set", map[string]any{"address": "aws_iam_role.app", "name": "tags", "value": map[string]any{"team": "platform"}})
	h := newHarness(t, "app", fakemodel.Turns(
		turn(encryptLogsAlgorithm, encryptLogs, tagRole),
		finish("Encrypted the logs bucket and tagged the role."),
	), withConfig(func(c *config.RepoConfig) { c.Agent.MaxPlanRuns = 1 }))
	res := h.run(wire.KindFix, "")
	if res.Status != loop.StatusNeedsReview || len(res.Remaining) != 0 {
		t.Fatalf("status %s, remaining %d:\n%s", res.Status, len(res.Remaining), res.Text())
	}
	var out []string
	for _, c := range res.Plan.OutOfScope {
		out = append(out, c.Address)
	}
	if strings.Join(out, ",") != "aws_iam_role.app" {
		t.Errorf("out of scope = %v; the target and its KMS key are in scope, the role is not", out)
	}
	if len(res.IAM) != 1 || !strings.Contains(res.IAM[0], "aws_iam_role.app") {
		t.Errorf("IAM flags = %v", res.IAM)
	}
	if !strings.Contains(res.PullRequestBody(), "IAM change for a human to check") {
		t.Errorf("PR body:\n%s", res.PullRequestBody())
	}
}

// TestIAMChangeIsFlagged: a change the task asks for on an IAM policy is in
// scope and passes, and is still flagged for a human.
func TestIAMChangeIsFlagged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app", fakemodel.Turns(
		turn(edit("set", map[string]any{"address": "aws_iam_role_policy.app", "name": "name", "value": "read-assets-v2"})),
		finish("Renamed the policy."),
	))
	res := h.runTask(loop.Task{Kind: wire.KindFix, Instructions: "Rename the app role's policy to read-assets-v2.", Findings: []checks.Finding{}})
	if res.Status != loop.StatusFixed || len(res.Plan.OutOfScope) != 0 {
		t.Fatalf("status %s, out of scope %v: %v", res.Status, res.Plan.OutOfScope, res.NeedsReview)
	}
	if len(res.IAM) != 1 || !strings.Contains(res.IAM[0], "aws_iam_role_policy.app") {
		t.Errorf("IAM flags = %v", res.IAM)
	}
}
