package fixes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/infra-agent/infra-agent/agent/hcledit"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/agent/tools"
	"github.com/infra-agent/infra-agent/checks"
)

// Kinds of deterministic fix.
const (
	KindFmt    = "fmt"
	KindPolicy = "policy"
)

// Applied is one deterministic fix that changed files.
type Applied struct {
	Kind        string         `json:"kind"`
	Finding     checks.Finding `json:"finding"`
	Description string         `json:"description"`
	Files       []string       `json:"files"`
}

// Skipped is a finding with a declared fix that could not be applied, and
// why; the model (or a human) gets it.
type Skipped struct {
	Finding checks.Finding `json:"finding"`
	Reason  string         `json:"reason"`
}

// unformatted reports whether a finding is fmt's "not formatted".
func unformatted(f checks.Finding) bool {
	return f.Source == "fmt" && strings.HasPrefix(f.Message, "not formatted")
}

// Fmt runs terraform fmt in the directories of the unformatted files among
// findings. A file fmt changed that the agent may not write is put back and
// reported as skipped.
func Fmt(ctx context.Context, env *tools.Env, tf terraform.Options, findings []checks.Finding) ([]Applied, []Skipped, error) {
	byDir := map[string][]checks.Finding{}
	for _, f := range findings {
		if unformatted(f) && f.File != "" {
			byDir[path.Dir(f.File)] = append(byDir[path.Dir(f.File)], f)
		}
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	var applied []Applied
	var skipped []Skipped
	ws := env.Workspace
	for _, dir := range dirs {
		files, err := formattable(ws.Root(), dir)
		if err != nil {
			return applied, skipped, err
		}
		for _, f := range files {
			if err := ws.Remember(f); err != nil {
				return applied, skipped, err
			}
		}
		cli, err := terraform.New(filepath.Join(ws.Root(), filepath.FromSlash(dir)), tf)
		if err != nil {
			return applied, skipped, err
		}
		if err := cli.FormatWrite(ctx); err != nil {
			for _, f := range byDir[dir] {
				skipped = append(skipped, Skipped{Finding: f, Reason: "terraform fmt: " + err.Error()})
			}
			if rerr := ws.Revert(files...); rerr != nil {
				return applied, skipped, rerr
			}
			continue
		}
		for _, f := range byDir[dir] {
			if _, err := ws.CheckWrite(f.File); err != nil {
				skipped = append(skipped, Skipped{Finding: f, Reason: err.Error()})
				if err := ws.Revert(f.File); err != nil {
					return applied, skipped, err
				}
				continue
			}
			applied = append(applied, Applied{Kind: KindFmt, Finding: f, Description: "terraform fmt " + f.File, Files: []string{f.File}})
		}
		// Files fmt changed that had no finding and may not be written
		// are put back too.
		for _, f := range files {
			if _, err := ws.CheckWrite(f); err != nil {
				if err := ws.Revert(f); err != nil {
					return applied, skipped, err
				}
			}
		}
	}
	return applied, skipped, nil
}

// formattable lists the files terraform fmt rewrites in a directory.
func formattable(root, dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".tf") || strings.HasSuffix(n, ".tfvars") || strings.HasSuffix(n, ".tftest.hcl")) {
			out = append(out, path.Join(dir, n))
		}
	}
	return out, nil
}

// Policies applies the fixes the findings' policies declare, each through
// the guarded write. Findings without a fix are left alone; a malformed or
// unappliable fix is skipped with its reason.
func Policies(env *tools.Env, findings []checks.Finding) ([]Applied, []Skipped) {
	var applied []Applied
	var skipped []Skipped
	for _, f := range findings {
		d, err := FromFinding(f)
		if errors.Is(err, ErrNoFix) {
			continue
		}
		if err != nil {
			skipped = append(skipped, Skipped{Finding: f, Reason: err.Error()})
			continue
		}
		files, err := apply(env, f.Root, d)
		if err != nil {
			skipped = append(skipped, Skipped{Finding: f, Reason: err.Error()})
			continue
		}
		applied = append(applied, Applied{Kind: KindPolicy, Finding: f, Description: d.Describe(), Files: files})
	}
	return applied, skipped
}

// apply writes one declared fix; on a failure the files it already wrote
// stay as they were before it.
func apply(env *tools.Env, root string, d Declared) ([]string, error) {
	if root == "" && len(env.Roots) == 1 {
		root = env.Roots[0]
	}
	type write struct {
		file    string
		content []byte
	}
	var writes []write
	pending := map[string][]byte{}
	for _, s := range d.Steps {
		file, err := hcledit.Locate(env.Workspace.Root(), root, s.Address)
		if err != nil {
			return nil, err
		}
		src, ok := pending[file]
		if !ok {
			if src, err = env.Workspace.ReadFile(file); err != nil {
				return nil, err
			}
		}
		out, err := hcledit.Apply(src, file, s.Address.Local(), s.Ops)
		if err != nil {
			return nil, err
		}
		pending[file] = out
		writes = append(writes, write{file, out})
	}
	var files []string
	for _, w := range writes {
		if string(pending[w.file]) != string(w.content) {
			continue // a later step rewrote the same file
		}
		if _, err := tools.GuardedWrite(env, w.file, w.content); err != nil {
			if rerr := env.Workspace.Revert(files...); rerr != nil {
				return nil, errors.Join(err, rerr)
			}
			return nil, err
		}
		files = append(files, w.file)
	}
	return files, nil
}
