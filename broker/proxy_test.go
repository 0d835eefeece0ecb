package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	openaiopt "github.com/openai/openai-go/v3/option"

	"github.com/infra-agent/infra-agent/broker"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

const serverKey = "sk-provider-key-held-by-the-server"

// upstream is a scripted model provider on 127.0.0.1 that speaks the
// Anthropic Messages API and the OpenAI chat-completions API, plainly or as
// a stream, and records what it was sent.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	path   string
	header http.Header
	body   map[string]any
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		u.mu.Lock()
		u.seen = append(u.seen, seenRequest{path: r.URL.Path, header: r.Header.Clone(), body: body})
		u.mu.Unlock()
		stream, _ := body["stream"].(bool)
		switch {
		case r.URL.Path == "/v1/messages" && stream:
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range []string{
				`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"usage":{"input_tokens":400,"output_tokens":1}}}`,
				`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"streamed"}}`,
				`{"type":"content_block_stop","index":0}`,
				`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":200}}`,
				`{"type":"message_stop"}`,
			} {
				var typ struct{ Type string }
				_ = json.Unmarshal([]byte(ev), &typ)
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ.Type, ev)
			}
		case r.URL.Path == "/v1/messages":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":400,"output_tokens":200}}`)
		case r.URL.Path == "/v1/chat/completions" && stream:
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":{"role":"assistant","content":"streamed"},"finish_reason":null}]}`+"\n\n")
			fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[],"usage":{"prompt_tokens":400,"completion_tokens":200,"total_tokens":600}}`+"\n\n")
			fmt.Fprint(w, "data: [DONE]\n\n")
		case r.URL.Path == "/v1/chat/completions":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":400,"completion_tokens":200,"total_tokens":600}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen...)
}

// proxyWorld is a world whose broker forwards model calls to a scripted
// upstream, with a job claimed under a 1,000-token budget.
func proxyWorld(t *testing.T, provider, base string) (*world, store.Job, wire.ClaimResponse) {
	t.Helper()
	w := newWorld(t, func(o *broker.Options) {
		o.Model = broker.ModelOptions{Provider: provider, BaseURL: base, APIKey: serverKey}
	})
	w.fake.SetFile(owner, repo, "main", config.RepoConfigPath, []byte("version: 1\nagent: {max_tokens: 1000}\n"))
	job, resp := claimed(t, w, wire.KindReview)
	if resp.Job.Model == nil || resp.Job.Model.Provider != provider ||
		resp.Job.Model.BaseURL != audience+"/api/v1/jobs/"+job.ID+"/model" || resp.Job.Budgets.ModelTokens != 1000 {
		t.Fatalf("the spec's model access = %+v, budgets %+v", resp.Job.Model, resp.Job.Budgets)
	}
	return w, job, resp
}

func anthropicClient(w *world, jobID, key string) *anthropic.Client {
	c := anthropic.NewClient(anthropicopt.WithBaseURL(wire.JobURL(w.url, jobID, wire.ModelRoute)),
		anthropicopt.WithAPIKey(key), anthropicopt.WithMaxRetries(0))
	return &c
}

var messageParams = anthropic.MessageNewParams{
	Model: "claude-test", MaxTokens: 256,
	Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("fix the bucket"))},
}

func TestModelProxyAnthropic(t *testing.T) {
	up := newUpstream(t)
	w, job, resp := proxyWorld(t, wire.ProviderAnthropic, up.URL)
	client := anthropicClient(w, job.ID, resp.Session)
	ctx := context.Background()

	msg, err := client.Messages.New(ctx, messageParams)
	if err != nil || msg.Content[0].Text != "hello" {
		t.Fatalf("first call: %v %+v", err, msg)
	}
	stream := client.Messages.NewStreaming(ctx, messageParams)
	var text strings.Builder
	for stream.Next() {
		if d := stream.Current().Delta; d.Text != "" {
			text.WriteString(d.Text)
		}
	}
	if err := stream.Err(); err != nil || text.String() != "streamed" {
		t.Fatalf("streamed call: %v %q", err, text.String())
	}
	run, _ := w.store.GetRun(ctx, job.ID)
	if run.ModelTokensUsed != 1200 {
		t.Errorf("tokens used = %d, want 1200 (two answers of 400 in, 200 out)", run.ModelTokensUsed)
	}

	// The budget is spent: the next call is refused, with a message the SDK
	// surfaces, and never reaches the provider.
	_, err = client.Messages.New(ctx, messageParams)
	var apiErr *anthropic.Error
	if err == nil || !errorsAs(err, &apiErr) || apiErr.StatusCode != 403 || !strings.Contains(err.Error(), "budget_exceeded") ||
		!strings.Contains(err.Error(), "1200 of 1000 tokens") {
		t.Fatalf("a call over budget: %v", err)
	}
	seen := up.requests()
	if len(seen) != 2 {
		t.Fatalf("the provider saw %d calls, want 2", len(seen))
	}
	for _, r := range seen {
		if r.header.Get("X-Api-Key") != serverKey || r.header.Get("Authorization") != "" || r.path != "/v1/messages" {
			t.Errorf("upstream request %s with key %q, authorization %q", r.path, r.header.Get("X-Api-Key"), r.header.Get("Authorization"))
		}
		if r.header.Get("Anthropic-Version") == "" {
			t.Errorf("the SDK's anthropic-version header was not forwarded")
		}
		for _, v := range r.header {
			if strings.Contains(strings.Join(v, " "), wire.SessionPrefix) {
				t.Errorf("the session secret reached the provider")
			}
		}
	}
}

func TestModelProxyRefusals(t *testing.T) {
	up := newUpstream(t)
	w, job, resp := proxyWorld(t, wire.ProviderAnthropic, up.URL)
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		status int
		want   string
	}{
		{"forged session", func() error {
			_, err := anthropicClient(w, job.ID, wire.SessionPrefix+"forged").Messages.New(ctx, messageParams)
			return err
		}, 401, "not this job's"},
		{"the provider's own key", func() error {
			_, err := anthropicClient(w, job.ID, serverKey).Messages.New(ctx, messageParams)
			return err
		}, 401, "OIDC token is not valid"},
		{"another endpoint", func() error {
			_, err := anthropicClient(w, job.ID, resp.Session).Models.List(ctx, anthropic.ModelListParams{})
			return err
		}, 404, "forwards only POST v1/messages"},
		{"unknown job", func() error {
			_, err := anthropicClient(w, "no-such-job", resp.Session).Messages.New(ctx, messageParams)
			return err
		}, 401, "not this job's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var apiErr *anthropic.Error
			if !errorsAs(err, &apiErr) || apiErr.StatusCode != tt.status || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %d %q", err, tt.status, tt.want)
			}
		})
	}
	// A job that ended takes its session with it.
	w.post(job.ID, wire.CompleteRoute, resp.Session, wire.Complete{Version: wire.APIVersion, Status: wire.StatusSucceeded, Conclusion: "success"}, nil)
	_, err := anthropicClient(w, job.ID, resp.Session).Messages.New(ctx, messageParams)
	if err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "the job ended") {
		t.Errorf("a call after complete: %v", err)
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("refused calls reached the provider %d times", n)
	}
}

func TestModelProxyOpenAI(t *testing.T) {
	up := newUpstream(t)
	w, job, resp := proxyWorld(t, wire.ProviderOpenAI, up.URL+"/v1")
	client := openai.NewClient(openaiopt.WithBaseURL(wire.JobURL(w.url, job.ID, wire.ModelRoute)),
		openaiopt.WithAPIKey(resp.Session), openaiopt.WithMaxRetries(0))
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "gpt-test", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("fix the bucket")}}

	done, err := client.Chat.Completions.New(ctx, params)
	if err != nil || done.Choices[0].Message.Content != "hello" {
		t.Fatalf("first call: %v", err)
	}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	for stream.Next() {
		for _, c := range stream.Current().Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil || text.String() != "streamed" {
		t.Fatalf("streamed call: %v %q", err, text.String())
	}
	_, err = client.Chat.Completions.New(ctx, params)
	var apiErr *openai.Error
	if !errorsAs(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Code != "budget_exceeded" ||
		!strings.Contains(apiErr.Message, "spent its model token budget (1200 of 1000 tokens)") {
		t.Fatalf("a call over budget: %v", err)
	}
	seen := up.requests()
	if len(seen) != 2 || seen[0].header.Get("Authorization") != "Bearer "+serverKey || seen[0].path != "/v1/chat/completions" {
		t.Fatalf("upstream saw %+v", seen)
	}
	// A streamed call is made to report its usage, so it is counted.
	opts, _ := seen[1].body["stream_options"].(map[string]any)
	if opts["include_usage"] != true {
		t.Errorf("the streamed request was not asked for usage: %v", seen[1].body)
	}
	if run, _ := w.store.GetRun(ctx, job.ID); run.ModelTokensUsed != 1200 {
		t.Errorf("tokens used = %d, want 1200", run.ModelTokensUsed)
	}
}

// TestModelProxyOff: without a provider key the spec offers no model, and
// the route says why.
func TestModelProxyOff(t *testing.T) {
	w := newWorld(t, nil)
	job, resp := claimed(t, w, wire.KindReview)
	if resp.Job.Model != nil {
		t.Errorf("the spec offers a model without a proxy: %+v", resp.Job.Model)
	}
	_, err := anthropicClient(w, job.ID, resp.Session).Messages.New(context.Background(), messageParams)
	if err == nil || !strings.Contains(err.Error(), "no model proxy") {
		t.Errorf("error = %v", err)
	}
}
