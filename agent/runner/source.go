package runner

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-github/v62/github"
)

// Limits on a downloaded source archive: what a Terraform repository needs,
// with room, and no more (a zip bomb or a repository of binaries stops here).
const (
	maxArchiveBytes = 512 << 20
	maxArchiveFiles = 100_000
)

// download fetches the repository at ref through the tarball API (in
// process: no git, no credentials on disk) and extracts into dir the files
// keep accepts (nil: all). The archive link is fetched without the token:
// GitHub's link carries its own short-lived grant.
func download(ctx context.Context, gh *github.Client, plain *http.Client, owner, repo, ref, dir string, keep func(string) bool) (int, error) {
	link, _, err := gh.Repositories.GetArchiveLink(ctx, owner, repo, github.Tarball, &github.RepositoryContentGetOptions{Ref: ref}, 0)
	if err != nil {
		return 0, fmt.Errorf("asking for the archive of %s/%s@%s: %w", owner, repo, ref, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("building the archive request: %w", err)
	}
	resp, err := plain.Do(req)
	if err != nil {
		return 0, fmt.Errorf("downloading the archive of %s/%s@%s: %w", owner, repo, ref, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("downloading the archive of %s/%s@%s: %s", owner, repo, ref, resp.Status)
	}
	n, err := extract(io.LimitReader(resp.Body, maxArchiveBytes+1), dir, keep)
	if err != nil {
		return n, fmt.Errorf("extracting %s/%s@%s: %w", owner, repo, ref, err)
	}
	return n, nil
}

// extract unpacks a GitHub tarball into dir: the top directory
// (owner-repo-sha/) is dropped; regular files and directories only. Links,
// devices, absolute paths and paths that climb out of dir are refused, so an
// archive can never write outside the workspace or plant a symlink.
func extract(r io.Reader, dir string, keep func(string) bool) (int, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return 0, fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(gz)
	files := 0
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return files, fmt.Errorf("reading the archive: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader || h.Typeflag == tar.TypeXHeader {
			continue
		}
		rel, err := archivePath(h.Name)
		if err != nil {
			return files, err
		}
		if rel == "" {
			continue // the top directory
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue // created with the files under it
		case tar.TypeReg:
		case tar.TypeSymlink, tar.TypeLink:
			// Terraform code does not need links, and a link is how an
			// archive would reach outside the workspace.
			continue
		default:
			return files, fmt.Errorf("%s: unsupported archive entry type %q", rel, h.Typeflag)
		}
		if keep != nil && !keep(rel) {
			continue
		}
		files++
		total += h.Size
		if files > maxArchiveFiles || total > maxArchiveBytes {
			return files, fmt.Errorf("the archive has more than %d files or %d bytes", maxArchiveFiles, maxArchiveBytes)
		}
		if err := writeFile(dir, rel, tr, h.Size); err != nil {
			return files, err
		}
	}
}

// archivePath returns an entry's path below the archive's top directory,
// refusing anything that is not a clean relative path.
func archivePath(name string) (string, error) {
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return "", fmt.Errorf("archive entry %q is not a relative path", name)
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("archive entry %q climbs out of the archive", name)
	}
	_, rest, _ := strings.Cut(clean, "/")
	return rest, nil
}

func writeFile(dir, rel string, r io.Reader, size int64) error {
	dst := filepath.Join(dir, filepath.FromSlash(rel))
	if !strings.HasPrefix(dst, filepath.Clean(dir)+string(filepath.Separator)) {
		return fmt.Errorf("archive entry %q is outside the workspace", rel)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", rel, err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	return f.Close()
}

// under returns a filter keeping the files under one of dirs (repository
// paths), for the policies taken from the default branch.
func under(dirs []string) func(string) bool {
	return func(p string) bool {
		for _, d := range dirs {
			d = strings.Trim(path.Clean(d), "/")
			if d == "." || p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
}
