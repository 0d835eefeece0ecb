// Package hcledit makes structural edits to Terraform configuration with
// hclwrite: set or remove an attribute, add or remove a nested block, set a
// tag, on the block a resource address names — following local module
// sources from a root module, so module.net.aws_s3_bucket.logs is edited in
// the module's own file. Comments and formatting around the edit are kept;
// string values are escaped, so a value never becomes an interpolation.
package hcledit

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Block kinds an address can name.
const (
	KindResource = "resource"
	KindData     = "data"
	KindModule   = "module"
)

// Address is a configuration address with instance keys dropped:
// module.net["a"].aws_s3_bucket.logs[0] has Modules [net], Kind resource,
// Type aws_s3_bucket, Name logs. A module call (module.net) has Kind module
// and Name net.
type Address struct {
	Modules []string
	Kind    string
	Type    string
	Name    string
}

// String renders the configuration address.
func (a Address) String() string {
	var b strings.Builder
	for _, m := range a.Modules {
		b.WriteString("module." + m + ".")
	}
	switch a.Kind {
	case KindModule:
		b.WriteString("module." + a.Name)
	case KindData:
		b.WriteString("data." + a.Type + "." + a.Name)
	default:
		b.WriteString(a.Type + "." + a.Name)
	}
	return b.String()
}

// Local is the address within its own module (no module path).
func (a Address) Local() Address { return Address{Kind: a.Kind, Type: a.Type, Name: a.Name} }

// labels are the block's header labels.
func (a Address) labels() []string {
	if a.Kind == KindModule {
		return []string{a.Name}
	}
	return []string{a.Type, a.Name}
}

// Names returns the names of a traversal without its index steps:
// module.a["x"].aws_s3_bucket.b[0] → [module a aws_s3_bucket b]. Instance
// keys do not change which block declares an address.
func Names(t hcl.Traversal) []string {
	var names []string
	for _, step := range t {
		switch st := step.(type) {
		case hcl.TraverseRoot:
			names = append(names, st.Name)
		case hcl.TraverseAttr:
			names = append(names, st.Name)
		}
	}
	return names
}

// ParseAddress parses a resource, data source or module call address as
// terraform writes it in plans and messages.
func ParseAddress(s string) (Address, error) {
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(strings.TrimSpace(s)), "address", hcl.InitialPos)
	if diags.HasErrors() {
		return Address{}, fmt.Errorf("address %q: %s", s, diags.Error())
	}
	names := Names(trav)
	var a Address
	for len(names) >= 2 && names[0] == "module" {
		a.Modules = append(a.Modules, names[1])
		names = names[2:]
	}
	switch {
	case len(names) == 0 && len(a.Modules) > 0:
		a.Kind, a.Name = KindModule, a.Modules[len(a.Modules)-1]
		a.Modules = a.Modules[:len(a.Modules)-1]
	case len(names) == 3 && names[0] == "data":
		a.Kind, a.Type, a.Name = KindData, names[1], names[2]
	case len(names) == 2 && names[0] != "data" && names[0] != "module" && names[0] != "var" && names[0] != "local":
		a.Kind, a.Type, a.Name = KindResource, names[0], names[1]
	default:
		return Address{}, fmt.Errorf("address %q: not a resource, data source or module call", s)
	}
	return a, nil
}
