package hcledit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Actions of an Op.
const (
	ActionSet         = "set"
	ActionRemove      = "remove"
	ActionAddBlock    = "add_block"
	ActionRemoveBlock = "remove_block"
	ActionSetTag      = "set_tag"
)

// Op is one structural edit inside the block an address names.
type Op struct {
	Action string
	// Block is the path of nested block types inside the target, outermost
	// first (["server_side_encryption_configuration", "rule"]). Set, set_tag
	// and add_block create the blocks that are missing; remove and
	// remove_block need them to exist.
	Block []string
	// Name is the attribute (set, remove), the block type (add_block,
	// remove_block) or the tag key (set_tag).
	Name string
	// Value is what set and set_tag write.
	Value Value
	// Attrs are the attributes of the block add_block appends.
	Attrs map[string]Value
}

// Value is an attribute value: a JSON-shaped literal (string, bool, number,
// list, object; numbers as json.Number or float64), or, when Expr is set, an
// HCL expression such as aws_kms_key.logs.arn.
type Value struct {
	JSON any
	Expr string
}

// tokens renders the value.
func (v Value) tokens() (hclwrite.Tokens, error) {
	if v.Expr != "" {
		return exprTokens(v.Expr)
	}
	cv, err := toCty(v.JSON)
	if err != nil {
		return nil, err
	}
	return hclwrite.TokensForValue(cv), nil
}

// String renders the value as it would appear in the file.
func (v Value) String() string {
	t, err := v.tokens()
	if err != nil {
		return fmt.Sprintf("(invalid: %v)", err)
	}
	return strings.TrimSpace(string(t.Bytes()))
}

// exprTokens checks an HCL expression and returns its tokens.
func exprTokens(expr string) (hclwrite.Tokens, error) {
	if _, diags := hclsyntax.ParseExpression([]byte(expr), "expression", hcl.InitialPos); diags.HasErrors() {
		return nil, fmt.Errorf("expression %q: %s", expr, diags.Error())
	}
	src := "x = " + expr + "\n"
	f, diags := hclwrite.ParseConfig([]byte(src), "expression", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("expression %q: %s", expr, diags.Error())
	}
	attr := f.Body().GetAttribute("x")
	if attr == nil || len(f.Body().Attributes()) != 1 || len(f.Body().Blocks()) != 0 {
		return nil, fmt.Errorf("expression %q: not a single expression", expr)
	}
	return attr.Expr().BuildTokens(nil), nil
}

// Apply makes the edits on the block of the file src declaring target (an
// address within the file's own module) and returns the new file, formatted.
func Apply(src []byte, filename string, target Address, ops []Op) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("parsing %s: %s", filename, diags.Error())
	}
	blk := f.Body().FirstMatchingBlock(target.Kind, target.labels())
	if blk == nil {
		return nil, fmt.Errorf("%s: %w in %s", target.Local(), ErrNotFound, filename)
	}
	for _, op := range ops {
		if err := apply(blk.Body(), op); err != nil {
			return nil, fmt.Errorf("%s %s in %s: %w", op.Action, op.Name, target.Local(), err)
		}
	}
	out := hclwrite.Format(f.Bytes())
	if _, diags := hclsyntax.ParseConfig(out, filename, hcl.InitialPos); diags.HasErrors() {
		return nil, fmt.Errorf("the edit would not parse: %s", diags.Error())
	}
	return out, nil
}

