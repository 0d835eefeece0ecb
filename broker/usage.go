package broker

import (
	"bytes"
	"encoding/json"

	"github.com/infra-agent/infra-agent/wire"
)

// usageMeter reads the token usage of a model answer as it streams past: a
// JSON document (the whole answer) or server-sent events, one JSON document
// per "data:" line.
type usageMeter struct {
	provider string
	all      bytes.Buffer // the answer so far, for a JSON answer
	line     []byte       // the current line, for an event stream
	sse      bool
	decided  bool

	input, output, sum int64
	found              bool
}

// usage is the usage object of both APIs.
type usage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	PromptTokens             int64 `json:"prompt_tokens"`
	CompletionTokens         int64 `json:"completion_tokens"`
	TotalTokens              int64 `json:"total_tokens"`
}

// maxMetered bounds what the meter keeps of a non-streamed answer.
const maxMetered = 64 << 20

func (u *usageMeter) Write(p []byte) {
	if !u.decided {
		trimmed := bytes.TrimLeft(p, " \t\r\n")
		if len(trimmed) == 0 {
			return
		}
		u.sse = trimmed[0] != '{'
		u.decided = true
	}
	if !u.sse {
		if u.all.Len()+len(p) <= maxMetered {
			u.all.Write(p)
		}
		return
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			u.line = append(u.line, p...)
			return
		}
		u.line = append(u.line, p[:i]...)
		u.event(bytes.TrimSpace(u.line))
		u.line = u.line[:0]
		p = p[i+1:]
	}
}

// event reads one event-stream line.
func (u *usageMeter) event(line []byte) {
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return
	}
	var ev struct {
		Usage   *usage `json:"usage"`
		Message struct {
			Usage *usage `json:"usage"`
		} `json:"message"`
	}
	if json.Unmarshal(bytes.TrimSpace(data), &ev) != nil {
		return
	}
	// Anthropic: message_start carries the input, message_delta the output
	// so far (cumulative). OpenAI: the last chunk carries the whole usage.
	if mu := ev.Message.Usage; mu != nil {
		u.input = mu.InputTokens + mu.CacheCreationInputTokens + mu.CacheReadInputTokens
		u.output = max(u.output, mu.OutputTokens)
		u.found = true
	}
	if ev.Usage != nil {
		u.apply(*ev.Usage)
	}
}

func (u *usageMeter) apply(us usage) {
	u.found = true
	if u.provider == wire.ProviderOpenAI {
		u.sum = max(us.TotalTokens, us.PromptTokens+us.CompletionTokens)
		return
	}
	if in := us.InputTokens + us.CacheCreationInputTokens + us.CacheReadInputTokens; in > 0 {
		u.input = in
	}
	u.output = max(u.output, us.OutputTokens)
}

// tokens returns the tokens the answer used and whether it said.
func (u *usageMeter) tokens() (int64, bool) {
	if !u.sse && u.all.Len() > 0 {
		var doc struct {
			Usage *usage `json:"usage"`
		}
		if json.Unmarshal(u.all.Bytes(), &doc) == nil && doc.Usage != nil {
			u.apply(*doc.Usage)
		}
	}
	if u.line != nil && len(bytes.TrimSpace(u.line)) > 0 {
		u.event(bytes.TrimSpace(u.line))
	}
	if u.provider == wire.ProviderOpenAI {
		return u.sum, u.found
	}
	return u.input + u.output, u.found
}
