package loop_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/fixes"
	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/internal/fakemodel"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/wire"
)

// TestEncryptionFixThroughHCLEdits is the guide's first trajectory: an
// unencrypted bucket, fixed by the model through structural edits, validated
// clean; the public bucket is fixed first without the model.
func TestEncryptionFixThroughHCLEdits(t *testing.T) {
	t.Parallel()
	for _, api := range []fakemodel.API{fakemodel.Anthropic, fakemodel.OpenAI} {
		t.Run(string(api), func(t *testing.T) {
			h := newHarness(t, "app", fakemodel.Turns(
				turn(call("read_file", map[string]any{"path": "envs/app/main.tf", "start_line": 1, "end_line": 40})),
				turn(encryptLogsAlgorithm, encryptLogs),
				turn(call("run_validation", nil)),
				finish("Encrypted aws_s3_bucket.logs with the existing KMS key."),
			), withAPI(api))
			res := h.run(wire.KindFix, "")
			tr := h.trajectory()
			if res.Status != loop.StatusFixed {
				t.Fatalf("status %s: %v\n%s\ntrajectory:\n%s", res.Status, res.NeedsReview, res.Text(), tr)
			}
			main := h.file("envs/app/main.tf")
			for _, want := range []string{"server_side_encryption_configuration", "kms_master_key_id = aws_kms_key.logs.arn", `acl    = "private"`} {
				if !strings.Contains(main, want) {
					t.Errorf("main.tf lacks %q:\n%s", want, main)
				}
			}
			for _, step := range []string{"read_file", "edit", "run_validation"} {
				if !tr.Ran(fakemodel.Match{Tool: step}) {
					t.Errorf("%s did not run:\n%s", step, tr)
				}
			}
			// The last call's result never goes back: the job ends on it.
			if len(tr.Find(fakemodel.Match{Tool: "finish"})) != 1 || tr.Refused(fakemodel.Match{}) {
				t.Errorf("want one finish and no refusal:\n%s", tr)
			}
			if len(res.Deterministic) != 1 || res.Deterministic[0].Kind != fixes.KindPolicy {
				t.Errorf("deterministic fixes = %+v, want the public ACL", res.Deterministic)
			}
			if res.ModelCalls != 4 || res.Tokens.Input == 0 || res.Iterations != 1 || len(res.Remaining) != 0 {
				t.Errorf("model calls %d, tokens %+v, iterations %d, remaining %d", res.ModelCalls, res.Tokens, res.Iterations, len(res.Remaining))
			}
			if !res.Validation.Passed || !strings.Contains(res.Diff, "+        kms_master_key_id = aws_kms_key.logs.arn") {
				t.Errorf("validation %+v, diff:\n%s", res.Validation.Passed, res.Diff)
			}
			// The model was asked only for what was left.
			first := string(h.srv.Requests()[0].Body)
			if strings.Contains(first, "is public (acl public-read)") || !strings.Contains(first, "aws_s3_bucket.logs is not encrypted") {
				t.Errorf("the brief does not hold exactly the remaining finding")
			}
		})
	}
}

// TestFmtOnlyFixNeedsNoModel: a repository whose only failure is
// formatting is fixed by terraform fmt, with a model configured and never
// called.
func TestFmtOnlyFixNeedsNoModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "formatting", noModel(t))
	res := h.run(wire.KindFix, "")
	if res.Status != loop.StatusFixed || res.ModelCalls != 0 || len(h.srv.Requests()) != 0 || res.Tokens.Total() != 0 {
		t.Fatalf("status %s, model calls %d, requests %d:\n%s", res.Status, res.ModelCalls, len(h.srv.Requests()), res.Text())
	}
	if len(res.Deterministic) != 1 || res.Deterministic[0].Kind != fixes.KindFmt {
		t.Errorf("deterministic = %+v", res.Deterministic)
	}
	if main := h.file("envs/web/main.tf"); !strings.Contains(main, "  region = \"eu-west-1\"\n") || !strings.Contains(main, "        sse_algorithm = \"aws:kms\"") {
		t.Errorf("not formatted:\n%s", main)
	}
	if !strings.Contains(res.CommitMessage("alice"), "Infra-Agent-Model: none (deterministic)") {
		t.Errorf("commit message:\n%s", res.CommitMessage("alice"))
	}
}

