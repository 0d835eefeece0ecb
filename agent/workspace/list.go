package workspace

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/infra-agent/infra-agent/config"
)

// Bounds of listings and searches, so a tool result stays small.
const (
	MaxListed  = 500
	MaxMatches = 100
	// maxSearchedFiles bounds the files one search reads.
	maxSearchedFiles = 5000
)

// List returns the regular files under dir (relative, "." for the top) whose
// path matches glob ("" for all), sorted, at most MaxListed; truncated says
// more matched. Paths no read may return are left out, and symlinks are
// listed as links, never followed.
func (w *Workspace) List(dir, glob string) (files []string, truncated bool, err error) {
	rel, err := Clean(dir)
	if err != nil {
		return nil, false, err
	}
	if rel != "." {
		if err := readable(rel + "/x"); err != nil {
			return nil, false, err
		}
	}
	start, err := w.resolve(rel)
	if err != nil {
		return nil, false, err
	}
	err = filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries are skipped
		}
		r, _ := filepath.Rel(w.root, p)
		r = filepath.ToSlash(r)
		if d.IsDir() {
			if r != "." && readable(r+"/x") != nil {
				return filepath.SkipDir
			}
			return nil
		}
		if readable(r) != nil || (glob != "" && !config.MatchGlob(glob, r)) {
			return nil
		}
		if len(files) == MaxListed {
			truncated = true
			return filepath.SkipAll
		}
		if d.Type()&fs.ModeSymlink != 0 {
			r += " (symlink)"
		}
		files = append(files, r)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("listing %s: %w", rel, err)
	}
	return files, truncated, nil
}

// Match is one line a search found.
type Match struct {
	Path string
	Line int
	Text string
}

// Search returns the lines of the files matching glob ("" for all) that
// match the regular expression, at most MaxMatches; truncated says more
// matched. Go's regexp runs in linear time, so a pattern cannot stall it.
// Symlinks are not followed.
func (w *Workspace) Search(pattern, glob string) (matches []Match, truncated bool, err error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, false, fmt.Errorf("%w: bad regular expression: %v", ErrRefused, err)
	}
	files, _, err := w.List(".", glob)
	if err != nil {
		return nil, false, err
	}
	for i, f := range files {
		if i == maxSearchedFiles {
			return matches, true, nil
		}
		if strings.HasSuffix(f, " (symlink)") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(w.root, filepath.FromSlash(f)))
		if err != nil || len(data) > MaxFileSize || bytes.IndexByte(data, 0) >= 0 {
			continue // unreadable, too large or binary
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), MaxFileSize)
		for n := 1; sc.Scan(); n++ {
			if !re.Match(sc.Bytes()) {
				continue
			}
			if len(matches) == MaxMatches {
				return matches, true, nil
			}
			matches = append(matches, Match{Path: f, Line: n, Text: sc.Text()})
		}
	}
	return matches, false, nil
}
