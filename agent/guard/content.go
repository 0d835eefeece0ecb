// Package guard holds the rules an agent's change must pass, enforced in code
// on every write and again on the final change: no new code execution or
// exfiltration path in the Terraform (external data sources, provisioners,
// new provider sources, module sources outside an allowlist, backend changes,
// file functions reaching out of the workspace), no secrets and no more than
// the maximum of changed lines in the diff, and, on the plan, no delete or
// replace unless allowed, no change outside the task's scope, and IAM
// changes flagged for a human.
package guard

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/infra-agent/infra-agent/agent/hcledit"
	"github.com/infra-agent/infra-agent/config"
)

// Violation is one rule a change breaks.
type Violation struct {
	Path string `json:"path"`
	Rule string `json:"rule"`
	// Detail says what was found; it never quotes a secret.
	Detail string `json:"detail"`
}

func (v Violation) Error() string { return v.Path + ": " + v.Rule + ": " + v.Detail }

// Rules a content check applies.
const (
	RuleExternalData = "external-data-source"
	RuleProvisioner  = "provisioner"
	RuleProvider     = "new-provider-source"
	RuleModuleSource = "module-source"
	RuleBackend      = "backend-change"
	RuleFileFunction = "file-function"
	RuleUnparsable   = "unparsable"
	RuleJSONConfig   = "json-configuration"
	RuleRemoved      = "removed-block"
)

// refusedDataSources run programs or read state or URLs at plan time.
var refusedDataSources = []string{"external", "http", "terraform_remote_state"}

// fileFunctions read files on the machine that runs terraform.
var fileFunctions = []string{"file", "filebase64", "templatefile", "fileset", "fileexists", "filemd5", "filesha1", "filesha256", "filesha512", "filebase64sha256", "filebase64sha512"}

// inventory is what a Terraform file contains that the rules look at. Items
// are keyed so that moving a block between files of one module is no change.
type inventory struct {
	risky     []string          // external data sources, provisioners, file calls: "dir|what"
	providers []string          // provider source addresses
	modules   []string          // module sources
	backends  map[string]string // dir → backend/cloud block text
	blocks    []string          // resources and module calls: "dir|address"
	moved     []string          // moved blocks' from addresses: "dir|address"
}

// Content checks Terraform file changes against the repository as it was
// before the agent started.
type Content struct {
	agent  config.AgentConfig
	before map[string]inventory // by file
}

// NewContent takes the workspace's Terraform files as they are before any
// change (repository-relative path → content).
func NewContent(agent config.AgentConfig, files map[string][]byte) *Content {
	c := &Content{agent: agent, before: map[string]inventory{}}
	for p, src := range files {
		inv, _ := scan(p, src)
		c.before[p] = inv
	}
	return c
}

// Check returns the rules a change of the files breaks (path → new content,
// nil for a deleted file), compared with the original repository. Files that
// are not Terraform configuration pass.
func (c *Content) Check(changed map[string][]byte) []Violation {
	var out []Violation
	after := map[string]inventory{}
	for p, inv := range c.before {
		after[p] = inv
	}
	for p, src := range changed {
		delete(after, p)
		if src == nil || !isConfig(p) {
			continue
		}
		if strings.HasSuffix(p, ".json") {
			out = append(out, Violation{Path: p, Rule: RuleJSONConfig, Detail: "the agent does not write JSON configuration; edit the .tf files"})
			continue
		}
		inv, err := scan(p, src)
		if err != nil {
			out = append(out, Violation{Path: p, Rule: RuleUnparsable, Detail: err.Error()})
			continue
		}
		after[p] = inv
	}
	old, now := merge(c.before), merge(after)
	for _, item := range now.risky {
		if !slices.Contains(old.risky, item) {
			p, what, _ := strings.Cut(item, "|")
			rule := RuleProvisioner
			switch {
			case strings.HasPrefix(what, "data."):
				rule = RuleExternalData
			case strings.HasPrefix(what, "call "):
				rule = RuleFileFunction
			}
			out = append(out, Violation{Path: p, Rule: rule, Detail: what + " is refused: it runs, reads or sends something outside terraform's plan"})
		}
	}
	for _, src := range now.providers {
		// terraform_data and friends come with terraform itself.
		if !slices.Contains(old.providers, src) && src != builtinProvider {
			out = append(out, Violation{Path: fileOf(changed, after, src, func(i inventory) []string { return i.providers }), Rule: RuleProvider,
				Detail: fmt.Sprintf("provider %s is not used in this repository yet; a new provider is a human's decision", src)})
		}
	}
	for _, src := range now.modules {
		if !slices.Contains(old.modules, src) && !c.moduleAllowed(src) {
			out = append(out, Violation{Path: fileOf(changed, after, src, func(i inventory) []string { return i.modules }), Rule: RuleModuleSource,
				Detail: fmt.Sprintf("module source %q is neither local, already used here, nor in agent.module_sources", src)})
		}
	}
	for dir, text := range now.backends {
		if old.backends[dir] != text {
			out = append(out, Violation{Path: dir, Rule: RuleBackend, Detail: "the backend (or cloud) configuration may not change"})
		}
	}
	for _, b := range old.blocks {
		if slices.Contains(now.blocks, b) || slices.Contains(now.moved, b) || c.agent.AllowDestroy {
			continue
		}
		dir, addr, _ := strings.Cut(b, "|")
		out = append(out, Violation{Path: dir, Rule: RuleRemoved,
			Detail: fmt.Sprintf("removing %s destroys what it manages; that needs agent.allow_destroy (or a moved block for a rename)", addr)})
	}
	for dir := range old.backends {
		if _, ok := now.backends[dir]; !ok {
			out = append(out, Violation{Path: dir, Rule: RuleBackend, Detail: "the backend (or cloud) configuration may not be removed"})
		}
	}
	sortViolations(out)
	return slices.Compact(out)
}

