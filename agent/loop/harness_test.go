package loop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/audit"
	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/fakemodel"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/wire"
)

// harness runs the agent on a copy of a testdata repository, with the real
// terraform (the test AWS provider through its mirror), the test policies,
// and, when a script is given, the scripted model over HTTP through the
// official SDK.
type harness struct {
	t     *testing.T
	dir   string
	srv   *fakemodel.Server
	trail *bytes.Buffer
	opts  loop.Options
}

type harnessOption func(*harness)

// withAPI drives the model through the OpenAI SDK instead of Anthropic's.
func withAPI(api fakemodel.API) harnessOption {
	return func(h *harness) {
		if h.srv == nil {
			return
		}
		c, err := model.New(model.Config{Provider: model.ProviderOpenAI, BaseURL: h.srv.OpenAIURL(), APIKey: "test-key", Model: "scripted", MaxRetries: 2})
		if err != nil {
			h.t.Fatal(err)
		}
		h.opts.Model = c
	}
}

// withConfig changes the repository configuration.
func withConfig(f func(*config.RepoConfig)) harnessOption {
	return func(h *harness) { f(&h.opts.Config) }
}

// withEnv adds variables to the environment terraform's allow-lists filter.
func withEnv(kv ...string) harnessOption {
	return func(h *harness) { h.opts.Terraform.Environ = append(h.opts.Terraform.Environ, kv...) }
}

func newHarness(t *testing.T, fixture string, script fakemodel.Script, options ...harnessOption) *harness {
	t.Helper()
	dir := t.TempDir()
	testkit.CopyTree(t, filepath.Join("testdata", fixture), dir)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "state.json" {
			if err := os.Rename(p, filepath.Join(filepath.Dir(p), "terraform.tfstate")); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
	engine, err := policy.Compile(context.Background(), policy.Options{Paths: []string{filepath.Join("testdata", "policy")}})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, trail: &bytes.Buffer{}}
	h.opts = loop.Options{
		Dir:         dir,
		Config:      config.DefaultRepoConfig(),
		Policy:      engine,
		PolicyPaths: []string{filepath.Join("testdata", "policy")},
		Terraform: terraform.Options{
			Binary:  testkit.TerraformBinary(t),
			Environ: testkit.AWSProvider(t).Environ(),
		},
		Audit: audit.New(h.trail, "job-7", "run-9"),
	}
	if script != nil {
		h.srv = fakemodel.New(t, script)
		c, err := model.New(model.Config{Provider: model.ProviderAnthropic, BaseURL: h.srv.AnthropicURL(), APIKey: "test-key", Model: "scripted", MaxRetries: 2})
		if err != nil {
			t.Fatal(err)
		}
		h.opts.Model = c
	}
	for _, o := range options {
		o(h)
	}
	return h
}

// run runs a task of the kind and fails the test on an error.
func (h *harness) run(kind wire.Kind, instructions string) loop.Result {
	h.t.Helper()
	return h.runTask(loop.Task{Kind: kind, Instructions: instructions})
}

// runTask runs a task with the harness's job and run ids.
func (h *harness) runTask(task loop.Task) loop.Result {
	h.t.Helper()
	task.JobID, task.RunID = "job-7", "run-9"
	res, err := loop.Run(context.Background(), task, h.opts)
	if err != nil {
		h.t.Fatalf("Run: %v", err)
	}
	return res
}

// noModel is a script for jobs that must not call the model.
func noModel(t *testing.T) fakemodel.Script {
	return fakemodel.ScriptFunc(func(*fakemodel.Request) fakemodel.Turn {
		t.Error("the model was called")
		return fakemodel.Final
	})
}

// file returns a workspace file's content ("" when absent).
func (h *harness) file(rel string) string {
	data, err := os.ReadFile(filepath.Join(h.dir, filepath.FromSlash(rel)))
	if err != nil {
		return ""
	}
	return string(data)
}

// trajectory is the tool calls the model made, as the model server saw them.
func (h *harness) trajectory() fakemodel.Trajectory {
	if h.srv == nil {
		return nil
	}
	return h.srv.Trajectory()
}

// events returns the audit trail's events.
func (h *harness) events() []audit.Event {
	var out []audit.Event
	for _, line := range strings.Split(strings.TrimSpace(h.trail.String()), "\n") {
		if line == "" {
			continue
		}
		var e audit.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			h.t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// call is a scripted tool call.
func call(name string, args map[string]any) fakemodel.Call {
	return fakemodel.Call{Name: name, Args: args}
}

// edit is a scripted structural edit.
func edit(action string, args map[string]any) fakemodel.Call {
	args["action"] = action
	return call("edit", args)
}

// turn is a scripted answer making the calls.
func turn(calls ...fakemodel.Call) fakemodel.Turn {
	return fakemodel.Turn{Calls: calls}
}

// finish is the scripted model's last call.
func finish(summary string) fakemodel.Turn {
	return turn(call("finish", map[string]any{"summary": summary}))
}

// encryptLogs is the model's fix of the unencrypted bucket.
var encryptLogs = edit("set", map[string]any{
	"address": "aws_s3_bucket.logs", "name": "kms_master_key_id",
	"block":      []string{"server_side_encryption_configuration", "rule", "apply_server_side_encryption_by_default"},
	"expression": "aws_kms_key.logs.arn",
})

var encryptLogsAlgorithm = edit("set", map[string]any{
	"address": "aws_s3_bucket.logs", "name": "sse_algorithm",
	"block": []string{"server_side_encryption_configuration", "rule", "apply_server_side_encryption_by_default"},
	"value": "aws:kms",
})
