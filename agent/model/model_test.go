package model_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/fakemodel"
	"github.com/infra-agent/infra-agent/wire"
)

var readTool = model.Tool{
	Name:        "read_file",
	Description: "Read a file.",
	Schema:      json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"],"additionalProperties":false}`),
}

func clientFor(t *testing.T, api fakemodel.API, srv *fakemodel.Server, mut func(*model.Config)) model.Client {
	t.Helper()
	cfg := model.Config{Provider: model.ProviderAnthropic, BaseURL: srv.AnthropicURL(), APIKey: "test-key", Model: "test-model"}
	if api == fakemodel.OpenAI {
		cfg.Provider, cfg.BaseURL = model.ProviderOpenAI, srv.OpenAIURL()
	}
	if mut != nil {
		mut(&cfg)
	}
	c, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestToolRoundTrip drives both SDKs through a tool call and its result: the
// call arrives with its arguments, the result goes back with its error flag,
// and usage is counted.
func TestToolRoundTrip(t *testing.T) {
	for _, api := range []fakemodel.API{fakemodel.Anthropic, fakemodel.OpenAI} {
		t.Run(string(api), func(t *testing.T) {
			srv := fakemodel.New(t, fakemodel.Turns(
				fakemodel.Turn{Text: "Reading.", Calls: []fakemodel.Call{{Name: "read_file", Args: map[string]any{"path": "main.tf"}}}},
				fakemodel.Turn{Text: "All done."},
			))
			c := clientFor(t, api, srv, nil)
			req := model.Request{
				System:   "You fix Terraform.",
				Tools:    []model.Tool{readTool},
				Messages: []model.Message{{Role: model.RoleUser, Text: "Fix it."}},
			}
			resp, err := c.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Stop != model.StopToolUse || len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Name != "read_file" ||
				string(resp.ToolCalls[0].Input) != `{"path":"main.tf"}` || resp.Text != "Reading." {
				t.Fatalf("first answer = %+v", resp)
			}
			if resp.Usage.Input == 0 || resp.Usage.Output == 0 {
				t.Errorf("usage not counted: %+v", resp.Usage)
			}
			req.Messages = append(req.Messages,
				model.Message{Role: model.RoleAssistant, Text: resp.Text, ToolCalls: resp.ToolCalls},
				model.Message{Role: model.RoleUser, ToolResults: []model.ToolResult{{CallID: resp.ToolCalls[0].ID, Content: "refused: no", IsError: true}}},
			)
			resp, err = c.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Stop != model.StopEndTurn || resp.Text != "All done." {
				t.Fatalf("second answer = %+v", resp)
			}
			tr := srv.Trajectory()
			if len(tr) != 1 || !tr.Refused(fakemodel.Match{Tool: "read_file"}) || !strings.Contains(tr[0].Result, "refused: no") {
				t.Fatalf("trajectory:\n%s", tr)
			}
			reqs := srv.Requests()
			if reqs[0].System != "You fix Terraform." || len(reqs[0].Tools) != 1 || reqs[0].Model != "test-model" {
				t.Errorf("request = %+v", reqs[0])
			}
		})
	}
}

// TestRetriesHonourRetryAfter: a 429 with Retry-After is retried after the
// time it asks for, a 500 is retried, and the call then succeeds.
func TestRetriesHonourRetryAfter(t *testing.T) {
	for _, api := range []fakemodel.API{fakemodel.Anthropic, fakemodel.OpenAI} {
		t.Run(string(api), func(t *testing.T) {
			var times []time.Time
			turns := fakemodel.Turns(
				fakemodel.Turn{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}},
				fakemodel.Turn{Status: http.StatusInternalServerError, Header: http.Header{"Retry-After-Ms": {"10"}}},
				fakemodel.Turn{Text: "ok"},
			)
			srv := fakemodel.New(t, fakemodel.ScriptFunc(func(r *fakemodel.Request) fakemodel.Turn {
				times = append(times, time.Now())
				return turns.Next(r)
			}))
			resp, err := clientFor(t, api, srv, nil).Complete(context.Background(), model.Request{Messages: []model.Message{{Role: model.RoleUser, Text: "hi"}}})
			if err != nil || resp.Text != "ok" {
				t.Fatalf("Complete = %+v, %v", resp, err)
			}
			if len(times) != 3 {
				t.Fatalf("%d requests, want 3", len(times))
			}
			if gap := times[1].Sub(times[0]); gap < 900*time.Millisecond {
				t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
			}
		})
	}
}

