package tools

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/infra-agent/infra-agent/agent/hcledit"
)

// editSchema is the structural edit's arguments.
const editSchema = `{"type":"object","additionalProperties":false,"required":["action","address","name"],"properties":{
	"action":{"enum":["set","remove","add_block","remove_block"]},
	"root":{"type":"string","maxLength":512},
	"address":{"type":"string","minLength":1,"maxLength":512},
	"block":{"type":"array","items":{"type":"string","maxLength":128},"maxItems":8},
	"name":{"type":"string","minLength":1,"maxLength":128},
	"value":{},
	"expression":{"type":"string","minLength":1,"maxLength":2048},
	"attributes":{"type":"object","maxProperties":64}}}`

// editTool is the structural HCL edit, one tool for the four actions so the
// model reads their shared arguments once.
func editTool() *tool {
	return &tool{
		name: "edit",
		description: "Edit the block at address, inside its nested block path block (missing blocks are created): " +
			"set attribute name to value (JSON) or expression (HCL, e.g. aws_kms_key.k.arn); remove attribute name; " +
			"add_block of type name with attributes (JSON); remove_block, the first of type name.",
		schema: []byte(editSchema),
		writes: true,
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			op, err := editOp(args)
			if err != nil {
				return "", err
			}
			return structural(env, args, op)
		},
	}
}

// editOp turns the edit's arguments into an operation.
func editOp(args map[string]any) (hcledit.Op, error) {
	name := str(args, "name")
	v, hasValue := args["value"]
	expr := str(args, "expression")
	_, hasAttrs := args["attributes"]
	switch action := str(args, "action"); action {
	case hcledit.ActionSet:
		if hasValue == (expr != "") {
			return hcledit.Op{}, refuse("set needs exactly one of value and expression")
		}
		return hcledit.Op{Action: action, Name: name, Value: hcledit.Value{JSON: v, Expr: expr}}, nil
	case hcledit.ActionAddBlock:
		if slices.Contains([]string{"provisioner", "connection"}, name) {
			return hcledit.Op{}, refuse("a %s block is never added by the agent", name)
		}
		attrs := map[string]hcledit.Value{}
		raw, _ := args["attributes"].(map[string]any)
		for k, val := range raw {
			attrs[k] = hcledit.Value{JSON: val}
		}
		return hcledit.Op{Action: action, Name: name, Attrs: attrs}, nil
	default:
		if hasValue || expr != "" || hasAttrs {
			return hcledit.Op{}, refuse("%s takes no value, expression or attributes", action)
		}
		return hcledit.Op{Action: action, Name: name}, nil
	}
}

// structural locates the block, applies one edit and writes the file
// through the guards.
func structural(env *Env, args map[string]any, op hcledit.Op) (string, error) {
	addr, err := hcledit.ParseAddress(str(args, "address"))
	if err != nil {
		return "", refuse("%v", err)
	}
	root, err := pickRoot(env, str(args, "root"))
	if err != nil {
		return "", err
	}
	op.Block = strList(args, "block")
	file, err := hcledit.Locate(env.Workspace.Root(), root, addr)
	if err != nil {
		return "", err
	}
	if _, err := env.Workspace.CheckWrite(file); err != nil {
		return "", asRefusal(err)
	}
	src, err := env.Workspace.ReadFile(file)
	if err != nil {
		return "", asRefusal(err)
	}
	out, err := hcledit.Apply(src, file, addr.Local(), []hcledit.Op{op})
	if err != nil {
		return "", err
	}
	if _, err := GuardedWrite(env, file, out); err != nil {
		return "", err
	}
	what := op.Name
	if len(op.Block) > 0 {
		what = strings.Join(op.Block, ".") + "." + op.Name
	}
	return fmt.Sprintf("%s %s on %s in %s", op.Action, what, addr, file), nil
}

// pickRoot resolves the root an address is seen from.
func pickRoot(env *Env, root string) (string, error) {
	if root != "" {
		clean := path.Clean(root)
		if slices.Contains(env.Roots, clean) {
			return clean, nil
		}
		return "", refuse("%q is not a root module; the roots are: %s", root, strings.Join(env.Roots, ", "))
	}
	switch len(env.Roots) {
	case 0:
		return "", errors.New("no root modules")
	case 1:
		return env.Roots[0], nil
	}
	return "", refuse("there are several root modules (%s): say which one with root", strings.Join(env.Roots, ", "))
}

func runValidationTool() *tool {
	return &tool{
		name:        "run_validation",
		description: "Validate the current files (fmt, validate, policies, plan) and get what remains; counts against the plan-run budget.",
		schema:      []byte(`{"type":"object","additionalProperties":false,"properties":{}}`),
		run: func(ctx context.Context, env *Env, _ map[string]any) (string, error) {
			return env.Validate(ctx)
		},
	}
}

func finishTool() *tool {
	return &tool{
		name:        "finish",
		description: "Say you are done, with a short summary of what you changed and why.",
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["summary"],"properties":{
			"summary":{"type":"string","minLength":1,"maxLength":4000}}}`),
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			env.Finish(str(args, "summary"))
			return "finished; the harness validates the result", nil
		},
	}
}

func commentTool() *tool {
	return &tool{
		name:        "comment",
		description: "Comment on a line: a problem no policy covers, posted as your opinion.",
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["path","line","body"],"properties":{
			"path":{"type":"string","minLength":1,"maxLength":512},
			"line":{"type":"integer","minimum":1},
			"body":{"type":"string","minLength":1,"maxLength":4000}}}`),
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			p := str(args, "path")
			if _, err := env.Workspace.ReadFile(p); err != nil {
				return "", asRefusal(err)
			}
			c := ReviewComment{Path: p, Line: integer(args, "line"), Body: str(args, "body")}
			if err := env.Comment(c); err != nil {
				return "", err
			}
			return "comment recorded", nil
		},
	}
}
