// Package fakemodel is a scripted language-model server for tests: a real
// HTTP server (httptest) that speaks the Anthropic Messages API
// (POST …/v1/messages) and the OpenAI chat-completions API
// (POST …/v1/chat/completions), tool calls included, so the official SDKs
// are driven end to end. A Script decides each answer from the request it
// receives; faults (429 with Retry-After, 5xx, malformed tool calls, broken
// bodies) are answers like any other.
//
// The server records every request byte for byte, and rebuilds the agent's
// trajectory from the wire: each tool call it answered with, paired with the
// tool result the next request carried back (and whether it was an error,
// i.e. refused or failed). Tests assert on Trajectory, not on the agent's
// own account of what it did.
package fakemodel

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// API names the wire format of a request.
type API string

// The APIs the server speaks.
const (
	Anthropic API = "anthropic"
	OpenAI    API = "openai"
)

// Call is a tool call the scripted model makes. Args is marshalled to JSON;
// RawArgs, when set, is sent as is (malformed JSON, for OpenAI's string
// arguments, or a non-object).
type Call struct {
	Name    string
	Args    any
	RawArgs string
}

// Turn is one scripted answer.
type Turn struct {
	// Text is the model's prose.
	Text string
	// Calls are the tool calls it makes; none ends the conversation.
	Calls []Call
	// Status, when not 0 or 200, answers with that HTTP error instead, with
	// Header (e.g. Retry-After) and the API's error body.
	Status int
	Header http.Header
	// RawBody, when set, is sent as the 200 response body verbatim.
	RawBody string
	// OutputTokens is reported as the answer's size; zero means estimated.
	OutputTokens int
}

// Script answers requests.
type Script interface {
	Next(r *Request) Turn
}

// ScriptFunc adapts a function to a Script.
type ScriptFunc func(r *Request) Turn

// Next calls f.
func (f ScriptFunc) Next(r *Request) Turn { return f(r) }

// Turns answers with the given turns in order, then with Final for ever.
func Turns(turns ...Turn) Script {
	var mu sync.Mutex
	i := 0
	return ScriptFunc(func(*Request) Turn {
		mu.Lock()
		defer mu.Unlock()
		if i < len(turns) {
			i++
			return turns[i-1]
		}
		return Final
	})
}

// Final is the turn that ends a conversation.
var Final = Turn{Text: "Done."}

// Server is the scripted model endpoint.
type Server struct {
	// URL is the server's base; AnthropicURL and OpenAIURL are what the
	// SDKs take as their base URL.
	URL string

	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	script Script
	reqs   []*Request
	calls  map[string]*Step // pending tool calls by id
	steps  []*Step
	nextID int
}

// New starts a server answering with script; it stops when the test ends.
func New(t testing.TB, script Script) *Server {
	t.Helper()
	s := &Server{t: t, script: script, calls: map[string]*Step{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// AnthropicURL is the base URL the Anthropic SDK appends /v1/messages to.
func (s *Server) AnthropicURL() string { return s.URL + "/" }

// OpenAIURL is the base URL the OpenAI SDK appends /chat/completions to.
func (s *Server) OpenAIURL() string { return s.URL + "/v1/" }

// SetScript replaces the script.
func (s *Server) SetScript(script Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = script
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var api API
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/messages"):
		api = Anthropic
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		api = OpenAI
	default:
		http.Error(w, "not a model API route: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	req, err := parseRequest(api, r, body)
	if err != nil {
		s.t.Errorf("fakemodel: malformed %s request: %v\n%s", api, err, body)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.recordResults(req)
	script := s.script
	s.mu.Unlock()

	turn := script.Next(req)
	if turn.Status != 0 && turn.Status != http.StatusOK {
		for k, vs := range turn.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(turn.Status)
		io.WriteString(w, errorBody(api, turn.Status))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if turn.RawBody != "" {
		io.WriteString(w, turn.RawBody)
		return
	}
	s.mu.Lock()
	calls := s.issue(turn.Calls)
	s.mu.Unlock()
	out, err := json.Marshal(answer(api, req, turn, calls))
	if err != nil {
		s.t.Errorf("fakemodel: encoding the answer: %v", err)
	}
	w.Write(out)
}

// issuedCall is a scripted call with its id and encoded arguments.
type issuedCall struct {
	id, name string
	args     string
}

// issue gives the turn's calls ids and records them as pending steps.
func (s *Server) issue(calls []Call) []issuedCall {
	out := make([]issuedCall, 0, len(calls))
	for _, c := range calls {
		s.nextID++
		args := c.RawArgs
		if args == "" {
			b, err := json.Marshal(c.Args)
			if err != nil {
				s.t.Errorf("fakemodel: encoding the arguments of %s: %v", c.Name, err)
			}
			args = string(b)
			if args == "null" {
				args = "{}"
			}
		}
		ic := issuedCall{id: idFor(s.nextID), name: c.Name, args: args}
		step := &Step{Tool: c.Name, Args: json.RawMessage(args)}
		s.calls[ic.id] = step
		s.steps = append(s.steps, step)
		out = append(out, ic)
	}
	return out
}

// recordResults pairs the tool results a request carries with the calls
// they answer.
func (s *Server) recordResults(req *Request) {
	for _, tr := range req.ToolResults {
		if st, ok := s.calls[tr.CallID]; ok && !st.Answered {
			st.Answered, st.Result, st.Error = true, tr.Content, tr.IsError
		}
	}
}

func idFor(n int) string {
	return "call_" + strings.Repeat("0", max(0, 4-len(itoa(n)))) + itoa(n)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.reqs...)
}

// Trajectory returns the tool calls the model made, in order, each with the
// result the agent sent back.
func (s *Server) Trajectory() Trajectory {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(Trajectory, len(s.steps))
	for i, st := range s.steps {
		out[i] = *st
	}
	return out
}
