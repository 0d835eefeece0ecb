// Package model is the agent's access to a language model: one small
// interface (Client), and two implementations over the official SDKs —
// Anthropic's Messages API and any OpenAI-compatible chat-completions
// endpoint (OpenAI, Azure OpenAI, vLLM, Ollama…) — with tool calling, token
// accounting and the SDKs' retries on 429 and 5xx, which honour Retry-After.
//
// Locally the SDKs' own variables select the endpoint and key
// (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL);
// in a runner the same clients are pointed at the server's model proxy
// (Proxy, from the job spec's wire.ModelAccess), authenticated with the job's
// session secret, so the runner never holds a model key.
package model

import (
	"context"
	"encoding/json"
)

// Role is who wrote a message.
type Role string

// The roles of a conversation. Tool results travel in user messages, as both
// APIs define them.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one turn of the conversation.
type Message struct {
	Role Role
	// Text is the message's prose, if any.
	Text string
	// ToolCalls are the calls an assistant message makes.
	ToolCalls []ToolCall
	// ToolResults answer the calls of the previous assistant message.
	ToolResults []ToolResult
}

// ToolCall is one tool call the model made. Input is the arguments exactly as
// the model sent them: it may be malformed JSON, which the caller refuses.
type ToolCall struct {
	ID    string
	Name  string
	Input json.RawMessage
}

// ToolResult is the answer to one tool call. IsError marks a refused or
// failed call.
type ToolResult struct {
	CallID  string
	Content string
	IsError bool
}

// Tool declares a tool to the model: its name, what it does, and the JSON
// schema of its arguments (an object schema).
type Tool struct {
	Name        string
	Description string
	Schema      json.RawMessage
}

// Request is one call to the model.
type Request struct {
	System   string
	Messages []Message
	Tools    []Tool
	// MaxOutputTokens bounds the answer; zero means DefaultMaxOutputTokens.
	MaxOutputTokens int
}

// DefaultMaxOutputTokens bounds one answer when the request does not say.
const DefaultMaxOutputTokens = 4096

// StopReason says why the model stopped.
type StopReason string

// Stop reasons, normalised across the APIs.
const (
	StopEndTurn   StopReason = "end_turn"
	StopToolUse   StopReason = "tool_use"
	StopMaxTokens StopReason = "max_tokens"
	StopOther     StopReason = "other"
)

// Response is the model's answer.
type Response struct {
	Text      string
	ToolCalls []ToolCall
	Stop      StopReason
	Usage     Usage
	// Model is the model that answered, as the endpoint names it.
	Model string
}

// Usage counts the tokens of one call (or, summed, of many).
type Usage struct {
	// Input counts every prompt token, cached or not.
	Input int `json:"input"`
	// Output counts the answer's tokens.
	Output int `json:"output"`
	// CacheRead and CacheWrite count the prompt tokens read from and written
	// to the provider's prompt cache (part of Input).
	CacheRead  int `json:"cache_read"`
	CacheWrite int `json:"cache_write"`
}

// Total is what a token budget counts: every token sent and received.
func (u Usage) Total() int { return u.Input + u.Output }

// Add sums two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{Input: u.Input + o.Input, Output: u.Output + o.Output, CacheRead: u.CacheRead + o.CacheRead, CacheWrite: u.CacheWrite + o.CacheWrite}
}

// Client calls a model. Implementations retry transient failures (429, 5xx,
// connection errors) themselves; an error means the call failed for good.
type Client interface {
	Complete(ctx context.Context, req Request) (Response, error)
	// Name is "provider/model", for results and audit events.
	Name() string
}
