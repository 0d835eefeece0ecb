// Package workspace is the agent's only way to touch the checkout: every
// path is confined to the workspace directory (no absolute paths, no `..`, no
// symlink that leads out, no write through a symlink), reads skip what must
// never reach a model (terraform state, terraform's data directory, git's
// internals), and writes are allowed only where the repository's agent
// configuration says (config.AgentConfig.WritablePath: agent.allow_paths,
// agent.deny_paths and the always-denied paths). The first write of each file
// keeps its original content, so the whole change can be diffed, guarded
// again and reverted.
package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/infra-agent/infra-agent/config"
)

// MaxFileSize bounds a file the agent reads or writes.
const MaxFileSize = 1 << 20

// neverRead are the paths no read, listing or search returns: terraform
// state and plans hold secrets in clear text, terraform's data directory holds
// provider binaries and cached state, git's internals hold credentials.
var neverRead = [...]string{
	"**/*.tfstate", "**/*.tfstate.*", "**/*.tfplan", "**/.terraform/**", ".git/**", "**/.git/**",
}

// ErrRefused marks a path the rules refuse (as opposed to one that is
// missing).
var ErrRefused = errors.New("refused")

// Workspace is a checkout the agent works in.
type Workspace struct {
	root  string // absolute, symlinks resolved
	agent config.AgentConfig

	mu       sync.Mutex
	original map[string]*[]byte // rel → content before the first write; nil: did not exist
}

// Open returns the workspace rooted at dir.
func Open(dir string, agent config.AgentConfig) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving workspace %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("resolving workspace %s: %w", dir, err)
	}
	if info, err := os.Stat(real); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("workspace %s is not a directory", dir)
	}
	return &Workspace{root: real, agent: agent, original: map[string]*[]byte{}}, nil
}

// Root is the workspace's absolute directory.
func (w *Workspace) Root() string { return w.root }

// Agent is the agent configuration whose path rules the workspace applies.
func (w *Workspace) Agent() config.AgentConfig { return w.agent }

// Clean checks a path the model or a policy gave and returns it cleaned,
// repository-relative with forward slashes.
func Clean(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("%w: empty path", ErrRefused)
	case strings.ContainsAny(p, "\x00\\"):
		return "", fmt.Errorf("%w: path %q has a NUL or a backslash", ErrRefused, p)
	case path.IsAbs(p) || filepath.IsAbs(p) || (len(p) > 1 && p[1] == ':'):
		return "", fmt.Errorf("%w: path %q is absolute; paths are relative to the repository", ErrRefused, p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: path %q climbs out with ..", ErrRefused, p)
		}
	}
	return path.Clean(p), nil
}

// readable refuses the paths no read may return.
func readable(rel string) error {
	lower := strings.ToLower(rel)
	for _, g := range neverRead {
		if config.MatchGlob(g, lower) {
			return fmt.Errorf("%w: %s is never read by the agent (%s)", ErrRefused, rel, g)
		}
	}
	return nil
}

// resolve returns the absolute path of rel after checking that no symlink
// along it leads out of the workspace.
func (w *Workspace) resolve(rel string) (string, error) {
	abs := filepath.Join(w.root, filepath.FromSlash(rel))
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		// A file to be created: its closest existing parent must be inside.
		parent := filepath.Dir(abs)
		for {
			if r, err := filepath.EvalSymlinks(parent); err == nil {
				if !w.inside(r) {
					return "", fmt.Errorf("%w: %s leads out of the workspace through a symlink", ErrRefused, rel)
				}
				return abs, nil
			}
			if parent == w.root || parent == filepath.Dir(parent) {
				return abs, nil
			}
			parent = filepath.Dir(parent)
		}
	}
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", rel, err)
	}
	if !w.inside(real) {
		return "", fmt.Errorf("%w: %s leads out of the workspace through a symlink", ErrRefused, rel)
	}
	return abs, nil
}

func (w *Workspace) inside(real string) bool {
	return real == w.root || strings.HasPrefix(real, w.root+string(filepath.Separator))
}

