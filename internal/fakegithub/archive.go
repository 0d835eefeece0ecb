package fakegithub

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// codeloadTTL is how long an archive link stays valid (GitHub's are valid for five minutes).
const codeloadTTL = 5 * time.Minute

// codeload is the fake's archive host: GitHub answers GET /repos/{owner}/{repo}/tarball/{ref} with a redirect to
// codeload.github.com, whose link carries a short-lived token instead of the caller's credentials.
type codeload struct {
	srv *httptest.Server

	mu       sync.Mutex
	links    map[string]codeloadLink // token -> archive
	fetches  int
	archives map[string][]byte // token -> archive bytes
}

type codeloadLink struct {
	expires time.Time
}

// files returns every file of a repository at ref: a branch, a tag (a bare name is a tag before a branch, see
// resolve), or a commit SHA (a branch head, a pull request head, or a ref files were seeded at). ok is false when the
// fake does not know ref.
func (rs *repoState) filesAt(ref string) (map[string][]byte, string, bool) {
	sha, branch := rs.resolve(ref)
	switch {
	case branch != "":
		if _, ok := rs.branches[branch]; !ok {
			return nil, "", false
		}
	case !isSHA(sha) || !rs.knowsCommit(sha):
		return nil, "", false
	}
	out := map[string][]byte{}
	for _, k := range rs.refKeys(ref) {
		for p, content := range rs.files[k] {
			if _, seen := out[p]; !seen {
				out[p] = content
			}
		}
	}
	return out, sha, true
}

// getTarball answers as GitHub does: 302 to a codeload link with a one-time token, valid for five minutes.
func (s *Server) getTarball(c *call) reply {
	files, sha, found := c.repo.filesAt(c.params["ref"])
	if !found {
		return notFound()
	}
	archive, err := tarball(c.repo.Owner, c.repo.Name, sha, files)
	if err != nil {
		r := ghError(http.StatusInternalServerError, "fakegithub: building the archive: "+err.Error(), c.op.desc.DocURL)
		return r
	}
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	tok := hex.EncodeToString(buf)
	s.codeload.mu.Lock()
	s.codeload.links[tok] = codeloadLink{expires: time.Now().Add(codeloadTTL)}
	s.codeload.archives[tok] = archive
	s.codeload.mu.Unlock()
	loc := fmt.Sprintf("%s/%s/%s/legacy.tar.gz/%s?token=%s", s.codeload.srv.URL, url.PathEscape(c.repo.Owner),
		url.PathEscape(c.repo.Name), url.PathEscape(c.params["ref"]), tok)
	return reply{status: http.StatusFound, header: http.Header{"Location": {loc}}}
}

// tarball builds a gzipped tar as GitHub's legacy archive: a pax global header carrying the commit SHA, then every
// file under a top directory "owner-repo-<short sha>/".
func tarball(owner, repo, sha string, files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	top := fmt.Sprintf("%s-%s-%s/", owner, repo, sha[:7])
	mtime := time.Unix(1_700_000_000, 0)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader,
		PAXRecords: map[string]string{"comment": sha}}); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	dirs := map[string]bool{}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top, Mode: 0o775, ModTime: mtime}); err != nil {
		return nil, err
	}
	for _, p := range paths {
		parts := strings.Split(p, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if !dirs[d] {
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top + d, Mode: 0o775, ModTime: mtime}); err != nil {
					return nil, err
				}
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: top + p, Mode: 0o664, Size: int64(len(files[p])), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// serveCodeload serves an archive link once, before it expires; no credentials are needed or wanted.
func (cl *codeload) serve(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	cl.mu.Lock()
	link, ok := cl.links[tok]
	archive := cl.archives[tok]
	delete(cl.links, tok)
	delete(cl.archives, tok)
	cl.fetches++
	cl.mu.Unlock()
	if !ok || time.Now().After(link.expires) || !strings.Contains(r.URL.Path, "/legacy.tar.gz/") {
		http.Error(w, "404: Not Found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/x-gzip")
	w.Header().Set("Content-Disposition", "attachment; filename=archive.tar.gz")
	_, _ = w.Write(archive)
}

// ArchiveFetches counts the archive downloads served by the fake's codeload host.
func (s *Server) ArchiveFetches() int {
	s.codeload.mu.Lock()
	defer s.codeload.mu.Unlock()
	return s.codeload.fetches
}

// SetFiles stores several files at a ref at once (see SetFile).
func (s *Server) SetFiles(owner, repo, ref string, files map[string][]byte) {
	s.t.Helper()
	for p, content := range files {
		s.SetFile(owner, repo, ref, p, content)
	}
}

// UserID returns the id the fake gives a user or organisation login (the owner.id of its repositories).
func (s *Server) UserID(login string) int64 { return UserID(login) }

// UserID returns the id every fake gives a user or organisation login, for payloads built before a fake exists:
// a webhook's repository.owner.id must be the owner's id in the fake, as on GitHub.
func UserID(login string) int64 { return stableID("user", login) }
