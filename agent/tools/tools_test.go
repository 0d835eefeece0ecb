package tools

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/agent/workspace"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

// TestNoDeployCapability walks every tool of every kind: none can apply,
// destroy, import, touch state, push or run a command.
func TestNoDeployCapability(t *testing.T) {
	forbidden := regexp.MustCompile(`(?i)apply|destroy|import|state|taint|unlock|push|merge|shell|exec|command|bash|git`)
	for _, kind := range []wire.Kind{wire.KindFix, wire.KindRemediate, wire.KindReview, wire.KindPlan} {
		r, err := For(kind)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range r.Declarations() {
			if forbidden.MatchString(d.Name) {
				t.Errorf("%s job has a tool named %s", kind, d.Name)
			}
		}
	}
	review, _ := For(wire.KindReview)
	for _, name := range review.Names() {
		if review.Writes(name) || name == "run_validation" {
			t.Errorf("review has the writing or planning tool %s", name)
		}
	}
	plan, _ := For(wire.KindPlan)
	if len(plan.Names()) != 0 {
		t.Errorf("plan jobs have tools: %v", plan.Names())
	}
}

func env(t *testing.T) *Env {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "envs/app"), 0o755)
	src := "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n}\n"
	os.WriteFile(filepath.Join(dir, "envs/app/main.tf"), []byte(src), 0o644)
	ws, err := workspace.Open(dir, config.DefaultRepoConfig().Agent)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Workspace: ws, Content: guard.NewContent(ws.Agent(), map[string][]byte{"envs/app/main.tf": []byte(src)}),
		MaxDiffLines: 500, Roots: []string{"envs/app"}}
}

func TestCallValidation(t *testing.T) {
	r, _ := For(wire.KindFix)
	e := env(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, input, want string
	}{
		{"bash", `{"command":"id"}`, `there is no tool "bash"`},
		{"comment", `{"path":"envs/app/main.tf","line":1,"body":"x"}`, "not available to a fix job"},
		{"read_file", `{"path": 3}`, "do not match its schema"},
		{"read_file", `{"path":"a","extra":1}`, "additional properties"},
		{"read_file", `not json`, "not valid JSON"},
		{"read_file", `["path"]`, "do not match its schema"},
		{"edit", `{"action":"set","address":"aws_s3_bucket.b","name":"acl"}`, "exactly one of value and expression"},
		{"edit", `{"action":"set","address":"aws_s3_bucket.b","name":"acl","value":"x","expression":"y"}`, "exactly one of value and expression"},
		{"edit", `{"action":"add_block","address":"aws_s3_bucket.b","name":"provisioner"}`, "never added"},
		{"edit", `{"action":"remove","address":"aws_s3_bucket.b","name":"acl","value":"x"}`, "takes no value"},
		{"edit", `{"action":"rename","address":"aws_s3_bucket.b","name":"acl"}`, "do not match its schema"},
		{"edit", `{"action":"set","address":"aws_s3_bucket.b","name":"acl","value":"x","root":"envs/other"}`, "not a root module"},
		{"edit", `{"action":"set","address":"var.x","name":"acl","value":"x"}`, "not a resource"},
		{"write_file", `{"path":".github/workflows/x.yml","content":"x"}`, "always denied"},
		{"write_file", `{"path":"envs/app/x.tf","content":"data \"external\" \"x\" {\n  program = [\"id\"]\n}\n"}`, "external-data-source"},
	} {
		_, err := r.Call(ctx, e, tc.name, []byte(tc.input))
		var ref *Refusal
		if !errors.As(err, &ref) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: err = %v, want a refusal saying %q", tc.name, tc.input, err, tc.want)
		}
	}
	out, err := r.Call(ctx, e, "edit", []byte(`{"action":"set","address":"aws_s3_bucket.b","name":"acl","value":"private"}`))
	if err != nil || !strings.Contains(out, "set acl on aws_s3_bucket.b in envs/app/main.tf") {
		t.Fatalf("edit = %q, %v", out, err)
	}
	out, err = r.Call(ctx, e, "read_file", []byte(`{"path":"envs/app/main.tf","start_line":3}`))
	if err != nil || !strings.Contains(out, `    3|   acl    = "private"`) || strings.Contains(out, "    1|") {
		t.Errorf("read_file = %q, %v", out, err)
	}
	changes, _ := e.Workspace.Changes()
	if len(changes) != 1 || !slices.Contains([]string{"envs/app/main.tf"}, changes[0].Path) {
		t.Errorf("changes = %+v", changes)
	}
}
