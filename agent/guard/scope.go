package guard

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/infra-agent/infra-agent/agent/hcledit"
)

// Scope is, per root module, the configuration addresses a task is about:
// resources, data sources and module calls (a module call covers everything
// in it).
type Scope map[string][]string

// Covers reports whether a planned change at an instance address is in the
// root's scope.
func (s Scope) Covers(root, instance string) bool {
	a, err := hcledit.ParseAddress(instance)
	if err != nil {
		return false
	}
	addr := a.String()
	for _, in := range s[root] {
		if addr == in || strings.HasPrefix(addr, in+".") && strings.HasPrefix(in, "module.") && isModuleCall(in) {
			return true
		}
	}
	return false
}

// isModuleCall reports whether a configuration address ends at a module call.
func isModuleCall(addr string) bool {
	a, err := hcledit.ParseAddress(addr)
	return err == nil && a.Kind == hcledit.KindModule
}

// Target is something a task is about, in a root: an address, or a
// repository file and line whose enclosing block is meant.
type Target struct {
	Root    string
	Address string
	File    string
	Line    int
}

// BuildScope resolves the targets and the blocks the change edited into
// addresses per root, and widens them by one reference hop in each
// direction, read from the configuration as it is now: a fix may change what
// a target refers to (its KMS key) and what refers to it (its public access
// block).
func BuildScope(repoDir string, roots []string, targets []Target, changed []FileDiff) Scope {
	s := Scope{}
	for _, root := range roots {
		mods := moduleCalls(repoDir, root)
		blocks := rootBlocks(repoDir, root)
		var direct []string
		for _, t := range targets {
			if t.Root != root && t.Root != "" {
				continue
			}
			if t.Address != "" {
				if a, err := hcledit.ParseAddress(t.Address); err == nil {
					direct = append(direct, a.String())
				}
				continue
			}
			if t.File != "" {
				direct = append(direct, enclosing(repoDir, t.File, t.Line, mods)...)
			}
		}
		for _, c := range changed {
			direct = append(direct, editedBlocks(c, mods)...)
		}
		set := append([]string(nil), direct...)
		for addr, refs := range blocks {
			for _, d := range direct {
				if addr == d {
					set = append(set, refs...)
				}
				if slices.Contains(refs, d) {
					set = append(set, addr)
				}
			}
		}
		slices.Sort(set)
		s[root] = slices.Compact(set)
	}
	return s
}

// moduleCalls maps each module directory reached from the root through local
// sources to the address prefixes that call it ("" for the root itself).
func moduleCalls(repoDir, root string) map[string][]string {
	out := map[string][]string{path.Clean(root): {""}}
	var walk func(dir, prefix string, depth int)
	walk = func(dir, prefix string, depth int) {
		if depth > 5 {
			return
		}
		for _, f := range configFiles(repoDir, dir) {
			for _, b := range f.Blocks {
				if b.Type != "module" || len(b.Labels) != 1 {
					continue
				}
				src, ok := literal(b.Body.Attributes["source"])
				if !ok || !(strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../")) {
					continue
				}
				sub := path.Join(dir, src)
				p := prefix + "module." + b.Labels[0]
				out[sub] = append(out[sub], p+".")
				walk(sub, p+".", depth+1)
			}
		}
	}
	walk(path.Clean(root), "", 0)
	return out
}

// configFiles parses the .tf files of a directory; unparsable ones are
// skipped.
func configFiles(repoDir, dir string) []*hclsyntax.Body {
	entries, err := os.ReadDir(filepath.Join(repoDir, filepath.FromSlash(dir)))
	if err != nil {
		return nil
	}
	var out []*hclsyntax.Body
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(repoDir, filepath.FromSlash(dir), e.Name()))
		if err != nil {
			continue
		}
		if f, diags := hclsyntax.ParseConfig(src, e.Name(), hcl.InitialPos); !diags.HasErrors() {
			out = append(out, f.Body.(*hclsyntax.Body))
		}
	}
	return out
}

// blockAddress is the address of a top-level block, or "".
func blockAddress(b *hclsyntax.Block) string {
	switch {
	case b.Type == "resource" && len(b.Labels) == 2:
		return b.Labels[0] + "." + b.Labels[1]
	case b.Type == "data" && len(b.Labels) == 2:
		return "data." + b.Labels[0] + "." + b.Labels[1]
	case b.Type == "module" && len(b.Labels) == 1:
		return "module." + b.Labels[0]
	}
	return ""
}

// rootBlocks maps each block of the root module to the blocks it refers to.
func rootBlocks(repoDir, root string) map[string][]string {
	out := map[string][]string{}
	for _, body := range configFiles(repoDir, root) {
		for _, b := range body.Blocks {
			addr := blockAddress(b)
			if addr == "" {
				continue
			}
			out[addr] = references(b.Body)
		}
	}
	return out
}

// references lists the resources, data sources and module calls a body
// refers to.
func references(body *hclsyntax.Body) []string {
	var out []string
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		st, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok {
			return nil
		}
		names := hcledit.Names(st.Traversal)
		switch {
		case len(names) >= 2 && names[0] == "module":
			out = append(out, "module."+names[1])
		case len(names) >= 3 && names[0] == "data":
			out = append(out, "data."+names[1]+"."+names[2])
		case len(names) >= 2 && !slices.Contains([]string{"var", "local", "each", "count", "path", "terraform", "self"}, names[0]):
			out = append(out, names[0]+"."+names[1])
		}
		return nil
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// enclosing returns the addresses of the block holding a file's line, as
// seen from the root (through the module calls reaching its directory).
func enclosing(repoDir, file string, line int, mods map[string][]string) []string {
	src, err := os.ReadFile(filepath.Join(repoDir, filepath.FromSlash(file)))
	if err != nil {
		return nil
	}
	f, diags := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		return nil
	}
	var out []string
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		r := b.Range()
		if addr := blockAddress(b); addr != "" && line >= r.Start.Line && line <= r.End.Line {
			for _, prefix := range mods[path.Dir(file)] {
				out = append(out, prefix+addr)
			}
		}
	}
	return out
}

// editedBlocks returns the addresses of the blocks a file change adds,
// removes or changes, as seen from the root.
func editedBlocks(c FileDiff, mods map[string][]string) []string {
	prefixes, ok := mods[path.Dir(c.Path)]
	if !ok || !strings.HasSuffix(c.Path, ".tf") {
		return nil
	}
	before, after := blockTexts(c.Path, c.Before), blockTexts(c.Path, c.After)
	var out []string
	for addr, text := range after {
		if before[addr] != text {
			out = append(out, addr)
		}
	}
	for addr := range before {
		if _, ok := after[addr]; !ok {
			out = append(out, addr)
		}
	}
	var full []string
	for _, a := range out {
		for _, p := range prefixes {
			full = append(full, p+a)
		}
	}
	return full
}

// blockTexts maps each addressable block of a file to its normalised text.
func blockTexts(name string, src []byte) map[string]string {
	out := map[string]string{}
	if src == nil {
		return out
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return out
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if addr := blockAddress(b); addr != "" {
			r := b.Range()
			out[addr] = strings.Join(strings.Fields(string(src[r.Start.Byte:r.End.Byte])), " ")
		}
	}
	return out
}

// EditedBlocks lists the addresses, within their file's module, of the
// blocks a change adds, removes or changes.
func EditedBlocks(c FileDiff) []string {
	if !strings.HasSuffix(c.Path, ".tf") {
		return nil
	}
	return editedBlocks(c, map[string][]string{path.Dir(c.Path): {""}})
}
