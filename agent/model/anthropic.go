package model

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// anthropicClient calls the Messages API through the official SDK.
type anthropicClient struct {
	messages anthropic.MessageService
	model    string
}

func newAnthropic(cfg Config) *anthropicClient {
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.anthropic.com/"
	}
	// The service is built from explicit options only, not the SDK's
	// defaults, which also read credentials from files and other variables:
	// a proxied client must send the session secret and nothing else.
	messages := anthropic.NewMessageService(
		option.WithHTTPClient(cfg.HTTPClient),
		option.WithBaseURL(base),
		option.WithAPIKey(cfg.APIKey),
		option.WithMaxRetries(cfg.MaxRetries),
		option.WithRequestTimeout(defaultRequestTimeout),
		option.WithoutOpenTelemetry(),
	)
	return &anthropicClient{messages: messages, model: cfg.Model}
}

func (c *anthropicClient) Name() string { return ProviderAnthropic + "/" + c.model }

func (c *anthropicClient) Complete(ctx context.Context, req Request) (Response, error) {
	params := anthropic.MessageNewParams{
		Model:     anthropic.Model(c.model),
		MaxTokens: int64(maxOutput(req)),
	}
	if req.System != "" {
		// The system prompt and the tools are the same on every turn: a
		// cache breakpoint after them lets the provider reuse the prefix.
		params.System = []anthropic.TextBlockParam{{Text: req.System, CacheControl: anthropic.NewCacheControlEphemeralParam()}}
	}
	for _, t := range req.Tools {
		schema, err := anthropicSchema(t.Schema)
		if err != nil {
			return Response{}, fmt.Errorf("declaring tool %s: %w", t.Name, err)
		}
		tp := anthropic.ToolParam{Name: t.Name, InputSchema: schema}
		tp.Description = anthropic.String(t.Description)
		params.Tools = append(params.Tools, anthropic.ToolUnionParam{OfTool: &tp})
	}
	for _, m := range req.Messages {
		params.Messages = append(params.Messages, anthropicMessage(m))
	}
	msg, err := c.messages.New(ctx, params)
	if err != nil {
		return Response{}, fmt.Errorf("calling %s: %w", c.Name(), err)
	}
	out := Response{Model: string(msg.Model), Stop: anthropicStop(msg.StopReason)}
	var text []string
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			text = append(text, b.Text)
		case "tool_use":
			out.ToolCalls = append(out.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Input: append(json.RawMessage(nil), b.Input...)})
		}
	}
	out.Text = strings.Join(text, "\n")
	u := msg.Usage
	out.Usage = Usage{
		Input:      int(u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens),
		Output:     int(u.OutputTokens),
		CacheRead:  int(u.CacheReadInputTokens),
		CacheWrite: int(u.CacheCreationInputTokens),
	}
	return out, nil
}

// anthropicSchema splits an object schema into the SDK's parameter shape.
func anthropicSchema(raw json.RawMessage) (anthropic.ToolInputSchemaParam, error) {
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return anthropic.ToolInputSchemaParam{}, err
	}
	out := anthropic.ToolInputSchemaParam{Properties: s["properties"], ExtraFields: map[string]any{}}
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				out.Required = append(out.Required, name)
			}
		}
	}
	for k, v := range s {
		if k != "type" && k != "properties" && k != "required" {
			out.ExtraFields[k] = v
		}
	}
	return out, nil
}

func anthropicMessage(m Message) anthropic.MessageParam {
	var blocks []anthropic.ContentBlockParamUnion
	if m.Text != "" {
		blocks = append(blocks, anthropic.NewTextBlock(m.Text))
	}
	for _, tc := range m.ToolCalls {
		blocks = append(blocks, anthropic.NewToolUseBlock(tc.ID, inputObject(tc.Input), tc.Name))
	}
	for _, tr := range m.ToolResults {
		blocks = append(blocks, anthropic.NewToolResultBlock(tr.CallID, tr.Content, tr.IsError))
	}
	if m.Role == RoleAssistant {
		return anthropic.NewAssistantMessage(blocks...)
	}
	return anthropic.NewUserMessage(blocks...)
}

// inputObject is a tool call's input as the API takes it back: the object
// the model sent, or an empty object when it sent something else (the call
// was refused for it).
func inputObject(raw json.RawMessage) any {
	var obj map[string]any
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return map[string]any{}
	}
	return json.RawMessage(raw)
}

func anthropicStop(r anthropic.StopReason) StopReason {
	switch r {
	case anthropic.StopReasonEndTurn, anthropic.StopReasonStopSequence:
		return StopEndTurn
	case anthropic.StopReasonToolUse:
		return StopToolUse
	case anthropic.StopReasonMaxTokens:
		return StopMaxTokens
	}
	return StopOther
}

func maxOutput(req Request) int {
	if req.MaxOutputTokens > 0 {
		return req.MaxOutputTokens
	}
	return DefaultMaxOutputTokens
}
