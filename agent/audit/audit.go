// Package audit writes the agent's audit trail: one JSON object a line, each
// with the job and run ids, kept apart from the model transcript. Every text
// an event carries passes checks/redact first, so the trail can be shipped
// and read without leaking what the agent saw.
package audit

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/infra-agent/infra-agent/checks/redact"
)

// Event types.
const (
	TypeToolCall        = "tool_call"
	TypeRefusal         = "refusal"
	TypePolicyEvaluated = "policy_evaluated"
	TypeBudgetWarning   = "budget_warning"
	TypeBudgetExceeded  = "budget_exceeded"
	TypeModelCall       = "model_call"
	TypeDeterministic   = "deterministic_fix"
	TypeGate            = "gate"
	TypeError           = "error"
	TypeResult          = "result"
)

// maxText bounds a text field of an event.
const maxText = 4096

// Event is one line of the trail.
type Event struct {
	Time  time.Time `json:"ts"`
	JobID string    `json:"job_id,omitempty"`
	RunID string    `json:"run_id,omitempty"`
	Type  string    `json:"type"`
	// Tool, Args, Outcome and DurationMS describe a tool call: Args is the
	// call's arguments, redacted, as text.
	Tool       string `json:"tool,omitempty"`
	Args       string `json:"args,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
	// Detail is a short redacted explanation.
	Detail string `json:"detail,omitempty"`
	// Data holds event-specific numbers and names (no free text).
	Data map[string]any `json:"data,omitempty"`
}

// Log appends events to a writer. A nil *Log discards them. It is safe for
// concurrent use.
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	job string
	run string
	now func() time.Time
	err error
}

// New returns a log writing to w with the job and run ids on every event.
func New(w io.Writer, jobID, runID string) *Log {
	return &Log{w: w, job: jobID, run: runID, now: time.Now}
}

// Emit writes one event; the time and ids are filled in and texts redacted.
func (l *Log) Emit(e Event) {
	if l == nil {
		return
	}
	e.Time = l.now().UTC()
	e.JobID, e.RunID = l.job, l.run
	e.Args = clip(redact.String(e.Args))
	e.Detail = clip(redact.String(e.Detail))
	line, err := json.Marshal(e)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	if _, err := l.w.Write(append(line, '\n')); err != nil {
		l.err = err
	}
}

// Err returns the first write error, if any: a trail that could not be
// written is reported, not ignored.
func (l *Log) Err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	return s[:maxText] + "…(truncated)"
}
