package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/infra-agent/infra-agent/config"
)

// Root is one root module the pipeline runs on.
type Root struct {
	// Dir is relative to the repository, with forward slashes; "." is the
	// repository's top directory.
	Dir string
	// VarFiles are passed to plan as -var-file, in order. They are relative
	// to the repository, like every path in the repo config.
	VarFiles []string
	// Workspace is selected before planning; empty keeps the default one.
	Workspace string
}

// moduleDir is a directory with Terraform files, as discovery sees it.
type moduleDir struct {
	// calls are the repo-relative directories its module blocks call with a
	// local source ("./x", "../x").
	calls []string
	// backend is set when it declares a backend or cloud block: a root even
	// if something calls it.
	backend bool
}

// DiscoverRoots finds the root modules of the repository at repoDir.
//
// With `terraform.roots: auto`, a root is a directory with .tf (or .tf.json)
// files that no other directory calls as a local module — unless it declares
// a backend, which makes it a root either way. Hidden directories and
// .terraform are not searched. With an explicit list, each listed directory
// must hold Terraform files.
//
// changed lists the repo-relative paths a pull request touches; nil means
// every root. Otherwise only roots that own a changed file are kept: a file
// belongs to the nearest directory above it that holds Terraform files, and
// a root owns its own files, those of the local modules it calls
// (transitively), and its var files. Per-root var files and workspaces come
// from cfg.RootSettings.
func DiscoverRoots(repoDir string, cfg config.TerraformConfig, changed []string) ([]Root, error) {
	dirs, err := scanModules(repoDir)
	if err != nil {
		return nil, err
	}
	var candidates []string
	if cfg.Roots.Auto || len(cfg.Roots.Dirs) == 0 {
		called := map[string]bool{}
		for dir, m := range dirs {
			for _, c := range m.calls {
				if c != dir {
					called[c] = true
				}
			}
		}
		for dir, m := range dirs {
			if !called[dir] || m.backend {
				candidates = append(candidates, dir)
			}
		}
	} else {
		for _, d := range cfg.Roots.Dirs {
			d = cleanRel(d)
			if _, ok := dirs[d]; !ok {
				return nil, fmt.Errorf("terraform.roots: %s is not a directory with .tf files", d)
			}
			if !slices.Contains(candidates, d) {
				candidates = append(candidates, d)
			}
		}
	}
	slices.Sort(candidates)

	settings := map[string]config.RootSettings{}
	for dir, s := range cfg.RootSettings {
		settings[cleanRel(dir)] = s
	}
	var roots []Root
	for _, dir := range candidates {
		s := settings[dir]
		r := Root{Dir: dir, Workspace: s.Workspace}
		for _, vf := range s.VarFiles {
			r.VarFiles = append(r.VarFiles, cleanRel(vf))
		}
		if changed != nil && !touches(r, dirs, changed) {
			continue
		}
		roots = append(roots, r)
	}
	return roots, nil
}

// touches reports whether any changed file belongs to the root: to its own
// directory, a local module it calls (transitively), or its var files.
func touches(r Root, dirs map[string]*moduleDir, changed []string) bool {
	closure := map[string]bool{}
	var visit func(string)
	visit = func(d string) {
		if closure[d] {
			return
		}
		closure[d] = true
		if m := dirs[d]; m != nil {
			for _, c := range m.calls {
				visit(c)
			}
		}
	}
	visit(r.Dir)
	for _, f := range changed {
		f = cleanRel(f)
		if slices.Contains(r.VarFiles, f) {
			return true
		}
		if owner, ok := ownerDir(f, dirs); ok && closure[owner] {
			return true
		}
	}
	return false
}

// ownerDir returns the nearest directory above file that holds Terraform
// files.
func ownerDir(file string, dirs map[string]*moduleDir) (string, bool) {
	d := path.Dir(file)
	for {
		if _, ok := dirs[d]; ok {
			return d, true
		}
		if d == "." || d == "/" {
			return "", false
		}
		d = path.Dir(d)
	}
}

// cleanRel normalises a repo-relative path: forward slashes, no "./".
func cleanRel(p string) string {
	return path.Clean(filepath.ToSlash(p))
}

// scanModules walks repoDir and reads the module calls of every directory
// holding Terraform files.
func scanModules(repoDir string) (map[string]*moduleDir, error) {
	info, err := os.Stat(repoDir)
	if err != nil {
		return nil, fmt.Errorf("discovering roots: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("discovering roots: %s is not a directory", repoDir)
	}
	dirs := map[string]*moduleDir{}
	parser := hclparse.NewParser()
	err = filepath.WalkDir(repoDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !isTerraformFile(d.Name()) {
			return nil
		}
		dir := path.Dir(rel)
		m := dirs[dir]
		if m == nil {
			m = &moduleDir{}
			dirs[dir] = m
		}
		readModuleFile(parser, p, dir, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discovering roots in %s: %w", repoDir, err)
	}
	return dirs, nil
}

func isTerraformFile(name string) bool {
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")
}

// readModuleFile records the local module calls and backend of one file.
// Parse errors are ignored: whatever parsed still counts, and the validate
// step reports the errors with their lines.
func readModuleFile(parser *hclparse.Parser, file, dir string, m *moduleDir) {
	var f *hcl.File
	if strings.HasSuffix(file, ".json") {
		f, _ = parser.ParseJSONFile(file)
	} else {
		f, _ = parser.ParseHCLFile(file)
	}
	if f == nil || f.Body == nil {
		return
	}
	content, _, _ := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "module", LabelNames: []string{"name"}},
		{Type: "terraform"},
	}})
	if content == nil {
		return
	}
	for _, b := range content.Blocks {
		switch b.Type {
		case "terraform":
			tc, _, _ := b.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
				{Type: "backend", LabelNames: []string{"type"}},
				{Type: "cloud"},
			}})
			if tc != nil && len(tc.Blocks) > 0 {
				m.backend = true
			}
		case "module":
			mc, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "source"}}})
			if mc == nil || mc.Attributes["source"] == nil {
				continue
			}
			v, diags := mc.Attributes["source"].Expr.Value(nil)
			if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
				continue
			}
			if target, ok := localSource(dir, v.AsString()); ok && !slices.Contains(m.calls, target) {
				m.calls = append(m.calls, target)
			}
		}
	}
}

// localSource resolves a module source that is a local path, as terraform
// recognises one ("./" or "../"), to a repo-relative directory. Sources
// outside the repository are not local to it.
func localSource(dir, source string) (string, bool) {
	s := filepath.ToSlash(source)
	if !strings.HasPrefix(s, "./") && !strings.HasPrefix(s, "../") {
		return "", false
	}
	target := path.Clean(path.Join(dir, s))
	if target == ".." || strings.HasPrefix(target, "../") {
		return "", false
	}
	return target, true
}