// TestPolicyDeclaredFixNeedsNoModel: a fix the policy declares is applied
// with hclwrite (the comment above the attribute kept), validated, and no
// model is called.
func TestPolicyDeclaredFixNeedsNoModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "public", noModel(t))
	res := h.run(wire.KindFix, "")
	if res.Status != loop.StatusFixed || res.ModelCalls != 0 || len(h.srv.Requests()) != 0 {
		t.Fatalf("status %s, model calls %d:\n%s", res.Status, res.ModelCalls, res.Text())
	}
	if main := h.file("envs/web/main.tf"); !strings.Contains(main, "  # Public for the launch; the policy says no.\n  acl = \"private\"") {
		t.Errorf("fix not applied in place:\n%s", main)
	}
	if len(res.Deterministic) != 1 || res.Deterministic[0].Description != `set acl = "private" on aws_s3_bucket.web` {
		t.Errorf("deterministic = %+v", res.Deterministic)
	}
	sugg := res.Suggestions()
	if len(sugg) != 1 || sugg[0].StartLine != 8 || sugg[0].EndLine != 8 || sugg[0].Replacement != "  acl = \"private\"\n" {
		t.Errorf("suggestions = %+v", sugg)
	}
}

// TestNoModelSaysWhatIsLeft: without a model, fix applies what it can and
// says plainly that the rest needs one.
func TestNoModelSaysWhatIsLeft(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app", nil)
	res := h.run(wire.KindFix, "")
	if res.Status != loop.StatusNeedsReview || !res.NeedsModel || len(res.Deterministic) != 1 || len(res.Remaining) != 1 {
		t.Fatalf("status %s, needs model %v, deterministic %d, remaining %d:\n%s", res.Status, res.NeedsModel, len(res.Deterministic), len(res.Remaining), res.Text())
	}
	if !strings.Contains(res.Text(), "no model is configured") || !strings.Contains(res.Text(), "aws_s3_bucket.logs is not encrypted") {
		t.Errorf("text does not say what needs a model:\n%s", res.Text())
	}
	if !strings.Contains(h.file("envs/app/main.tf"), `acl    = "private"`) {
		t.Error("the deterministic fix was not kept")
	}
}

// TestModuleCallFixMixed runs the agent on the examples: the plan policy's
// declared fix (public = false on the module call) first, then the model
// for the owner tag no policy can choose.
func TestModuleCallFixMixed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app", fakemodel.Turns(
		turn(edit("set", map[string]any{"root": "envs/prod", "address": "module.backups", "name": "tags",
			"value": map[string]any{"owner": "storage-team", "cost-center": "1234"}})),
		finish("Gave module.backups an owner."),
	))
	h.dir = t.TempDir()
	testkit.CopyTree(t, filepath.Join("..", "..", "examples"), h.dir)
	h.opts.Dir = h.dir
	engine, err := policy.Compile(context.Background(), policy.Options{Paths: []string{filepath.Join(h.dir, "policy")}})
	if err != nil {
		t.Fatal(err)
	}
	h.opts.Policy, h.opts.PolicyPaths = engine, []string{filepath.Join(h.dir, "policy")}
	res := h.run(wire.KindFix, "")
	if res.Status != loop.StatusFixed || res.ModelCalls != 2 || len(res.Deterministic) != 1 {
		t.Fatalf("status %s, model calls %d, deterministic %d:\n%s\n%s", res.Status, res.ModelCalls, len(res.Deterministic), res.Text(), h.trajectory())
	}
	prod := h.file("envs/prod/main.tf")
	if !strings.Contains(prod, "public = false") || !strings.Contains(prod, `owner       = "storage-team"`) {
		t.Errorf("envs/prod/main.tf:\n%s", prod)
	}
	brief := string(h.srv.Requests()[0].Body)
	if !strings.Contains(brief, "module.backups has no owner tag") || strings.Contains(brief, "makes the bucket prod-assets public") {
		t.Error("the model was not asked for exactly what the deterministic fix left")
	}
	if !strings.Contains(brief, "set public = false on module.assets") {
		t.Error("the brief does not say what was fixed without the model")
	}
}

// TestDeterministicFixThatBreaksIsPutBack: a declared fix that makes
// validation fail is put back, and the finding goes to the model (here: none).
func TestDeterministicFixThatBreaksIsPutBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "public", nil)
	engine, err := policy.Compile(context.Background(), policy.Options{Paths: []string{filepath.Join("testdata", "broken-fix-policy")}})
	if err != nil {
		t.Fatal(err)
	}
	h.opts.Policy = engine
	before := h.file("envs/web/main.tf")
	res := h.run(wire.KindFix, "")
	if res.Status != loop.StatusNeedsReview || len(res.Deterministic) != 0 || len(res.DeterministicSkipped) != 1 || len(res.Remaining) != 1 {
		t.Fatalf("status %s, deterministic %d, skipped %+v, remaining %d", res.Status, len(res.Deterministic), res.DeterministicSkipped, len(res.Remaining))
	}
	if !strings.Contains(res.DeterministicSkipped[0].Reason, "put back") || h.file("envs/web/main.tf") != before || res.Diff != "" {
		t.Errorf("not put back: %q\n%s", res.DeterministicSkipped[0].Reason, h.file("envs/web/main.tf"))
	}
}
