// Package fixes applies the fixes that need no model: terraform fmt on
// unformatted files, and the fixes a policy declares in its result's
// metadata. They run before the model is asked for anything, through the
// same guarded writes the model's tools use.
//
// A policy declares a fix in the "fix" key of a structured result: one
// operation object, or a list of them.
//
//	deny_unencrypted contains {
//	    "msg": sprintf("aws_s3_bucket.%s is not encrypted", [name]),
//	    "address": sprintf("aws_s3_bucket.%s", [name]),
//	    "fix": {
//	        "block": "server_side_encryption_configuration.rule.apply_server_side_encryption_by_default",
//	        "set": {"sse_algorithm": "aws:kms"},
//	    },
//	} if { ... }
//
// An operation's keys:
//
//	address       where to apply it; default the finding's address (a
//	              resource, data source or module call; module paths are
//	              followed through local module sources)
//	block         nested block path inside it, dotted ("versioning") or a
//	              list; missing blocks are created by set, tags and add_block
//	set           {attribute: value}: set attributes (JSON values)
//	remove        [attribute, ...]: remove attributes
//	tags          {key: value}: set entries of the tags map
//	add_block     {"type": T, "attributes": {...}}: append a nested block
//	remove_block  T: remove the first nested block of type T
//
// Values are literals: a string is always written as a string (never an
// interpolation). Anything else in the object is an error, reported and not
// applied.
package fixes

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/infra-agent/infra-agent/agent/hcledit"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/checks"
)

// MetadataKey is the result metadata key that declares a fix.
const MetadataKey = "fix"

// Declared is a fix a policy declared for one finding, resolved to
// operations per address.
type Declared struct {
	Steps []Step
}

// Step is the operations on one address.
type Step struct {
	Address hcledit.Address
	Ops     []hcledit.Op
}

// Describe renders the fix for a reader: "set public = false on
// module.assets".
func (d Declared) Describe() string {
	var parts []string
	for _, s := range d.Steps {
		for _, op := range s.Ops {
			parts = append(parts, describeOp(op)+" on "+s.Address.String())
		}
	}
	return strings.Join(parts, "; ")
}

func describeOp(op hcledit.Op) string {
	where := ""
	if len(op.Block) > 0 {
		where = strings.Join(op.Block, ".") + "."
	}
	switch op.Action {
	case hcledit.ActionSet:
		return "set " + where + op.Name + " = " + op.Value.String()
	case hcledit.ActionRemove:
		return "remove " + where + op.Name
	case hcledit.ActionSetTag:
		return "tag " + where + op.Name + " = " + op.Value.String()
	case hcledit.ActionAddBlock:
		return "add a " + where + op.Name + " block"
	case hcledit.ActionRemoveBlock:
		return "remove the " + where + op.Name + " block"
	}
	return op.Action
}

// ErrNoFix says a finding declares no fix.
var ErrNoFix = errors.New("the finding declares no fix")

// FromFinding reads the fix a finding's policy declared. ErrNoFix when it
// declared none; any other error is a malformed declaration.
func FromFinding(f checks.Finding) (Declared, error) {
	raw, ok := f.Metadata[MetadataKey]
	if !ok || raw == nil {
		return Declared{}, ErrNoFix
	}
	masked := false
	checks.MapStrings(raw, func(s string) string {
		masked = masked || strings.Contains(s, policy.SensitivePlaceholder)
		return s
	})
	if masked {
		// The pipeline masks the plan's sensitive values in policy metadata;
		// writing the placeholder would break the resource.
		return Declared{}, errors.New("metadata.fix holds a value the plan marks sensitive, masked in the finding: it is not written")
	}
	var objs []map[string]any
	switch x := normalise(raw).(type) {
	case map[string]any:
		objs = []map[string]any{x}
	case []any:
		for _, item := range x {
			m, ok := item.(map[string]any)
			if !ok {
				return Declared{}, fmt.Errorf("metadata.fix: each operation must be an object, got %T", item)
			}
			objs = append(objs, m)
		}
	default:
		return Declared{}, fmt.Errorf("metadata.fix must be an object or a list of objects, got %T", raw)
	}
	var d Declared
	for i, o := range objs {
		step, err := parseStep(o, f.Address)
		if err != nil {
			return Declared{}, fmt.Errorf("metadata.fix[%d]: %w", i, err)
		}
		d.Steps = append(d.Steps, step)
	}
	return d, nil
}