// ReadFile returns a file's content.
func (w *Workspace) ReadFile(p string) ([]byte, error) {
	rel, err := Clean(p)
	if err != nil {
		return nil, err
	}
	if err := readable(rel); err != nil {
		return nil, err
	}
	abs, err := w.resolve(rel)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, errors.Unwrap(err))
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrRefused, rel)
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrRefused, rel, info.Size(), MaxFileSize)
	}
	return os.ReadFile(abs)
}

// CheckWrite says whether the file p may be written, and returns its cleaned
// relative path: the configuration's path rules, and no symlink anywhere on
// the way (a symlink inside the workspace is still refused: writing through
// it would change its target, not the link).
func (w *Workspace) CheckWrite(p string) (string, error) {
	rel, err := Clean(p)
	if err != nil {
		return "", err
	}
	if err := w.agent.WritablePath(rel); err != nil {
		return "", fmt.Errorf("%w: %v", ErrRefused, err)
	}
	cur := w.root
	for _, part := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, part)
		info, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("checking %s: %w", rel, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("%w: %s goes through a symlink; the agent never writes through one", ErrRefused, rel)
		}
	}
	return rel, nil
}

// WriteFile writes a file the rules allow, creating its directory, and
// remembers the original content the first time.
func (w *Workspace) WriteFile(p string, data []byte) error {
	rel, err := w.CheckWrite(p)
	if err != nil {
		return err
	}
	if len(data) > MaxFileSize {
		return fmt.Errorf("%w: %d bytes is more than the %d a file may have", ErrRefused, len(data), MaxFileSize)
	}
	abs := filepath.Join(w.root, filepath.FromSlash(rel))
	if err := w.Remember(rel); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	mode := fs.FileMode(0o644)
	if info, err := os.Stat(abs); err == nil {
		mode = info.Mode().Perm()
	}
	if err := os.WriteFile(abs, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	return nil
}

// Remember records the current content of rel as its original, unless it is
// already recorded. Call it before changing a file by other means than
// WriteFile (terraform fmt).
func (w *Workspace) Remember(rel string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.original[rel]; ok {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(w.root, filepath.FromSlash(rel)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.original[rel] = nil
	case err != nil:
		return fmt.Errorf("reading %s before changing it: %w", rel, err)
	default:
		w.original[rel] = &data
	}
	return nil
}

// Change is one file the agent changed: its content before and after.
type Change struct {
	Path string
	// Before is nil for a new file; After is nil for a deleted one.
	Before, After []byte
}

// Changes lists the files whose content differs from their original, by
// path.
func (w *Workspace) Changes() ([]Change, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Change
	for rel, orig := range w.original {
		cur, err := os.ReadFile(filepath.Join(w.root, filepath.FromSlash(rel)))
		var after []byte
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", rel, err)
		default:
			after = cur
		}
		c := Change{Path: rel, After: after}
		if orig != nil {
			c.Before = *orig
		}
		if (orig == nil) == (after == nil) && bytes.Equal(c.Before, after) {
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// RevertAll puts every changed file back as it was.
func (w *Workspace) RevertAll() error {
	w.mu.Lock()
	paths := make([]string, 0, len(w.original))
	for rel := range w.original {
		paths = append(paths, rel)
	}
	w.mu.Unlock()
	return w.Revert(paths...)
}

// Revert puts the named files back as they were before the first write, and
// forgets them; files never written are left alone.
func (w *Workspace) Revert(paths ...string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, rel := range paths {
		orig, ok := w.original[rel]
		if !ok {
			continue
		}
		abs := filepath.Join(w.root, filepath.FromSlash(rel))
		var err error
		if orig == nil {
			err = os.Remove(abs)
			if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		} else {
			err = os.WriteFile(abs, *orig, 0o644)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reverting %s: %w", rel, err))
			continue
		}
		delete(w.original, rel)
	}
	return errors.Join(errs...)
}
