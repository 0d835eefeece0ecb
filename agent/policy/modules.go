package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// block is one top-level block of a Terraform configuration file, with where
// it is declared.
type block struct {
	Kind string
	Type string // resource and data types; empty for the other kinds
	Name string
	File string // repository-relative, forward slashes
	Line int    // the line of the block header
	// Source is a module block's source when it is a literal string.
	Source string
}

// Address is the block's configuration address within its module.
func (b block) Address() string {
	return address{Kind: b.Kind, Type: b.Type, Name: b.Name}.String()
}

// blockSchema selects the top-level blocks findings can point at.
func blockSchema() *hcl.BodySchema {
	return &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: kindResource, LabelNames: []string{"type", "name"}},
		{Type: kindData, LabelNames: []string{"type", "name"}},
		{Type: kindModule, LabelNames: []string{"name"}},
		{Type: kindProvider, LabelNames: []string{"name"}},
		{Type: kindVariable, LabelNames: []string{"name"}},
	}}
}

// parseFile parses one configuration file. name is the file's name on disk
// (its extension says the syntax), rel its repository-relative path, used in
// diagnostics.
func parseFile(src []byte, name, rel string) (*hcl.File, error) {
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(name, ".json") {
		f, diags = p.ParseJSON(src, rel)
	} else {
		f, diags = p.ParseHCL(src, rel)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("parsing %s: %w", rel, diags)
	}
	return f, nil
}

// fileBlocks lists the top-level blocks of a parsed file; rel is its
// repository-relative path.
func fileBlocks(f *hcl.File, rel string) []block {
	// Blocks with the wrong number of labels are terraform validate's
	// business; the locator works with the ones that are well formed.
	content, _, _ := f.Body.PartialContent(blockSchema())
	blocks := make([]block, 0, len(content.Blocks))
	for _, hb := range content.Blocks {
		b := block{Kind: hb.Type, File: rel, Line: hb.DefRange.Start.Line}
		if len(hb.Labels) == 2 {
			b.Type, b.Name = hb.Labels[0], hb.Labels[1]
		} else {
			b.Name = hb.Labels[0]
		}
		if b.Kind == kindModule {
			b.Source = literalSource(hb.Body)
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// literalSource returns a module block's source when it is a plain string.
func literalSource(body hcl.Body) string {
	content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "source"}}})
	attr, ok := content.Attributes["source"]
	if !ok {
		return ""
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// outside reports whether a repository-relative path leaves the repository.
func outside(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel)
}

// localSource reports whether a module source (with forward slashes) is a
// path on disk, which is how Terraform tells local modules from registry and
// remote ones.
func localSource(source string) bool {
	return strings.HasPrefix(source, "./") || strings.HasPrefix(source, "../")
}

// moduleTree finds the blocks that declare plan addresses, following local
// module sources from a root. It caches each directory it reads; it is used
// by one CheckPlan call at a time.
type moduleTree struct {
	root Root
	dirs map[string][]block
}

func newModuleTree(root Root) *moduleTree {
	return &moduleTree{root: root, dirs: make(map[string][]block)}
}

// blocks lists the blocks of every configuration file in dir. A module
// directory that is not there, or a file that does not parse, declares
// nothing: findings are then left without a place, and terraform's own
// steps report the configuration's problems.
func (t *moduleTree) blocks(dir, rel string) ([]block, error) {
	if bs, ok := t.dirs[dir]; ok {
		return bs, nil
	}
	names, err := configFiles(dir, true)
	if errors.Is(err, fs.ErrNotExist) {
		t.dirs[dir] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var all []block
	for _, name := range names {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading module file: %w", err)
		}
		fileRel := joinRel(rel, name)
		f, err := parseFile(src, name, fileRel)
		if err != nil {
			continue
		}
		all = append(all, fileBlocks(f, fileRel)...)
	}
	t.dirs[dir] = all
	return all, nil
}

// locate returns the block that declares a, or the closest module block on
// the way to it (a remote module, or a module whose files do not declare it).
// ok is false when not even the first module call is found.
func (t *moduleTree) locate(a address) (block, bool, error) {
	dir, rel := t.root.Dir, t.root.Rel
	var via block
	found := false
	for _, name := range a.Modules {
		bs, err := t.blocks(dir, rel)
		if err != nil {
			return block{}, false, err
		}
		call, ok := find(bs, address{Kind: kindModule, Name: name})
		if !ok {
			return via, found, nil
		}
		via, found = call, true
		src := strings.ReplaceAll(call.Source, `\`, "/")
		if !localSource(src) || outside(joinRel(rel, src)) {
			// A remote module, or one outside the repository: its files
			// cannot be annotated, its call can.
			return via, found, nil
		}
		dir, rel = filepath.Join(dir, filepath.FromSlash(src)), joinRel(rel, src)
	}
	bs, err := t.blocks(dir, rel)
	if err != nil {
		return block{}, false, err
	}
	if b, ok := find(bs, address{Kind: a.Kind, Type: a.Type, Name: a.Name}); ok {
		return b, true, nil
	}
	return via, found, nil
}

// find returns the block with a's kind, type and name (a's module path is
// ignored).
func find(bs []block, a address) (block, bool) {
	for _, b := range bs {
		if b.Kind == a.Kind && b.Type == a.Type && b.Name == a.Name {
			return b, true
		}
	}
	return block{}, false
}

// configFiles lists the Terraform files of dir, sorted: *.tf, plus *.tf.json
// when withJSON (conftest reads *.tf.json as plain JSON, not as HCL).
func configFiles(dir string, withJSON bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing configuration files: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".tf") || withJSON && strings.HasSuffix(n, ".tf.json") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// joinRel joins repository-relative path elements with forward slashes.
func joinRel(elem ...string) string {
	return path.Clean(path.Join(elem...))
}
