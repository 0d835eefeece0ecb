package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// checkResult is what one in-process `infra-agent check` printed and returned.
type checkResult struct {
	code           int
	stdout, stderr string
}

// runCheckIn runs `infra-agent check` in-process from the repository's top
// directory, as the README's command does.
func runCheckIn(t *testing.T, env map[string]string, tty bool, args ...string) checkResult {
	t.Helper()
	var out, errOut bytes.Buffer
	io := stdio{in: strings.NewReader(""), out: &out, err: &errOut, tty: tty}
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), append([]string{"check"}, args...), getenv, io)
	return checkResult{code: exitCode(err, &errOut), stdout: out.String(), stderr: errOut.String()}
}

// checkReport is the part of the JSON report the tests read.
type checkReport struct {
	Roots []struct {
		Dir   string `json:"dir"`
		Steps []struct {
			Name, Status string
		} `json:"steps"`
		Plan *struct {
			Create, Update, Delete, Replace int
		} `json:"plan"`
	} `json:"roots"`
	Findings []struct {
		Message, File, Severity, Source string
		Line                            int
	} `json:"findings"`
	Versions map[string]string `json:"versions"`
}

func decodeReport(t *testing.T, s string) checkReport {
	t.Helper()
	var r checkReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("the JSON report does not decode: %v\n%s", err, s)
	}
	return r
}

// findingLines lists findings as "severity file:line message".
func findingLines(r checkReport) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Severity+" "+f.File+":"+strconv.Itoa(f.Line)+" "+f.Message)
	}
	return out
}

// exampleFindings are the findings the README's command shows.
func exampleFindings() []string {
	return []string{
		"warning examples/envs/dev/main.tf:10 module.logs turns versioning off for dev-logs: overwritten objects cannot be recovered",
		"failure examples/envs/prod/main.tf:12 module.backups has no owner tag: add tags = { owner = \"<team>\" }",
		"failure examples/envs/prod/main.tf:1 module.assets makes the bucket prod-assets public in prod",
	}
}

func TestCheckExamples(t *testing.T) {
	tf := testkit.TerraformBinary(t)
	t.Chdir(filepath.Join("..", ".."))
	res := runCheckIn(t, nil, false, "--policy", "examples/policy", "--format", "json", "--terraform", tf,
		"examples/envs/dev", "examples/envs/prod")
	if res.code != 1 {
		t.Fatalf("exit code = %d, want 1\nstderr:\n%s", res.code, res.stderr)
	}
	r := decodeReport(t, res.stdout)
	if len(r.Roots) != 2 || r.Roots[0].Dir != "examples/envs/dev" || r.Roots[1].Dir != "examples/envs/prod" {
		t.Fatalf("roots = %+v", r.Roots)
	}
	for _, root := range r.Roots {
		if root.Plan == nil || root.Plan.Create != 2 || root.Plan.Update+root.Plan.Delete+root.Plan.Replace != 0 {
			t.Errorf("%s plan = %+v, want 2 to create", root.Dir, root.Plan)
		}
		if len(root.Steps) != 6 {
			t.Errorf("%s has %d steps, want 6", root.Dir, len(root.Steps))
		}
	}
	if got := findingLines(r); strings.Join(got, "\n") != strings.Join(exampleFindings(), "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exampleFindings(), "\n"))
	}
	for _, k := range []string{"terraform", "conftest", "opa", "infra-agent"} {
		if r.Versions[k] == "" {
			t.Errorf("versions %v lack %s", r.Versions, k)
		}
	}
	for _, want := range []string{"examples/envs/dev: plan ok", "examples/envs/prod: policy-plan failed"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("progress on stderr lacks %q:\n%s", want, res.stderr)
		}
	}
}

