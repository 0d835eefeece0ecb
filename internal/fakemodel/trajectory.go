package fakemodel

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Step is one tool call of a trajectory and what the agent answered.
type Step struct {
	Tool string
	Args json.RawMessage
	// Answered is false while no request has carried the call's result back
	// (the conversation ended, or the agent stopped).
	Answered bool
	Result   string
	// Error is set when the agent answered with an error: the call was
	// refused (unknown tool, bad arguments, a guard) or failed.
	Error bool
}

// Arg returns the string argument name of the step, or "".
func (s Step) Arg(name string) string {
	var m map[string]any
	if json.Unmarshal(s.Args, &m) != nil {
		return ""
	}
	v, _ := m[name].(string)
	return v
}

// Trajectory is the ordered tool calls of a conversation.
type Trajectory []Step

// Match selects steps: a tool name ("" for any) and, optionally, an
// argument predicate.
type Match struct {
	Tool string
	Args func(args map[string]any) bool
}

func (m Match) matches(s Step) bool {
	if m.Tool != "" && s.Tool != m.Tool {
		return false
	}
	if m.Args == nil {
		return true
	}
	var args map[string]any
	if json.Unmarshal(s.Args, &args) != nil {
		return false
	}
	return m.Args(args)
}

// Find returns the steps that match.
func (t Trajectory) Find(m Match) []Step {
	var out []Step
	for _, s := range t {
		if m.matches(s) {
			out = append(out, s)
		}
	}
	return out
}

// Ran reports whether a matching step ran: answered without an error.
func (t Trajectory) Ran(m Match) bool {
	for _, s := range t.Find(m) {
		if s.Answered && !s.Error {
			return true
		}
	}
	return false
}

// Refused reports whether a matching step was answered with an error.
func (t Trajectory) Refused(m Match) bool {
	for _, s := range t.Find(m) {
		if s.Answered && s.Error {
			return true
		}
	}
	return false
}

// String lists the steps, one a line, for failure messages.
func (t Trajectory) String() string {
	var b strings.Builder
	for i, s := range t {
		status := "ok"
		switch {
		case !s.Answered:
			status = "unanswered"
		case s.Error:
			status = "refused"
		}
		result := s.Result
		if len(result) > 160 {
			result = result[:160] + "…"
		}
		fmt.Fprintf(&b, "%2d. %s %s → %s: %s\n", i+1, s.Tool, s.Args, status, strings.ReplaceAll(result, "\n", " ⏎ "))
	}
	return b.String()
}