// known are the keys an operation object may have.
var known = []string{"address", "block", "set", "remove", "tags", "add_block", "remove_block"}

func parseStep(o map[string]any, def string) (Step, error) {
	var keys []string
	for k := range o {
		if !slices.Contains(known, k) {
			return Step{}, fmt.Errorf("unknown key %q (want %s)", k, strings.Join(known, ", "))
		}
		keys = append(keys, k)
	}
	addr := def
	if a, ok := o["address"].(string); ok && a != "" {
		addr = a
	}
	if addr == "" {
		return Step{}, errors.New("no address: the finding has none and the fix names none")
	}
	a, err := hcledit.ParseAddress(addr)
	if err != nil {
		return Step{}, err
	}
	block, err := blockPath(o["block"])
	if err != nil {
		return Step{}, err
	}
	for _, k := range []string{"set", "tags"} {
		if v, ok := o[k]; ok {
			if _, isMap := v.(map[string]any); !isMap {
				return Step{}, fmt.Errorf("%s must be an object", k)
			}
		}
	}
	var ops []hcledit.Op
	for _, name := range sortedKeys(o["set"]) {
		ops = append(ops, hcledit.Op{Action: hcledit.ActionSet, Block: block, Name: name, Value: hcledit.Value{JSON: o["set"].(map[string]any)[name]}})
	}
	if r, ok := o["remove"]; ok {
		list, ok := r.([]any)
		if !ok {
			return Step{}, errors.New("remove must be a list of attribute names")
		}
		for _, n := range list {
			s, ok := n.(string)
			if !ok {
				return Step{}, errors.New("remove must be a list of attribute names")
			}
			ops = append(ops, hcledit.Op{Action: hcledit.ActionRemove, Block: block, Name: s})
		}
	}
	for _, k := range sortedKeys(o["tags"]) {
		ops = append(ops, hcledit.Op{Action: hcledit.ActionSetTag, Block: block, Name: k, Value: hcledit.Value{JSON: o["tags"].(map[string]any)[k]}})
	}
	if ab, ok := o["add_block"]; ok {
		m, ok := ab.(map[string]any)
		typ, _ := m["type"].(string)
		if !ok || typ == "" {
			return Step{}, errors.New(`add_block must be {"type": T, "attributes": {...}}`)
		}
		attrs := map[string]hcledit.Value{}
		for _, k := range sortedKeys(m["attributes"]) {
			attrs[k] = hcledit.Value{JSON: m["attributes"].(map[string]any)[k]}
		}
		ops = append(ops, hcledit.Op{Action: hcledit.ActionAddBlock, Block: block, Name: typ, Attrs: attrs})
	}
	if rb, ok := o["remove_block"]; ok {
		typ, ok := rb.(string)
		if !ok || typ == "" {
			return Step{}, errors.New("remove_block must be a block type")
		}
		ops = append(ops, hcledit.Op{Action: hcledit.ActionRemoveBlock, Block: block, Name: typ})
	}
	if len(ops) == 0 {
		return Step{}, fmt.Errorf("no operation (keys %s)", strings.Join(keys, ", "))
	}
	return Step{Address: a, Ops: ops}, nil
}

func blockPath(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if x == "" {
			return nil, nil
		}
		return strings.Split(x, "."), nil
	case []any:
		var out []string
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("block must be a dotted path or a list of block types")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("block must be a dotted path or a list of block types")
}

// sortedKeys lists an object's keys in order; nil for anything else.
func sortedKeys(v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// normalise round-trips a metadata value through JSON so numbers are
// json.Number and every object is a map[string]any, whatever produced it.
func normalise(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return v
	}
	return out
}
