package main

import (
	fwattr "github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// resourceSchema turns a table entry into a managed resource schema.
func resourceSchema(b block) rschema.Schema {
	nested := resourceBlock(b)
	return rschema.Schema{Attributes: nested.Attributes, Blocks: nested.Blocks}
}

func resourceBlock(b block) rschema.NestedBlockObject {
	out := rschema.NestedBlockObject{Attributes: map[string]rschema.Attribute{}, Blocks: map[string]rschema.Block{}}
	for name, a := range b.attrs {
		out.Attributes[name] = resourceAttr(a)
	}
	for name, nb := range b.blocks {
		out.Blocks[name] = rschema.ListNestedBlock{NestedObject: resourceBlock(nb)}
	}
	return out
}

func resourceAttr(a attr) rschema.Attribute {
	req, comp := a.has(required), a.has(computed)
	opt, sens := !req && !comp, a.has(sensitive)
	switch a.kind {
	case boolean:
		s := rschema.BoolAttribute{Required: req, Optional: opt, Computed: comp, Sensitive: sens}
		if a.has(forceNew) {
			s.PlanModifiers = []planmodifier.Bool{boolplanmodifier.RequiresReplace()}
		}
		return s
	case num:
		s := rschema.Int64Attribute{Required: req, Optional: opt, Computed: comp, Sensitive: sens}
		if a.has(forceNew) {
			s.PlanModifiers = []planmodifier.Int64{int64planmodifier.RequiresReplace()}
		}
		return s
	case strList:
		s := rschema.ListAttribute{ElementType: types.StringType, Required: req, Optional: opt, Computed: comp, Sensitive: sens}
		if a.has(forceNew) {
			s.PlanModifiers = []planmodifier.List{listplanmodifier.RequiresReplace()}
		}
		return s
	case strMap:
		return rschema.MapAttribute{ElementType: types.StringType, Required: req, Optional: opt, Computed: comp, Sensitive: sens}
	default:
		s := rschema.StringAttribute{Required: req, Optional: opt, Computed: comp, Sensitive: sens}
		if a.has(forceNew) {
			s.PlanModifiers = append(s.PlanModifiers, stringplanmodifier.RequiresReplace())
		}
		if comp {
			// An update keeps the computed id and arn, as the real
			// provider does, so plans show only what changes.
			s.PlanModifiers = append(s.PlanModifiers, stringplanmodifier.UseStateForUnknown())
		}
		return s
	}
}

// dataSourceSchema turns a table entry into a data source schema.
func dataSourceSchema(b block) dschema.Schema {
	nested := dataBlock(b)
	return dschema.Schema{Attributes: nested.Attributes, Blocks: nested.Blocks}
}

func dataBlock(b block) dschema.NestedBlockObject {
	out := dschema.NestedBlockObject{Attributes: map[string]dschema.Attribute{}, Blocks: map[string]dschema.Block{}}
	for name, a := range b.attrs {
		req, comp := a.has(required), a.has(computed)
		opt := !req && !comp
		var elem fwattr.Type = types.StringType
		switch a.kind {
		case boolean:
			out.Attributes[name] = dschema.BoolAttribute{Required: req, Optional: opt, Computed: comp}
		case num:
			out.Attributes[name] = dschema.Int64Attribute{Required: req, Optional: opt, Computed: comp}
		case strList:
			out.Attributes[name] = dschema.ListAttribute{ElementType: elem, Required: req, Optional: opt, Computed: comp}
		case strMap:
			out.Attributes[name] = dschema.MapAttribute{ElementType: elem, Required: req, Optional: opt, Computed: comp}
		default:
			out.Attributes[name] = dschema.StringAttribute{Required: req, Optional: opt, Computed: comp}
		}
	}
	for name, nb := range b.blocks {
		out.Blocks[name] = dschema.ListNestedBlock{NestedObject: dataBlock(nb)}
	}
	return out
}
