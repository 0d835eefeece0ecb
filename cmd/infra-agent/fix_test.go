package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/fakemodel"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// runFixIn runs `infra-agent fix` in-process with the given environment.
func runFixIn(t *testing.T, env map[string]string, args ...string) checkResult {
	t.Helper()
	var out, errOut bytes.Buffer
	io := stdio{in: strings.NewReader(""), out: &out, err: &errOut}
	args = append([]string{"fix", "--terraform", testkit.TerraformBinary(t)}, args...)
	err := run(context.Background(), args, func(k string) string { return env[k] }, io)
	return checkResult{code: exitCode(err, &errOut), stdout: out.String(), stderr: errOut.String()}
}

// examplesCopy copies the examples to a temporary repository.
func examplesCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testkit.CopyTree(t, filepath.Join("..", "..", "examples"), dir)
	return dir
}

// TestFixWithoutModel: the README's example of a local run with no model:
// the declared fix is shown, the rest is said to need a model, exit 1, and
// --dry-run leaves the files untouched.
func TestFixWithoutModel(t *testing.T) {
	dir := examplesCopy(t)
	before, _ := os.ReadFile(filepath.Join(dir, "envs/prod/main.tf"))
	r := runFixIn(t, nil, "--dry-run", "--policy", filepath.Join(dir, "policy"), dir)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (needs review)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"fix: NEEDS REVIEW",
		"no model is configured",
		"[policy] set public = false on module.assets",
		"Model calls: 0",
		"module.backups has no owner tag",
		"-  public = true\n+  public = false\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "envs/prod/main.tf")); !bytes.Equal(before, after) {
		t.Error("--dry-run changed the files")
	}
}

// TestFixWithModel: with a model (the scripted server behind
// ANTHROPIC_BASE_URL), fix applies the declared fix, asks the model for the
// owner tag, validates, writes the files, and prints JSON; exit 0.
func TestFixWithModel(t *testing.T) {
	dir := examplesCopy(t)
	srv := fakemodel.New(t, fakemodel.Turns(
		fakemodel.Turn{Calls: []fakemodel.Call{{Name: "edit", Args: map[string]any{
			"action": "set", "root": "envs/prod", "address": "module.backups", "name": "tags", "value": map[string]any{"owner": "storage-team", "cost-center": "1234"}}}}},
		fakemodel.Turn{Calls: []fakemodel.Call{{Name: "finish", Args: map[string]any{"summary": "Gave the backups an owner."}}}},
	))
	trail := filepath.Join(t.TempDir(), "audit.jsonl")
	env := map[string]string{"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": srv.AnthropicURL(), "INFRA_AGENT_MODEL": "scripted"}
	r := runFixIn(t, env, "--format", "json", "--audit", trail, "--policy", filepath.Join(dir, "policy"), dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var res struct {
		Status        string
		ModelCalls    int `json:"model_calls"`
		Model         string
		Deterministic []struct{ Kind string }
		Diff          string
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("JSON: %v\n%s", err, r.stdout)
	}
	if res.Status != "fixed" || res.ModelCalls != 2 || res.Model != "anthropic/scripted" || len(res.Deterministic) != 1 || !strings.Contains(res.Diff, "storage-team") {
		t.Errorf("result = %+v", res)
	}
	prod, _ := os.ReadFile(filepath.Join(dir, "envs/prod/main.tf"))
	if !strings.Contains(string(prod), "public = false") || !strings.Contains(string(prod), "storage-team") {
		t.Errorf("files not written:\n%s", prod)
	}
	events, _ := os.ReadFile(trail)
	if !strings.Contains(string(events), `"type":"tool_call","tool":"edit"`) || !strings.Contains(string(events), `"job_id":"local"`) {
		t.Errorf("audit trail:\n%s", events)
	}
}

func TestFixUsage(t *testing.T) {
	dir := examplesCopy(t)
	bad := examplesCopy(t)
	os.MkdirAll(filepath.Join(bad, ".github"), 0o755)
	os.WriteFile(filepath.Join(bad, ".github/infra-agent.yml"), []byte("version: 1\nagent:\n  max_turns: 0\n"), 0o644)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no directory":   {nil, "give exactly one repository directory"},
		"two":            {[]string{dir, dir}, "give exactly one repository directory"},
		"format":         {[]string{"--format", "yaml", dir}, "--format must be text or json"},
		"rego version":   {[]string{"--rego-version", "v2", dir}, "--rego-version must be v0 or v1"},
		"config":         {[]string{bad}, ".github/infra-agent.yml:3: agent.max_turns"},
		"no policy":      {[]string{"--policy", filepath.Join(dir, "envs"), dir}, "no policies found"},
		"model provider": {[]string{"--policy", filepath.Join(dir, "policy"), dir}, "model provider"},
	} {
		env := map[string]string{}
		if name == "model provider" {
			env["INFRA_AGENT_MODEL_PROVIDER"] = "gemini"
		}
		r := runFixIn(t, env, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", name, r.code, r.stderr, tc.want)
		}
	}
}

// TestFixReadsPolicySettings: fix compiles the policies as the repository's
// configuration says — policy.paths, policy.data and policy.rego_version —
// as the runner does: a Rego v0 pack that reads an allow-list from a data
// file passes with its data and fails without it.
func TestFixReadsPolicySettings(t *testing.T) {
	for name, tc := range map[string]struct {
		data string
		code int
		want string
	}{
		"with its data":    {"  data: [policy-data]\n", 0, "fix: CLEAN"},
		"without its data": {"", 1, "is not an allowed resource type"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := examplesCopy(t)
			testkit.CopyTree(t, filepath.Join("testdata", "check", "v0policy"), filepath.Join(dir, "policy-v0"))
			testkit.CopyTree(t, filepath.Join("testdata", "check", "v0data"), filepath.Join(dir, "policy-data"))
			os.MkdirAll(filepath.Join(dir, ".github"), 0o755)
			cfg := "version: 1\npolicy:\n  paths: [policy-v0]\n" + tc.data + "  rego_version: v0\n"
			if err := os.WriteFile(filepath.Join(dir, ".github/infra-agent.yml"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runFixIn(t, nil, "--dry-run", dir)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.want) {
				t.Errorf("exit %d, want %d and %q:\n%s\n%s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}