func TestCheckExitCodes(t *testing.T) {
	tf := testkit.TerraformBinary(t)
	t.Chdir(filepath.Join("..", ".."))
	const data = "cmd/infra-agent/testdata/check"
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string   // a substring of stderr
		roots    []string // for JSON runs: the roots reported
		findings []string // for JSON runs: findings that must be present
		noPlans  bool
	}{
		{name: "warnings only", args: []string{"--policy", "examples/policy", "examples/envs/dev"}, code: 0},
		{name: "no policy", args: []string{"examples/envs/prod"}, code: 0},
		{name: "discovered roots", args: []string{"--policy", "examples/policy", "--format", "json", "examples"}, code: 1,
			roots: []string{"examples/envs/dev", "examples/envs/prod"}},
		{name: "flags after dirs", args: []string{"examples/envs/prod", "--format", "json", "--policy", "examples/policy"}, code: 1,
			roots: []string{"examples/envs/prod"}},
		{name: "no plan", args: []string{"--no-plan", "--format", "json", "--policy", "examples/policy", "examples/envs/prod"}, code: 1,
			roots: []string{"examples/envs/prod"}, noPlans: true,
			findings: []string{"failure examples/envs/prod/main.tf:12 module.backups has no owner tag: add tags = { owner = \"<team>\" }"}},
		{name: "no plan, clean", args: []string{"--no-plan", "--policy", "examples/policy", "examples/envs/dev"}, code: 0},
		{name: "invalid root", args: []string{"--format", "json", data + "/broken"}, code: 1, roots: []string{data + "/broken"}},
		{name: "help", args: []string{"-h"}, code: 0, stderr: "usage: infra-agent check"},
		{name: "no directory", args: []string{"--format", "json"}, code: 2, stderr: "check: no directory given"},
		{name: "bad format", args: []string{"--format", "xml", "examples"}, code: 2, stderr: "--format must be text, markdown or json"},
		{name: "unknown flag", args: []string{"--apply", "examples"}, code: 2, stderr: "flag provided but not defined: -apply"},
		{name: "missing directory", args: []string{"examples/nope"}, code: 2, stderr: "check: examples/nope is not a directory"},
		{name: "no terraform files", args: []string{data + "/empty"}, code: 2, stderr: "no Terraform files in " + data + "/empty"},
		{name: "namespace without policy", args: []string{"--namespace", "x", "examples"}, code: 2, stderr: "--namespace and --data need --policy"},
		{name: "data without policy", args: []string{"--data", data + "/v0data", "examples"}, code: 2, stderr: "--namespace and --data need --policy"},
		{name: "rego v0 with data", args: []string{"--policy", data + "/v0policy", "--rego-version", "v0", "--data", data + "/v0data", "examples/envs/dev"}, code: 0},
		{name: "rego v0 without its data", args: []string{"--policy", data + "/v0policy", "--rego-version", "v0", "--format", "json", "examples/envs/dev"}, code: 1,
			roots: []string{"examples/envs/dev"}, findings: []string{"is not an allowed resource type"}},
		{name: "rego v0 read as v1", args: []string{"--policy", data + "/v0policy", "examples/envs/dev"}, code: 2, stderr: "set policy.rego_version: v0 in .github/infra-agent.yml (or pass --rego-version v0"},
		{name: "bad rego version", args: []string{"--rego-version", "v2", "examples"}, code: 2, stderr: "--rego-version must be v0 or v1"},
		{name: "broken policy", args: []string{"--policy", data + "/badpolicy", "examples"}, code: 2, stderr: "badpolicy/bad.rego:7: rego_parse_error"},
		{name: "unknown namespace", args: []string{"--policy", "examples/policy", "--namespace", "nope", "examples"}, code: 2, stderr: "nope"},
		{name: "missing terraform", args: []string{"--terraform", "no-such-terraform", "examples"}, code: 2, stderr: "no-such-terraform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--terraform") {
				args = append([]string{"--terraform", tf}, args...)
			}
			res := runCheckIn(t, nil, false, args...)
			if res.code != tt.code {
				t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tt.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, res.stderr)
			}
			if tt.roots == nil {
				return
			}
			r := decodeReport(t, res.stdout)
			var dirs []string
			for _, root := range r.Roots {
				dirs = append(dirs, root.Dir)
				if tt.noPlans && root.Plan != nil {
					t.Errorf("%s has a plan with --no-plan", root.Dir)
				}
			}
			if strings.Join(dirs, ",") != strings.Join(tt.roots, ",") {
				t.Errorf("roots = %v, want %v", dirs, tt.roots)
			}
			got := strings.Join(findingLines(r), "\n")
			for _, f := range tt.findings {
				if !strings.Contains(got, f) {
					t.Errorf("findings lack %q:\n%s", f, got)
				}
			}
		})
	}
}