func sortViolations(vs []Violation) {
	slices.SortFunc(vs, func(a, b Violation) int { return strings.Compare(a.Path+a.Rule+a.Detail, b.Path+b.Rule+b.Detail) })
}

// moduleAllowed: local sources inside the repository, or the allowlist.
func (c *Content) moduleAllowed(src string) bool {
	if strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") {
		return true
	}
	return config.MatchAnyGlob(c.agent.ModuleSources, src)
}

// fileOf names a changed file that holds item, for the violation.
func fileOf(changed map[string][]byte, after map[string]inventory, item string, list func(inventory) []string) string {
	for p := range changed {
		if slices.Contains(list(after[p]), item) {
			return p
		}
	}
	return ""
}

func merge(files map[string]inventory) inventory {
	out := inventory{backends: map[string]string{}}
	for _, inv := range files {
		out.risky = append(out.risky, inv.risky...)
		out.providers = append(out.providers, inv.providers...)
		out.modules = append(out.modules, inv.modules...)
		out.blocks = append(out.blocks, inv.blocks...)
		out.moved = append(out.moved, inv.moved...)
		for d, t := range inv.backends {
			out.backends[d] += t
		}
	}
	return out
}

// isConfig reports whether a path is Terraform configuration.
func isConfig(p string) bool {
	return strings.HasSuffix(p, ".tf") || strings.HasSuffix(p, ".tf.json")
}

// scan parses one file and lists what the rules look at.
func scan(p string, src []byte) (inventory, error) {
	inv := inventory{backends: map[string]string{}}
	if !isConfig(p) || strings.HasSuffix(p, ".json") {
		return inv, nil
	}
	f, diags := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
	if diags.HasErrors() {
		return inv, fmt.Errorf("the file does not parse: %s", diags.Error())
	}
	dir := path.Dir(p)
	body := f.Body.(*hclsyntax.Body)
	for _, b := range body.Blocks {
		switch b.Type {
		case "data":
			if len(b.Labels) == 2 && slices.Contains(refusedDataSources, b.Labels[0]) {
				inv.risky = append(inv.risky, p+"|data."+b.Labels[0]+"."+b.Labels[1])
			}
			fallthrough
		case "resource":
			if len(b.Labels) == 2 {
				if b.Type == "resource" {
					inv.blocks = append(inv.blocks, dir+"|"+b.Labels[0]+"."+b.Labels[1])
				}
				inv.providers = append(inv.providers, impliedProvider(b))
				for _, nb := range b.Body.Blocks {
					if nb.Type == "provisioner" && len(nb.Labels) == 1 {
						inv.risky = append(inv.risky, p+"|provisioner "+nb.Labels[0]+" in "+b.Labels[0]+"."+b.Labels[1])
					}
				}
			}
		case "provider":
			if len(b.Labels) == 1 {
				inv.providers = append(inv.providers, normaliseProvider(b.Labels[0]))
			}
		case "module":
			if len(b.Labels) == 1 {
				inv.blocks = append(inv.blocks, dir+"|module."+b.Labels[0])
			}
			if v, ok := literal(b.Body.Attributes["source"]); ok {
				inv.modules = append(inv.modules, v)
			}
		case "moved":
			if attr, ok := b.Body.Attributes["from"]; ok {
				if trav, diags := hcl.AbsTraversalForExpr(attr.Expr); !diags.HasErrors() {
					inv.moved = append(inv.moved, dir+"|"+strings.Join(hcledit.Names(trav), "."))
				}
			}
		case "terraform":
			scanTerraform(b, src, dir, &inv)
		}
	}
	inv.risky = append(inv.risky, fileCalls(p, body)...)
	return inv, nil
}

