package terraform

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestPasses(t *testing.T) {
	tests := []struct {
		name        string
		allow, cred []string
		want        bool
	}{
		{name: "PATH", want: true},
		{name: "HOME", want: true},
		{name: "TMPDIR", want: true},
		{name: "TF_VAR_region", want: true},
		{name: "TF_PLUGIN_CACHE_DIR", want: true},
		{name: "AWS_ACCESS_KEY_ID", want: true},
		{name: "AWS_SECRET_ACCESS_KEY", want: true},
		{name: "AWS_SESSION_TOKEN", want: true},
		{name: "ARM_CLIENT_SECRET", want: true},
		{name: "GOOGLE_APPLICATION_CREDENTIALS", want: true},
		{name: "GITHUB_TOKEN", want: false},
		{name: "GH_TOKEN", want: false},
		{name: "ACTIONS_ID_TOKEN_REQUEST_TOKEN", want: false},
		{name: "ACTIONS_RUNTIME_URL", want: false},
		{name: "ANTHROPIC_API_KEY", want: false},
		{name: "OPENAI_API_KEY", want: false},
		{name: "INFRA_AGENT_JOB_TOKEN", want: false},
		{name: "TF_TOKEN_app_terraform_io", want: false},
		{name: "TF_VAR_github_token", want: false},
		{name: "TF_VAR_db_password", want: false},
		{name: "TF_VAR_client_secret", want: false},
		{name: "SLACK_BOT_TOKEN", want: false},
		{name: "STRIPE_API_KEY", want: false},
		{name: "MY_SECRET", want: false},
		{name: "RANDOM_VARIABLE", want: false},
		{name: "GITHUB_REPOSITORY", want: false},
		{name: "TF_TOKEN_app_terraform_io", cred: []string{"TF_TOKEN_app_terraform_io"}, want: true},
		{name: "TF_VAR_db_password", cred: []string{"TF_VAR_db_password"}, want: true},
		{name: "VAULT_ADDR", allow: []string{"VAULT_ADDR"}, want: true},
		{name: "VAULT_TOKEN", allow: []string{"VAULT_*"}, want: false},
		{name: "VAULT_TOKEN", cred: []string{"VAULT_*"}, want: true},
		// The never-pass list wins over any allow-list.
		{name: "GITHUB_TOKEN", allow: []string{"*"}, cred: []string{"*"}, want: false},
		{name: "OPENAI_API_KEY", cred: []string{"OPENAI_API_KEY"}, want: false},
		{name: "github_token", cred: []string{"*"}, want: false},
		{name: "ACTIONS_ID_TOKEN_REQUEST_URL", cred: []string{"ACTIONS_*"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+strings.Join(tt.allow, ",")+"/"+strings.Join(tt.cred, ","), func(t *testing.T) {
			allow, cred := DefaultEnv(), DefaultCredentialEnv()
			if tt.allow != nil {
				allow = append(allow, tt.allow...)
			}
			if tt.cred != nil {
				cred = tt.cred
			}
			if got := passes(tt.name, allow, cred); got != tt.want {
				t.Errorf("passes(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// fakeTerraform writes a "terraform" script that records its arguments and
// environment in dir, so tests observe what a real child process receives.
func fakeTerraform(t *testing.T, name, body string) (bin, dir string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake terraform is a shell script")
	}
	dir = t.TempDir()
	bin = filepath.Join(dir, name)
	script := `#!/bin/sh
here=$(dirname "$0")
if [ "$1" = version ]; then
  echo '{"terraform_version":"1.5.7","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}'
  exit 0
fi
env > "$here/env-$1.txt"
printf '%s\n' "$@" > "$here/args-$1.txt"
` + body
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

func readEnvDump(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the fake terraform did not run: %v", err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env
}

func TestChildEnvironmentIsScrubbed(t *testing.T) {
	bin, dir := fakeTerraform(t, "terraform", "exit 0\n")
	environ := []string{
		"PATH=/usr/bin:/bin", "HOME=/home/runner", "TMPDIR=/tmp/x",
		"TF_VAR_region=eu-west-1", "TF_VAR_github_token=ghs_leak", "TF_TOKEN_app_terraform_io=leak",
		"TF_CLI_ARGS_plan=-lock=true", "TF_LOG=TRACE", "TF_WORKSPACE=prod",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN=session", "ARM_CLIENT_SECRET=arm",
		"GITHUB_TOKEN=ghs_leak", "GH_TOKEN=gho_leak", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=leak",
		"ACTIONS_RUNTIME_TOKEN=leak", "ANTHROPIC_API_KEY=sk-ant-leak", "OPENAI_API_KEY=sk-leak",
		"DEPLOY_SECRET=leak", "NPM_TOKEN=leak", "SOME_API_KEY=leak", "GITHUB_REPOSITORY=o/r",
	}
	c, err := New(t.TempDir(), Options{
		Binary: bin, Environ: environ, PluginCacheDir: "/cache", DataDir: "/data",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(context.Background(), InitOptions{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	env := readEnvDump(t, filepath.Join(dir, "env-init.txt"))
	want := map[string]string{
		"HOME": "/home/runner", "TMPDIR": "/tmp/x", "TF_VAR_region": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN": "session", "ARM_CLIENT_SECRET": "arm",
		"TF_PLUGIN_CACHE_DIR": "/cache", "TF_DATA_DIR": "/data", "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1",
		"TF_LOG": "",
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("child env %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{
		"TF_VAR_github_token", "TF_TOKEN_app_terraform_io", "TF_CLI_ARGS_plan", "TF_WORKSPACE",
		"GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_RUNTIME_TOKEN",
		"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "DEPLOY_SECRET", "NPM_TOKEN", "SOME_API_KEY", "GITHUB_REPOSITORY",
	} {
		if v, ok := env[k]; ok {
			t.Errorf("child env has %s=%q", k, v)
		}
	}
	for k, v := range env {
		if strings.Contains(v, "leak") {
			t.Errorf("a secret value reached the child as %s", k)
		}
	}
}

func TestPlanArguments(t *testing.T) {
	bin, dir := fakeTerraform(t, "tofu", "exit 0\n")
	c, err := New(t.TempDir(), Options{Binary: bin, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "tofu" {
		t.Errorf("Name() = %q, want tofu", c.Name())
	}
	changes, err := c.Plan(context.Background(), PlanOptions{Out: "/plans/out.tfplan", VarFiles: []string{"a.tfvars", "b.tfvars"}})
	if err != nil || changes {
		t.Fatalf("Plan = %v, %v; want no changes, nil", changes, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "args-plan.txt"))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(string(b))
	for _, want := range []string{"-lock=false", "-input=false", "-no-color", "-out=/plans/out.tfplan", "-var-file=a.tfvars", "-var-file=b.tfvars", "-detailed-exitcode"} {
		if !slices.Contains(args, want) {
			t.Errorf("plan args %v lack %s", args, want)
		}
	}
	if i, j := slices.Index(args, "-var-file=a.tfvars"), slices.Index(args, "-var-file=b.tfvars"); i > j {
		t.Errorf("var files out of order: %v", args)
	}
	if _, err := c.Plan(context.Background(), PlanOptions{}); err == nil {
		t.Error("Plan without an output file succeeded")
	}
}

// TestScrubbedEnvironment runs the real terraform: a TF_VAR_ value on the
// allow-list reaches the configuration, one whose name looks like a token
// does not.
func TestScrubbedEnvironment(t *testing.T) {
	ctx := context.Background()
	dir := copyDir(t, "env")
	c := newCLI(t, dir, Options{Environ: testEnviron(t,
		"TF_VAR_allowed=from-the-environment", "TF_VAR_github_token=ghs_should_not_pass", "GITHUB_TOKEN=ghs_x")})
	if err := c.Init(ctx, InitOptions{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	out := filepath.Join(t.TempDir(), "plan.tfplan")
	if _, err := c.Plan(ctx, PlanOptions{Out: out}); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	raw, err := c.ShowPlanJSON(ctx, out)
	if err != nil {
		t.Fatalf("ShowPlanJSON: %v", err)
	}
	var plan struct {
		ResourceChanges []struct {
			Address string
			Change  struct {
				After struct {
					Input map[string]string
				}
			}
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(raw, &plan); err != nil {
		t.Fatalf("decoding plan: %v", err)
	}
	if len(plan.ResourceChanges) != 1 {
		t.Fatalf("plan has %d resource changes, want 1", len(plan.ResourceChanges))
	}
	got := plan.ResourceChanges[0].Change.After.Input
	if got["allowed"] != "from-the-environment" {
		t.Errorf("allowed TF_VAR_ did not reach terraform: input = %v", got)
	}
	if got["github_token"] != "absent" {
		t.Errorf("a token-named TF_VAR_ reached terraform: input = %v", got)
	}
}