func TestCheckInvalidRootFinding(t *testing.T) {
	tf := testkit.TerraformBinary(t)
	t.Chdir(filepath.Join("..", ".."))
	res := runCheckIn(t, nil, false, "--quiet", "--format", "json", "--terraform", tf, "cmd/infra-agent/testdata/check/broken")
	r := decodeReport(t, res.stdout)
	if len(r.Findings) != 1 {
		t.Fatalf("findings = %+v, want one", r.Findings)
	}
	f := r.Findings[0]
	if f.File != "cmd/infra-agent/testdata/check/broken/main.tf" || f.Line != 2 || f.Severity != "failure" || f.Source != "validate" {
		t.Errorf("finding = %+v, want a validate failure at broken/main.tf:2", f)
	}
	if res.stderr != "" {
		t.Errorf("--quiet printed on stderr:\n%s", res.stderr)
	}
}

func TestCheckFormats(t *testing.T) {
	tf := testkit.TerraformBinary(t)
	t.Chdir(filepath.Join("..", ".."))
	args := []string{"--quiet", "--terraform", tf, "--policy", "examples/policy", "examples/envs/prod"}
	tests := []struct {
		name      string
		env       map[string]string
		tty       bool
		format    string
		wantColor bool
		want      string
	}{
		{name: "text, not a terminal", format: "text", want: "examples/envs/prod/main.tf:12"},
		{name: "text on a terminal", format: "text", tty: true, wantColor: true, want: "examples/envs/prod"},
		{name: "text, NO_COLOR", format: "text", tty: true, env: map[string]string{"NO_COLOR": "1"}, want: "examples/envs/prod/main.tf:1"},
		{name: "markdown", format: "markdown", tty: true, want: "## infra-agent check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCheckIn(t, tt.env, tt.tty, append([]string{"--format", tt.format}, args...)...)
			if res.code != 1 {
				t.Fatalf("exit code = %d, want 1\n%s", res.code, res.stderr)
			}
			if got := strings.Contains(res.stdout, "\x1b["); got != tt.wantColor {
				t.Errorf("colour = %v, want %v:\n%s", got, tt.wantColor, res.stdout)
			}
			if !strings.Contains(res.stdout, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, res.stdout)
			}
		})
	}
}

// TestCheckBinary builds infra-agent and runs the README's command as a
// process: exit status, JSON on stdout, progress on stderr.
func TestCheckBinary(t *testing.T) {
	tf := testkit.TerraformBinary(t)
	bin := filepath.Join(t.TempDir(), "infra-agent")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "check", "--policy", "examples/policy", "--format", "json", "examples/envs/dev", "examples/envs/prod")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(tf)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1\nstderr:\n%s", err, stderr.String())
	}
	r := decodeReport(t, stdout.String())
	if got := findingLines(r); strings.Join(got, "\n") != strings.Join(exampleFindings(), "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exampleFindings(), "\n"))
	}
	if !strings.Contains(stderr.String(), "examples/envs/prod: plan ok") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

// TestCheckOpenTofu runs the README's command with --terraform naming the
// real OpenTofu binary: the same plans and findings as with terraform.
func TestCheckOpenTofu(t *testing.T) {
	tofu := testkit.TofuBinary(t)
	t.Chdir(filepath.Join("..", ".."))
	res := runCheckIn(t, nil, false, "--quiet", "--policy", "examples/policy", "--format", "json", "--terraform", tofu,
		"examples/envs/dev", "examples/envs/prod")
	if res.code != 1 {
		t.Fatalf("exit code = %d, want 1\nstderr:\n%s", res.code, res.stderr)
	}
	r := decodeReport(t, res.stdout)
	if r.Versions["tofu"] == "" || r.Versions["terraform"] != "" {
		t.Errorf("versions = %v, want tofu's", r.Versions)
	}
	for _, root := range r.Roots {
		if root.Plan == nil || root.Plan.Create != 2 {
			t.Errorf("%s plan = %+v, want 2 to create", root.Dir, root.Plan)
		}
	}
	if got := findingLines(r); strings.Join(got, "\n") != strings.Join(exampleFindings(), "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exampleFindings(), "\n"))
	}
}

// TestExamplePolicies runs the Rego tests next to the example policies, as
// `opa test examples/policy` would.
func TestExamplePolicies(t *testing.T) {
	results, err := tester.Run(context.Background(), filepath.Join("..", "..", "examples", "policy"))
	if err != nil {
		t.Fatalf("running the Rego tests: %v", err)
	}
	if len(results) < 9 {
		t.Errorf("ran %d Rego tests, want at least 9", len(results))
	}
	for _, r := range results {
		if !r.Pass() {
			t.Errorf("%s: %s", r.Name, r.String())
		}
	}
}