func apply(body *hclwrite.Body, op Op) error {
	if !hclsyntax.ValidIdentifier(op.Name) && op.Action != ActionSetTag {
		return fmt.Errorf("%q is not a valid name", op.Name)
	}
	create := op.Action == ActionSet || op.Action == ActionSetTag || op.Action == ActionAddBlock
	body, err := nested(body, op.Block, create)
	if err != nil {
		return err
	}
	switch op.Action {
	case ActionSet:
		t, err := op.Value.tokens()
		if err != nil {
			return err
		}
		if body.FirstMatchingBlock(op.Name, nil) != nil {
			return fmt.Errorf("%s is a nested block here, not an attribute", op.Name)
		}
		body.SetAttributeRaw(op.Name, t)
	case ActionRemove:
		if body.GetAttribute(op.Name) == nil {
			return fmt.Errorf("no attribute %s to remove", op.Name)
		}
		body.RemoveAttribute(op.Name)
	case ActionAddBlock:
		nb := body.AppendNewBlock(op.Name, nil).Body()
		keys := make([]string, 0, len(op.Attrs))
		for k := range op.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !hclsyntax.ValidIdentifier(k) {
				return fmt.Errorf("%q is not a valid attribute name", k)
			}
			t, err := op.Attrs[k].tokens()
			if err != nil {
				return err
			}
			nb.SetAttributeRaw(k, t)
		}
	case ActionRemoveBlock:
		b := body.FirstMatchingBlock(op.Name, nil)
		if b == nil {
			return fmt.Errorf("no %s block to remove", op.Name)
		}
		body.RemoveBlock(b)
	case ActionSetTag:
		return setTag(body, op.Name, op.Value)
	default:
		return fmt.Errorf("unknown action %q", op.Action)
	}
	return nil
}

// nested walks (and, when create is set, makes) the nested blocks of path.
func nested(body *hclwrite.Body, path []string, create bool) (*hclwrite.Body, error) {
	for _, typ := range path {
		if !hclsyntax.ValidIdentifier(typ) {
			return nil, fmt.Errorf("%q is not a valid block type", typ)
		}
		b := body.FirstMatchingBlock(typ, nil)
		if b == nil {
			if !create {
				return nil, fmt.Errorf("no %s block", typ)
			}
			if body.GetAttribute(typ) != nil {
				return nil, fmt.Errorf("%s is an attribute here, not a block", typ)
			}
			b = body.AppendNewBlock(typ, nil)
		}
		body = b.Body()
	}
	return body, nil
}

// setTag sets one key of the tags map: in a literal map it replaces or adds
// the entry, keeping the others as written; any other expression (merge(),
// a variable) is merged with the new entry.
func setTag(body *hclwrite.Body, key string, v Value) error {
	if key == "" {
		return fmt.Errorf("empty tag key")
	}
	vt, err := v.tokens()
	if err != nil {
		return err
	}
	value := strings.TrimSpace(string(vt.Bytes()))
	keyText := key
	if !hclsyntax.ValidIdentifier(key) {
		keyText = strings.TrimSpace(string(hclwrite.TokensForValue(cty.StringVal(key)).Bytes()))
	}
	attr := body.GetAttribute("tags")
	if attr == nil {
		t, err := exprTokens("{\n" + keyText + " = " + value + "\n}")
		if err != nil {
			return err
		}
		body.SetAttributeRaw("tags", t)
		return nil
	}
	text := strings.TrimSpace(string(attr.Expr().BuildTokens(nil).Bytes()))
	expr, diags := hclsyntax.ParseExpression([]byte(text), "tags", hcl.InitialPos)
	if diags.HasErrors() {
		return fmt.Errorf("reading tags: %s", diags.Error())
	}
	var out string
	if obj, ok := expr.(*hclsyntax.ObjectConsExpr); ok {
		out = rebuildMap(text, obj, key, keyText, value)
	} else {
		out = "merge(" + text + ", {\n" + keyText + " = " + value + "\n})"
	}
	t, err := exprTokens(out)
	if err != nil {
		return err
	}
	body.SetAttributeRaw("tags", t)
	return nil
}

// rebuildMap writes a literal map with key set to value.
func rebuildMap(text string, obj *hclsyntax.ObjectConsExpr, key, keyText, value string) string {
	var b strings.Builder
	b.WriteString("{\n")
	found := false
	for _, item := range obj.Items {
		k := text[item.KeyExpr.Range().Start.Byte:item.KeyExpr.Range().End.Byte]
		val := text[item.ValueExpr.Range().Start.Byte:item.ValueExpr.Range().End.Byte]
		if kv, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && kv.Type() == cty.String && kv.IsKnown() && kv.AsString() == key {
			val, found = value, true
		}
		b.WriteString(k + " = " + val + "\n")
	}
	if !found {
		b.WriteString(keyText + " = " + value + "\n")
	}
	b.WriteString("}")
	return b.String()
}
