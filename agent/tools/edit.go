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

// addressSchema is the part every structural edit shares.
const addressSchema = `
	"root":{"type":"string","maxLength":512,"description":"root module directory the address is seen from; needed only when there are several roots"},
	"address":{"type":"string","minLength":1,"maxLength":512,"description":"resource, data source or module call address, e.g. aws_s3_bucket.logs or module.store.aws_s3_bucket.data"},
	"block":{"type":"array","items":{"type":"string","maxLength":128},"maxItems":8,"description":"nested block types inside it, outermost first, e.g. [\"versioning\"]"}`

func setAttributeTool() *tool {
	return &tool{
		name: "set_attribute",
		description: "Set an attribute of the block an address names (inside nested blocks, created when missing). " +
			"Give value (a JSON literal: string, number, bool, list, object) or expression (HCL such as aws_kms_key.logs.arn).",
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["address","name"],"properties":{` + addressSchema + `,
			"name":{"type":"string","minLength":1,"maxLength":128},
			"value":{"description":"a JSON literal"},
			"expression":{"type":"string","minLength":1,"maxLength":2048}}}`),
		writes: true,
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			v, hasValue := args["value"]
			expr := str(args, "expression")
			if hasValue == (expr != "") {
				return "", refuse("set_attribute needs exactly one of value and expression")
			}
			return structural(env, args, hcledit.Op{Action: hcledit.ActionSet, Name: str(args, "name"), Value: hcledit.Value{JSON: v, Expr: expr}})
		},
	}
}

func removeAttributeTool() *tool {
	return &tool{
		name:        "remove_attribute",
		description: "Remove an attribute of the block an address names (inside nested blocks).",
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["address","name"],"properties":{` + addressSchema + `,
			"name":{"type":"string","minLength":1,"maxLength":128}}}`),
		writes: true,
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			return structural(env, args, hcledit.Op{Action: hcledit.ActionRemove, Name: str(args, "name")})
		},
	}
}

func addBlockTool() *tool {
	return &tool{
		name:        "add_block",
		description: "Append a nested block of the given type, with attributes (JSON literals), to the block an address names (inside nested blocks).",
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["address","type"],"properties":{` + addressSchema + `,
			"type":{"type":"string","minLength":1,"maxLength":128},
			"attributes":{"type":"object","maxProperties":64}}}`),
		writes: true,
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			attrs := map[string]hcledit.Value{}
			raw, _ := args["attributes"].(map[string]any)
			for k, v := range raw {
				attrs[k] = hcledit.Value{JSON: v}
			}
			if slices.Contains([]string{"provisioner", "connection"}, str(args, "type")) {
				return "", refuse("a %s block is never added by the agent", str(args, "type"))
			}
			return structural(env, args, hcledit.Op{Action: hcledit.ActionAddBlock, Name: str(args, "type"), Attrs: attrs})
		},
	}
}

func removeBlockTool() *tool {
	return &tool{
		name:        "remove_block",
		description: "Remove the first nested block of the given type from the block an address names (inside nested blocks).",
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["address","type"],"properties":{` + addressSchema + `,
			"type":{"type":"string","minLength":1,"maxLength":128}}}`),
		writes: true,
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			return structural(env, args, hcledit.Op{Action: hcledit.ActionRemoveBlock, Name: str(args, "type")})
		},
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
		description: "Run the validation pipeline (terraform fmt, validate, policies, plan, policies on the plan) on the current files and get what remains. Each run counts against the job's plan-run budget.",
		schema:      []byte(`{"type":"object","additionalProperties":false,"properties":{}}`),
		run: func(ctx context.Context, env *Env, _ map[string]any) (string, error) {
			return env.Validate(ctx)
		},
	}
}

func finishTool() *tool {
	return &tool{
		name:        "finish",
		description: "Say you are done, with a short summary of what you changed and why. The harness then validates the result.",
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
		description: "Leave a review comment on a line of a file: a problem no policy covers. It is posted as your opinion, for a human to judge.",
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
