package hcledit

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

// ErrNotFound says no block of the configuration declares an address.
var ErrNotFound = errors.New("not declared")

// Locate returns the repository-relative file that declares the address in
// the root module at rootDir (repository-relative), following the local
// sources of the module calls on the way. A module from a registry or a
// remote source cannot be edited in this repository: that is an error.
func Locate(repoDir, rootDir string, a Address) (string, error) {
	dir := path.Clean(rootDir)
	for _, m := range a.Modules {
		file, err := findBlock(repoDir, dir, Address{Kind: KindModule, Name: m})
		if err != nil {
			return "", fmt.Errorf("module.%s in %s: %w", m, dir, err)
		}
		src, err := moduleSource(repoDir, file, m)
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(src, "./") && !strings.HasPrefix(src, "../") {
			return "", fmt.Errorf("module.%s comes from %q, not from this repository: it cannot be edited here", m, src)
		}
		next := path.Join(dir, src)
		if next == ".." || strings.HasPrefix(next, "../") {
			return "", fmt.Errorf("module.%s source %q leaves the repository", m, src)
		}
		dir = next
	}
	return findBlock(repoDir, dir, a.Local())
}

// findBlock returns the file of dir that declares the block.
func findBlock(repoDir, dir string, a Address) (string, error) {
	entries, err := os.ReadDir(filepath.Join(repoDir, filepath.FromSlash(dir)))
	if err != nil {
		return "", fmt.Errorf("reading module directory %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && (strings.HasSuffix(e.Name(), ".tf") || strings.HasSuffix(e.Name(), ".tf.json")) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, name := range names {
		rel := path.Join(dir, name)
		src, err := os.ReadFile(filepath.Join(repoDir, filepath.FromSlash(rel)))
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", rel, err)
		}
		if strings.HasSuffix(name, ".tf.json") {
			if strings.Contains(string(src), `"`+a.Name+`"`) && declaresJSON(src, a) {
				return "", fmt.Errorf("%s is declared in %s: JSON configuration is not edited structurally", a, rel)
			}
			continue
		}
		f, diags := hclsyntax.ParseConfig(src, rel, hcl.InitialPos)
		if diags.HasErrors() {
			continue // terraform validate reports it; another file may declare the block
		}
		if findSyntaxBlock(f.Body.(*hclsyntax.Body), a) != nil {
			return rel, nil
		}
	}
	return "", fmt.Errorf("%s: %w in %s", a, ErrNotFound, dir)
}

// declaresJSON reports whether a .tf.json file declares the block.
func declaresJSON(src []byte, a Address) bool {
	f, diags := hcljson.Parse(src, "config.tf.json")
	if diags.HasErrors() {
		return false
	}
	content, _, _ := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: KindResource, LabelNames: []string{"type", "name"}},
		{Type: KindData, LabelNames: []string{"type", "name"}},
		{Type: KindModule, LabelNames: []string{"name"}},
	}})
	for _, b := range content.Blocks {
		if b.Type == a.Kind && slices.Equal(b.Labels, a.labels()) {
			return true
		}
	}
	return false
}

// findSyntaxBlock returns the top-level block the address names.
func findSyntaxBlock(body *hclsyntax.Body, a Address) *hclsyntax.Block {
	for _, b := range body.Blocks {
		if b.Type == a.Kind && slices.Equal(b.Labels, a.labels()) {
			return b
		}
	}
	return nil
}

// moduleSource returns the literal source of a module call.
func moduleSource(repoDir, file, name string) (string, error) {
	src, err := os.ReadFile(filepath.Join(repoDir, filepath.FromSlash(file)))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", file, err)
	}
	f, diags := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		return "", fmt.Errorf("parsing %s: %s", file, diags.Error())
	}
	b := findSyntaxBlock(f.Body.(*hclsyntax.Body), Address{Kind: KindModule, Name: name})
	attr, ok := b.Body.Attributes["source"]
	if !ok {
		return "", fmt.Errorf("module.%s in %s has no source", name, file)
	}
	v, vd := attr.Expr.Value(nil)
	if vd.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", fmt.Errorf("module.%s in %s: the source is not a plain string", name, file)
	}
	return v.AsString(), nil
}
