package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// awsProvider serves the schemas of schemas.go.
type awsProvider struct{}

var _ provider.Provider = (*awsProvider)(nil)

func (p *awsProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName, resp.Version = "aws", version
}

func (p *awsProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	attrs := map[string]pschema.Attribute{}
	for name, a := range providerSchema {
		attrs[name] = pschema.StringAttribute{Optional: true, Sensitive: a.has(sensitive)}
	}
	resp.Schema = pschema.Schema{Attributes: attrs}
}

func (p *awsProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (p *awsProvider) Resources(context.Context) []func() resource.Resource {
	var out []func() resource.Resource
	for _, name := range sortedKeys(resourceSchemas) {
		out = append(out, func() resource.Resource { return &managed{name: name, schema: resourceSchemas[name]} })
	}
	return out
}

func (p *awsProvider) DataSources(context.Context) []func() datasource.DataSource {
	var out []func() datasource.DataSource
	for _, name := range sortedKeys(dataSchemas) {
		out = append(out, func() datasource.DataSource { return &dataSource{name: name, schema: dataSchemas[name]} })
	}
	return out
}

// managed is one managed resource type. Plans are the framework's own work
// from the schema; the operations only echo the configuration.
type managed struct {
	name   string
	schema block
}

func (r *managed) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = r.name
}

func (r *managed) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = resourceSchema(r.schema)
}

func (r *managed) Create(_ context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.State.Raw = r.fill(req.Plan.Raw, &resp.Diagnostics)
}

// Read keeps the state as it is: there is no real object to refresh from.
func (r *managed) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (r *managed) Update(_ context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = r.fill(req.Plan.Raw, &resp.Diagnostics)
}

// fill is the planned object with its computed values known.
func (r *managed) fill(plan tftypes.Value, diags *diag.Diagnostics) tftypes.Value {
	v, err := filled(plan, r.name, r.schema)
	if err != nil {
		diags.AddError("filling computed values", err.Error())
	}
	return v
}

func (r *managed) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// dataSource is one data source type: its computed attributes get stable
// placeholder values.
type dataSource struct {
	name   string
	schema block
}

func (d *dataSource) Metadata(_ context.Context, _ datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = d.name
}

func (d *dataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = dataSourceSchema(d.schema)
}

func (d *dataSource) Read(_ context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	v, err := filled(req.Config.Raw, d.name, d.schema)
	if err != nil {
		resp.Diagnostics.AddError("filling computed values", err.Error())
		return
	}
	resp.State.Raw = v
}

// filled returns v with unknown values, and null top-level computed
// attributes, replaced by placeholders: what a real provider would learn from
// the cloud.
func filled(v tftypes.Value, typeName string, schema block) (tftypes.Value, error) {
	return tftypes.Transform(v, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		top := ""
		if steps := p.Steps(); len(steps) == 1 {
			if name, ok := steps[0].(tftypes.AttributeName); ok {
				top = string(name)
			}
		}
		fill := !v.IsKnown() || v.IsNull() && top != "" && schema.attrs[top].has(computed)
		if !fill {
			return v, nil
		}
		switch t := v.Type(); {
		case t.Is(tftypes.String):
			return tftypes.NewValue(t, fmt.Sprintf("%s-%s", strings.TrimPrefix(typeName, "aws_"), top)), nil
		case t.Is(tftypes.Bool):
			return tftypes.NewValue(t, false), nil
		case t.Is(tftypes.Number):
			return tftypes.NewValue(t, 0), nil
		default:
			return tftypes.NewValue(t, nil), nil
		}
	})
}

func sortedKeys(m map[string]block) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
