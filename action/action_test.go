// Package action_test checks the composite action and the workflow template
// users copy: the shell scripts the action runs, the firewall rule it
// generates (with a stand-in iptables: no test sends traffic anywhere), and
// the permissions and limits the template sets.
package action_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/wire"
)

// toolbox is a PATH holding id (the real one) and stand-ins that record
// their arguments in log and exit with the given status; sudo runs its
// command.
func toolbox(t *testing.T, stubs map[string]int) (dir, log string) {
	t.Helper()
	dir, log = t.TempDir(), filepath.Join(t.TempDir(), "calls")
	id, err := exec.LookPath("id")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(id, filepath.Join(dir, "id")); err != nil {
		t.Fatal(err)
	}
	for name, status := range stubs {
		script := "#!/bin/sh\necho \"" + name + " $*\" >> " + strconv.Quote(log) + "\nexit " + strconv.Itoa(status) + "\n"
		if name == "sudo" {
			script = "#!/bin/sh\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, log
}

func firewall(t *testing.T, path, user string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "metadata-firewall.sh", user)
	cmd.Env = []string{"PATH=" + path}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("metadata-firewall.sh: %v\n%s", err, errOut.String())
	}
	return out.String(), errOut.String()
}

func TestMetadataFirewallRule(t *testing.T) {
	user, uid := currentUser(t)
	dir, log := toolbox(t, map[string]int{"iptables": 0, "ip6tables": 0, "sudo": 0})
	stdout, _ := firewall(t, dir, user)
	calls, _ := os.ReadFile(log)
	want := "iptables -w -I OUTPUT 1 -d 169.254.169.254/32 -m owner --uid-owner " + uid + " -j REJECT\n" +
		"ip6tables -w -I OUTPUT 1 -d fd00:ec2::254/128 -m owner --uid-owner " + uid + " -j REJECT\n"
	if string(calls) != want {
		t.Errorf("rules:\n%s\nwant:\n%s", calls, want)
	}
	if !strings.Contains(stdout, "metadata endpoint 169.254.169.254 blocked for user "+user+" (uid "+uid+")") {
		t.Errorf("the log does not say the endpoint is blocked: %q", stdout)
	}
}

func TestMetadataFirewallSaysWhenItCannot(t *testing.T) {
	user, _ := currentUser(t)
	for name, stubs := range map[string]map[string]int{
		"iptables refuses": {"iptables": 4, "sudo": 0},
		"no iptables":      {"sudo": 0},
	} {
		t.Run(name, func(t *testing.T) {
			dir, _ := toolbox(t, stubs)
			stdout, stderr := firewall(t, dir, user)
			if !strings.Contains(stderr, "metadata endpoint NOT blocked for user "+user) || strings.Contains(stdout, "blocked for") {
				t.Errorf("stdout %q stderr %q", stdout, stderr)
			}
		})
	}
	dir, _ := toolbox(t, map[string]int{"iptables": 0})
	if stdout, _ := firewall(t, dir, "no-such-user-here"); !strings.Contains(stdout, "NOT blocked: no user no-such-user-here") {
		t.Errorf("an unknown user: %q", stdout)
	}
}

func currentUser(t *testing.T) (name, uid string) {
	t.Helper()
	n, err := exec.Command("id", "-un").Output()
	if err != nil {
		t.Fatal(err)
	}
	u, err := exec.Command("id", "-u").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(n)), strings.TrimSpace(string(u))
}