// TestRetriesGiveUp: a server that keeps failing is an error after the
// configured retries, not a hang.
func TestRetriesGiveUp(t *testing.T) {
	for _, api := range []fakemodel.API{fakemodel.Anthropic, fakemodel.OpenAI} {
		t.Run(string(api), func(t *testing.T) {
			srv := fakemodel.New(t, fakemodel.ScriptFunc(func(*fakemodel.Request) fakemodel.Turn {
				return fakemodel.Turn{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After-Ms": {"1"}}}
			}))
			_, err := clientFor(t, api, srv, func(c *model.Config) { c.MaxRetries = 2 }).
				Complete(context.Background(), model.Request{Messages: []model.Message{{Role: model.RoleUser, Text: "hi"}}})
			if err == nil || !strings.Contains(err.Error(), "503") {
				t.Fatalf("err = %v, want the 503", err)
			}
			if n := len(srv.Requests()); n != 3 {
				t.Errorf("%d requests, want 1 + 2 retries", n)
			}
		})
	}
}

// TestMalformedArgumentsPassThrough: arguments that are not JSON reach the
// caller as sent, for it to refuse; the OpenAI API carries them as a string.
func TestMalformedArgumentsPassThrough(t *testing.T) {
	srv := fakemodel.New(t, fakemodel.Turns(fakemodel.Turn{Calls: []fakemodel.Call{{Name: "read_file", RawArgs: `{"path": "main.tf"`}}}))
	resp, err := clientFor(t, fakemodel.OpenAI, srv, nil).Complete(context.Background(), model.Request{Messages: []model.Message{{Role: model.RoleUser, Text: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ToolCalls) != 1 || string(resp.ToolCalls[0].Input) != `{"path": "main.tf"` || json.Valid(resp.ToolCalls[0].Input) {
		t.Fatalf("tool calls = %+v", resp.ToolCalls)
	}
}

// TestProxySendsOnlyTheSessionSecret: a runner's client reaches the server's
// model proxy on the job's route, on the one path the proxy forwards, with
// the job's session secret as its API key (Anthropic: X-Api-Key; OpenAI:
// Authorization: Bearer), and sends no model key even when one is in the
// environment.
func TestProxySendsOnlyTheSessionSecret(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-canary-must-not-be-sent")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "sk-ant-canary-must-not-be-sent")
	t.Setenv("OPENAI_API_KEY", "sk-openai-canary-must-not-be-sent")
	for _, tc := range []struct {
		provider, path, header, want string
	}{
		{wire.ProviderAnthropic, wire.AnthropicMessages, "X-Api-Key", "iasess_secret"},
		{wire.ProviderOpenAI, wire.OpenAIChat, "Authorization", "Bearer iasess_secret"},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			srv := fakemodel.New(t, fakemodel.Turns(fakemodel.Turn{Text: "ok"}))
			access := wire.ModelAccess{Provider: tc.provider, BaseURL: wire.JobURL(srv.URL, "job-42", wire.ModelRoute)}
			cfg, err := model.Proxy(access, "iasess_secret", "m")
			if err != nil {
				t.Fatal(err)
			}
			c, err := model.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Complete(context.Background(), model.Request{Messages: []model.Message{{Role: model.RoleUser, Text: "hi"}}}); err != nil {
				t.Fatal(err)
			}
			r := srv.Requests()[0]
			if want := "/api/v1/jobs/job-42/model/" + tc.path; r.Path != want {
				t.Errorf("path = %s, want %s", r.Path, want)
			}
			if got := r.Header.Get(tc.header); got != tc.want {
				t.Errorf("%s = %q", tc.header, got)
			}
			for name, vs := range r.Header {
				for _, v := range vs {
					if strings.Contains(v, "canary") {
						t.Errorf("header %s carries the environment's model key", name)
					}
				}
			}
		})
	}
	if _, err := model.Proxy(wire.ModelAccess{Provider: "anthropic", BaseURL: "http://127.0.0.1:1/x"}, "", "m"); err == nil {
		t.Error("a proxy without a session secret was accepted")
	}
}

func TestFromEnv(t *testing.T) {
	agent := config.DefaultRepoConfig().Agent
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	if _, err := model.FromEnv(env(), agent); !errors.Is(err, model.ErrNotConfigured) {
		t.Errorf("no key: err = %v, want ErrNotConfigured", err)
	}
	cfg, err := model.FromEnv(env("ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", "http://127.0.0.1:9/"), agent)
	if err != nil || cfg.Provider != "anthropic" || cfg.APIKey != "k" || cfg.BaseURL != "http://127.0.0.1:9/" {
		t.Errorf("anthropic: %+v, %v", cfg, err)
	}
	cfg, err = model.FromEnv(env("INFRA_AGENT_MODEL_PROVIDER", "openai", "INFRA_AGENT_MODEL", "llama3", "OPENAI_BASE_URL", "http://127.0.0.1:11434/v1"), agent)
	if err != nil || cfg.Provider != "openai" || cfg.Model != "llama3" || cfg.APIKey != "" {
		t.Errorf("local OpenAI-compatible endpoint without a key: %+v, %v", cfg, err)
	}
	if _, err := model.FromEnv(env("INFRA_AGENT_MODEL_PROVIDER", "gemini"), agent); err == nil || errors.Is(err, model.ErrNotConfigured) {
		t.Errorf("unknown provider: err = %v", err)
	}
	if _, err := model.FromEnv(env("ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", "file:///etc/passwd"), agent); err == nil {
		t.Error("a non-HTTP base URL was accepted")
	}
}
