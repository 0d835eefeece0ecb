// Package tools holds the agent's typed tools — the only things a model can
// make happen. There is no shell: listing, reading and searching files,
// structural HCL edits at a resource address, writing a whole file, running
// the validation pipeline, leaving a review comment, and finishing. Each job
// kind has its own set (review's is read-only); a call to a tool outside it
// is refused. Arguments are validated against the tool's JSON schema before
// anything runs, and every write passes the workspace's path rules and the
// guards (content, secrets, diff size) against the whole change so far.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/wire"
)

// Refusal is a call that was refused before it ran: unknown tool, a tool
// outside the kind's set, arguments that break the schema, or a guard.
type Refusal struct {
	Reason string
}

func (r *Refusal) Error() string { return "refused: " + r.Reason }

func refuse(format string, a ...any) error { return &Refusal{Reason: fmt.Sprintf(format, a...)} }

// tool is one registered tool.
type tool struct {
	name, description string
	schema            json.RawMessage
	compiled          *jsonschema.Schema
	// writes marks tools that change the workspace.
	writes bool
	run    func(ctx context.Context, env *Env, args map[string]any) (string, error)
}

// all lists every tool, in the order they are declared to the model.
func all() []*tool {
	return []*tool{
		listFilesTool(), readFileTool(), searchTool(),
		editTool(), writeFileTool(),
		runValidationTool(), commentTool(), finishTool(),
	}
}

// kindTools names each kind's tool set. Review gets the read-only tools and
// comment; the kinds that change code get the edits and validation.
func kindTools(k wire.Kind) []string {
	switch k {
	case wire.KindFix, wire.KindRemediate:
		return []string{"list_files", "read_file", "search", "edit", "write_file", "run_validation", "finish"}
	case wire.KindReview:
		return []string{"list_files", "read_file", "search", "comment", "finish"}
	}
	return nil
}

// Registry is the tool set of one job kind.
type Registry struct {
	kind  wire.Kind
	tools []*tool
	known map[string]*tool
}

// For returns the tool set of a job kind, its schemas compiled.
func For(kind wire.Kind) (*Registry, error) {
	r := &Registry{kind: kind, known: map[string]*tool{}}
	allowed := kindTools(kind)
	for _, t := range all() {
		var compact bytes.Buffer
		if err := json.Compact(&compact, t.schema); err != nil {
			return nil, fmt.Errorf("tool %s schema: %w", t.name, err)
		}
		t.schema = compact.Bytes()
		c := jsonschema.NewCompiler()
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(t.schema))
		if err != nil {
			return nil, fmt.Errorf("tool %s schema: %w", t.name, err)
		}
		// An absolute URL: a relative one would be resolved against the
		// working directory, which would then show in error messages.
		url := "urn:infra-agent:tool:" + t.name
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("tool %s schema: %w", t.name, err)
		}
		if t.compiled, err = c.Compile(url); err != nil {
			return nil, fmt.Errorf("tool %s schema: %w", t.name, err)
		}
		r.known[t.name] = t
		if slices.Contains(allowed, t.name) {
			r.tools = append(r.tools, t)
		}
	}
	return r, nil
}

// Names lists the kind's tools.
func (r *Registry) Names() []string {
	out := make([]string, len(r.tools))
	for i, t := range r.tools {
		out[i] = t.name
	}
	return out
}

// Declarations are the kind's tools as the model is told about them.
func (r *Registry) Declarations() []model.Tool {
	out := make([]model.Tool, len(r.tools))
	for i, t := range r.tools {
		out[i] = model.Tool{Name: t.name, Description: t.description, Schema: t.schema}
	}
	return out
}

// Writes reports whether the named tool changes the workspace.
func (r *Registry) Writes(name string) bool {
	t, ok := r.known[name]
	return ok && t.writes
}

// Call validates and runs one tool call. A *Refusal error means it never
// ran; any other error is a failure the model may correct.
func (r *Registry) Call(ctx context.Context, env *Env, name string, input []byte) (string, error) {
	t, ok := r.known[name]
	if !ok {
		return "", refuse("there is no tool %q; the tools are: %s (there is no shell)", clipName(name), strings.Join(r.Names(), ", "))
	}
	if !slices.ContainsFunc(r.tools, func(x *tool) bool { return x.name == name }) {
		return "", refuse("tool %q is not available to a %s job", name, r.kind)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return "", refuse("the arguments of %s are not valid JSON: %v", name, err)
	}
	if err := t.compiled.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		msg := err.Error()
		if errors.As(err, &ve) {
			msg = strings.Join(strings.Fields(ve.Error()), " ")
		}
		return "", refuse("the arguments of %s do not match its schema: %s", name, msg)
	}
	var args map[string]any
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	if err := dec.Decode(&args); err != nil {
		return "", refuse("the arguments of %s must be a JSON object", name)
	}
	return t.run(ctx, env, args)
}

func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Argument readers; the schema has already checked the types.
func str(args map[string]any, key string) string {
	s, _ := args[key].(string)
	return s
}

func integer(args map[string]any, key string) int {
	if n, ok := args[key].(json.Number); ok {
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

func strList(args map[string]any, key string) []string {
	raw, _ := args[key].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