type actionManifest struct {
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func TestActionManifest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var m actionManifest
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Runs.Using != "composite" || !m.Inputs["job-id"].Required || !m.Inputs["server-url"].Required {
		t.Errorf("action = %+v", m)
	}
	if strings.Contains(string(raw), "secrets.") {
		t.Errorf("the action takes a secret")
	}
	scripts := map[string]bool{}
	for _, s := range m.Runs.Steps {
		if s.Uses != "" && !strings.Contains(s.Uses, "@") || s.Uses != "" && len(strings.SplitN(s.Uses, "@", 2)[1]) != 40 {
			t.Errorf("step uses %q: not pinned to a commit SHA", s.Uses)
		}
		if i := strings.Index(s.Run, "$GITHUB_ACTION_PATH/"); i >= 0 {
			name := strings.Fields(strings.Trim(s.Run[i+len("$GITHUB_ACTION_PATH/"):], `'"`))[0]
			scripts[strings.Trim(name, `"`)] = true
		}
	}
	for _, want := range []string{"action/install.sh", "action/metadata-firewall.sh", "action/run.sh"} {
		if !scripts[want] {
			t.Errorf("no step runs %s", want)
		}
		info, err := os.Stat(filepath.Join("..", want))
		if err != nil || info.Mode()&0o111 == 0 {
			t.Errorf("%s is missing or not executable", want)
			continue
		}
		if out, err := exec.Command("/bin/sh", "-n", filepath.Join("..", want)).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", want, err, out)
		}
	}
	run, _ := os.ReadFile("run.sh")
	if !strings.Contains(string(run), `sudo -n -u "$RUN_USER"`) || strings.Contains(string(run), "GITHUB_TOKEN") {
		t.Errorf("run.sh must switch to the unprivileged user and pass no GitHub token")
	}
	install, _ := os.ReadFile("install.sh")
	for _, want := range []string{"sha256sum -c", "SHA256SUMS", "-mod=readonly"} {
		if !strings.Contains(string(install), want) {
			t.Errorf("install.sh does not verify what it installs (%s)", want)
		}
	}
}

type workflow struct {
	RunName string `yaml:"run-name"`
	On      struct {
		Dispatch struct {
			Inputs map[string]struct {
				Required bool `yaml:"required"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency struct {
		Group string `yaml:"group"`
	} `yaml:"concurrency"`
	Jobs map[string]struct {
		TimeoutMinutes int `yaml:"timeout-minutes"`
		Steps          []struct {
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func TestWorkflowTemplate(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "examples", "workflows", "infra-agent.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	if w.RunName != jobs.RunTitlePrefix+"${{ inputs.job_id }}" {
		t.Errorf("run-name = %q, want %q + the job id", w.RunName, jobs.RunTitlePrefix)
	}
	if in, ok := w.On.Dispatch.Inputs[wire.WorkflowInput]; !ok || !in.Required || len(w.On.Dispatch.Inputs) != 1 {
		t.Errorf("workflow_dispatch inputs = %+v, want the one required job_id", w.On.Dispatch.Inputs)
	}
	if len(w.Permissions) != 2 || w.Permissions["id-token"] != "write" || w.Permissions["contents"] != "read" {
		t.Errorf("permissions = %v, want id-token: write, contents: read", w.Permissions)
	}
	if !strings.Contains(w.Concurrency.Group, "${{ inputs.job_id }}") {
		t.Errorf("concurrency group %q is not per job", w.Concurrency.Group)
	}
	job := w.Jobs["run"]
	if time.Duration(job.TimeoutMinutes)*time.Minute <= wire.DeadlineCeiling {
		t.Errorf("timeout-minutes %d is not above the deadline ceiling %s", job.TimeoutMinutes, wire.DeadlineCeiling)
	}
	clouds := map[string]bool{}
	for _, s := range job.Steps {
		switch {
		case strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials"):
			clouds["aws"] = s.With["role-to-assume"] != "" && atMostHour(t, s.With["role-duration-seconds"])
		case strings.HasPrefix(s.Uses, "azure/login"):
			clouds["azure"] = s.With["client-id"] != "" && s.With["client-secret"] == ""
		case strings.HasPrefix(s.Uses, "google-github-actions/auth"):
			clouds["gcp"] = s.With["workload_identity_provider"] != "" && atMostHour(t, strings.TrimSuffix(s.With["access_token_lifetime"], "s"))
		case strings.HasPrefix(s.Uses, "infra-agent/infra-agent@"):
			clouds["infra-agent"] = s.With["job-id"] == "${{ inputs.job_id }}"
		}
	}
	for _, c := range []string{"aws", "azure", "gcp", "infra-agent"} {
		if !clouds[c] {
			t.Errorf("the template's %s step is missing or not OIDC with a session of an hour at most", c)
		}
	}
}

func atMostHour(t *testing.T, seconds string) bool {
	n, err := strconv.Atoi(seconds)
	return err == nil && n > 0 && n <= 3600
}
