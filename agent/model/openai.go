package model

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// openaiClient calls an OpenAI-compatible chat-completions endpoint through
// the official SDK.
type openaiClient struct {
	chat  openai.ChatCompletionService
	model string
}

func newOpenAI(cfg Config) *openaiClient {
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.openai.com/v1/"
	}
	// Explicit options only, as for Anthropic: no organisation, project or
	// extra headers picked up from the environment.
	chat := openai.NewChatCompletionService(
		option.WithHTTPClient(cfg.HTTPClient),
		option.WithBaseURL(base),
		option.WithAPIKey(cfg.APIKey),
		option.WithMaxRetries(cfg.MaxRetries),
		option.WithRequestTimeout(defaultRequestTimeout),
	)
	return &openaiClient{chat: chat, model: cfg.Model}
}

func (c *openaiClient) Name() string { return ProviderOpenAI + "/" + c.model }

func (c *openaiClient) Complete(ctx context.Context, req Request) (Response, error) {
	params := openai.ChatCompletionNewParams{
		Model:               shared.ChatModel(c.model),
		MaxCompletionTokens: openai.Int(int64(maxOutput(req))),
	}
	if req.System != "" {
		params.Messages = append(params.Messages, openai.SystemMessage(req.System))
	}
	for _, m := range req.Messages {
		params.Messages = append(params.Messages, openaiMessages(m)...)
	}
	for _, t := range req.Tools {
		var schema map[string]any
		if err := json.Unmarshal(t.Schema, &schema); err != nil {
			return Response{}, fmt.Errorf("declaring tool %s: %w", t.Name, err)
		}
		params.Tools = append(params.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        t.Name,
			Description: openai.String(t.Description),
			Parameters:  shared.FunctionParameters(schema),
		}))
	}
	cc, err := c.chat.New(ctx, params)
	if err != nil {
		return Response{}, fmt.Errorf("calling %s: %w", c.Name(), err)
	}
	out := Response{Model: cc.Model, Usage: Usage{
		Input:     int(cc.Usage.PromptTokens),
		Output:    int(cc.Usage.CompletionTokens),
		CacheRead: int(cc.Usage.PromptTokensDetails.CachedTokens),
	}}
	if len(cc.Choices) == 0 {
		return out, fmt.Errorf("calling %s: the answer has no choices", c.Name())
	}
	choice := cc.Choices[0]
	out.Text = choice.Message.Content
	for _, tc := range choice.Message.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Input: json.RawMessage(tc.Function.Arguments)})
	}
	switch choice.FinishReason {
	case "stop":
		out.Stop = StopEndTurn
	case "tool_calls", "function_call":
		out.Stop = StopToolUse
	case "length":
		out.Stop = StopMaxTokens
	default:
		out.Stop = StopOther
	}
	if len(out.ToolCalls) > 0 {
		// Some compatible servers say "stop" while calling tools.
		out.Stop = StopToolUse
	}
	return out, nil
}

// openaiMessages turns one message into the API's: tool results are one
// "tool" message each.
func openaiMessages(m Message) []openai.ChatCompletionMessageParamUnion {
	if m.Role == RoleAssistant {
		a := openai.ChatCompletionAssistantMessageParam{}
		if m.Text != "" {
			a.Content.OfString = openai.String(m.Text)
		}
		for _, tc := range m.ToolCalls {
			a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID:       tc.ID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: string(tc.Input)},
				},
			})
		}
		return []openai.ChatCompletionMessageParamUnion{{OfAssistant: &a}}
	}
	var out []openai.ChatCompletionMessageParamUnion
	for _, tr := range m.ToolResults {
		content := tr.Content
		if tr.IsError {
			// Chat completions have no error flag on tool results.
			content = "ERROR: " + content
		}
		out = append(out, openai.ToolMessage(content, tr.CallID))
	}
	if m.Text != "" {
		out = append(out, openai.UserMessage(m.Text))
	}
	return out
}
