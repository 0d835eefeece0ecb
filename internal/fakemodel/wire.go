package fakemodel

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Request is one request as the server received it, normalised across the
// two APIs.
type Request struct {
	API    API
	Path   string
	Header http.Header
	// Body is the request body, byte for byte.
	Body []byte

	Model  string
	System string
	// Tools are the names of the tools the request declares.
	Tools []string
	// Messages counts the conversation's messages (tool results included).
	Messages int
	// ToolResults are every tool result of the conversation, in order;
	// LastResults those of its last message (what the model just got back).
	ToolResults []ToolResult
	LastResults []ToolResult
	// LastUserText is the text of the last user message.
	LastUserText string
}

// ToolResult is a tool result as a request carried it.
type ToolResult struct {
	CallID  string
	Content string
	IsError bool
}

// EstimateTokens is the server's token count for a text: a character count
// over four, the usual rule of thumb for English and code. Usage figures the
// server reports (and budgets count) are made with it.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }

func parseRequest(api API, r *http.Request, body []byte) (*Request, error) {
	req := &Request{API: api, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if api == Anthropic {
		return req, parseAnthropic(req, body)
	}
	return req, parseOpenAI(req, body)
}

func parseAnthropic(req *Request, body []byte) error {
	var in struct {
		Model  string `json:"model"`
		System []struct {
			Text string `json:"text"`
		} `json:"system"`
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type      string          `json:"type"`
				Text      string          `json:"text"`
				ToolUseID string          `json:"tool_use_id"`
				Content   json.RawMessage `json:"content"`
				IsError   bool            `json:"is_error"`
			} `json:"content"`
		} `json:"messages"`
		MaxTokens int `json:"max_tokens"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return err
	}
	if in.Model == "" || in.MaxTokens <= 0 || len(in.Messages) == 0 {
		return fmt.Errorf("model, max_tokens and messages are required")
	}
	req.Model, req.Messages = in.Model, len(in.Messages)
	for _, s := range in.System {
		req.System += s.Text
	}
	for _, t := range in.Tools {
		req.Tools = append(req.Tools, t.Name)
	}
	for _, m := range in.Messages {
		if m.Role != "user" {
			continue
		}
		req.LastResults = nil
		for _, c := range m.Content {
			switch c.Type {
			case "text":
				req.LastUserText = c.Text
			case "tool_result":
				tr := ToolResult{CallID: c.ToolUseID, Content: resultText(c.Content), IsError: c.IsError}
				req.ToolResults = append(req.ToolResults, tr)
				req.LastResults = append(req.LastResults, tr)
			}
		}
	}
	return nil
}

// resultText reads a tool_result's content: a string or a list of text blocks.
func resultText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &blocks)
	var parts []string
	for _, b := range blocks {
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n")
}

func parseOpenAI(req *Request, body []byte) error {
	var in struct {
		Model    string `json:"model"`
		Messages []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCallID string          `json:"tool_call_id"`
		} `json:"messages"`
		Tools []struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return err
	}
	if in.Model == "" || len(in.Messages) == 0 {
		return fmt.Errorf("model and messages are required")
	}
	req.Model, req.Messages = in.Model, len(in.Messages)
	for _, t := range in.Tools {
		req.Tools = append(req.Tools, t.Function.Name)
	}
	for _, m := range in.Messages {
		text := resultText(m.Content)
		switch m.Role {
		case "system", "developer":
			req.System += text
		case "user":
			req.LastUserText = text
		case "assistant":
			req.LastResults = nil
		case "tool":
			// Chat completions carry no error flag; the agent marks refused
			// and failed calls with an ERROR: prefix.
			tr := ToolResult{CallID: m.ToolCallID, Content: text, IsError: strings.HasPrefix(text, "ERROR: ")}
			req.ToolResults = append(req.ToolResults, tr)
			req.LastResults = append(req.LastResults, tr)
		}
	}
	return nil
}

// answer builds the API's response body for a turn.
func answer(api API, req *Request, turn Turn, calls []issuedCall) any {
	in := EstimateTokens(string(req.Body))
	out := turn.OutputTokens
	if out == 0 {
		out = EstimateTokens(turn.Text)
		for _, c := range calls {
			out += EstimateTokens(c.name + c.args)
		}
		out = max(out, 1)
	}
	if api == Anthropic {
		content := []map[string]any{}
		if turn.Text != "" {
			content = append(content, map[string]any{"type": "text", "text": turn.Text})
		}
		stop := "end_turn"
		for _, c := range calls {
			var input any = json.RawMessage(c.args)
			if !json.Valid([]byte(c.args)) {
				input = c.args
			}
			content = append(content, map[string]any{"type": "tool_use", "id": c.id, "name": c.name, "input": input})
			stop = "tool_use"
		}
		return map[string]any{
			"id": "msg_" + fmt.Sprint(len(req.Body)), "type": "message", "role": "assistant", "model": req.Model,
			"content": content, "stop_reason": stop, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": in, "output_tokens": out, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
		}
	}
	msg := map[string]any{"role": "assistant", "content": nil}
	if turn.Text != "" {
		msg["content"] = turn.Text
	}
	finish := "stop"
	if len(calls) > 0 {
		var tcs []map[string]any
		for _, c := range calls {
			tcs = append(tcs, map[string]any{"id": c.id, "type": "function", "function": map[string]any{"name": c.name, "arguments": c.args}})
		}
		msg["tool_calls"], finish = tcs, "tool_calls"
	}
	return map[string]any{
		"id": "chatcmpl-" + fmt.Sprint(len(req.Body)), "object": "chat.completion", "created": 0, "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out, "prompt_tokens_details": map[string]any{"cached_tokens": 0}},
	}
}

// errorBody is the API's error document for a status.
func errorBody(api API, status int) string {
	kind := map[int]string{429: "rate_limit_error", 500: "api_error", 529: "overloaded_error", 400: "invalid_request_error", 401: "authentication_error"}[status]
	if kind == "" {
		kind = "api_error"
	}
	msg := http.StatusText(status)
	if api == Anthropic {
		b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": kind, "message": msg}})
		return string(b)
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": kind, "code": nil}})
	return string(b)
}