// scanTerraform reads required_providers and the backend of a terraform block.
func scanTerraform(b *hclsyntax.Block, src []byte, dir string, inv *inventory) {
	for _, nb := range b.Body.Blocks {
		switch nb.Type {
		case "required_providers":
			for name, attr := range nb.Body.Attributes {
				source := normaliseProvider(name)
				if obj, ok := attr.Expr.(*hclsyntax.ObjectConsExpr); ok {
					for _, item := range obj.Items {
						k, kd := item.KeyExpr.Value(nil)
						v, vd := item.ValueExpr.Value(nil)
						if !kd.HasErrors() && !vd.HasErrors() && k.Type() == cty.String && k.AsString() == "source" && v.Type() == cty.String {
							source = normaliseProvider(v.AsString())
						}
					}
				}
				inv.providers = append(inv.providers, source)
			}
		case "backend", "cloud":
			r := nb.Range()
			inv.backends[dir] += strings.Join(strings.Fields(string(src[r.Start.Byte:r.End.Byte])), " ")
		}
	}
}

// builtinProvider is terraform's own provider (terraform_data).
const builtinProvider = "terraform.io/builtin/terraform"

// impliedProvider is the provider a resource or data block uses: its
// provider meta-argument's name, or its type's prefix.
func impliedProvider(b *hclsyntax.Block) string {
	if attr, ok := b.Body.Attributes["provider"]; ok {
		if trav, diags := hcl.AbsTraversalForExpr(attr.Expr); !diags.HasErrors() && len(trav) > 0 {
			return normaliseProvider(trav.RootName())
		}
	}
	name, _, _ := strings.Cut(b.Labels[0], "_")
	if b.Labels[0] == "terraform_data" || b.Labels[0] == "terraform_remote_state" {
		return builtinProvider
	}
	return normaliseProvider(name)
}

// normaliseProvider turns a local name or a short source into a full source
// address: aws → registry.terraform.io/hashicorp/aws.
func normaliseProvider(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch strings.Count(s, "/") {
	case 0:
		if s == "terraform" {
			return builtinProvider
		}
		return "registry.terraform.io/hashicorp/" + s
	case 1:
		return "registry.terraform.io/" + s
	}
	return s
}

func literal(attr *hclsyntax.Attribute) (string, bool) {
	if attr == nil {
		return "", false
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// fileCalls lists the calls of file-reading functions whose path is not a
// literal inside the module (a plain relative path, or one under
// path.module), keyed by the call's text.
func fileCalls(p string, body *hclsyntax.Body) []string {
	var out []string
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || !slices.Contains(fileFunctions, call.Name) {
			return nil
		}
		if len(call.Args) > 0 && safePathArg(call.Args[0]) {
			return nil
		}
		out = append(out, p+"|call "+call.Name+"()")
		return nil
	})
	return out
}

// safePathArg accepts "relative/path" and "${path.module}/relative/path".
func safePathArg(e hclsyntax.Expression) bool {
	var text string
	switch x := e.(type) {
	case *hclsyntax.TemplateExpr:
		for i, part := range x.Parts {
			switch pe := part.(type) {
			case *hclsyntax.LiteralValueExpr:
				if pe.Val.Type() != cty.String {
					return false
				}
				text += pe.Val.AsString()
			case *hclsyntax.ScopeTraversalExpr:
				if i != 0 || len(pe.Traversal) != 2 || pe.Traversal.RootName() != "path" {
					return false
				}
				text += "."
			default:
				return false
			}
		}
	case *hclsyntax.LiteralValueExpr:
		if x.Val.Type() != cty.String {
			return false
		}
		text = x.Val.AsString()
	default:
		return false
	}
	if text == "" || path.IsAbs(text) || strings.HasPrefix(text, "~") || strings.Contains(text, "\\") {
		return false
	}
	for _, part := range strings.Split(text, "/") {
		if part == ".." {
			return false
		}
	}
	return true
}
