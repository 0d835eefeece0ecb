package fakegithub

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// The Git Data API: blobs, trees, commits and refs, as a client builds a commit without a clone. The fake keeps
// git objects per repository; commits seeded with SetFile (whose trees the fake never saw) act as trees of
// their own files, so a commit can be built on a seeded head. Every commit created here gets its files stored
// at its SHA, so the contents and tarball endpoints serve it.

// gitState is a repository's git objects.
type gitState struct {
	blobs   map[string][]byte               // sha -> content
	trees   map[string]map[string]treeEntry // sha -> path (flattened) -> entry
	commits map[string]*gitCommit
	order   []string // commit SHAs in creation order
}

type treeEntry struct {
	mode, typ, sha string
}

type gitCommit struct {
	sha, tree, message string
	parents            []string
	author, committer  gitUser
	custom             bool // author or committer given by the client: GitHub does not sign such commits
}

type gitUser struct {
	name, email string
	date        time.Time
}

// Commit is a commit created through the Git Data API.
type Commit struct {
	SHA       string
	Tree      string
	Parents   []string
	Message   string
	Author    string // "name <email>"
	Committer string
	// Files are the commit's files, by slash path.
	Files map[string][]byte
}

func (rs *repoState) gitObjects() *gitState {
	if rs.git == nil {
		rs.git = &gitState{blobs: map[string][]byte{}, trees: map[string]map[string]treeEntry{},
			commits: map[string]*gitCommit{}}
	}
	return rs.git
}

// treeFiles resolves a tree SHA to its files: a tree created through the API, or a seeded commit (whose tree
// SHA is its own SHA, as GET branches answers for seeded heads).
func (rs *repoState) treeFiles(sha string) (map[string]treeEntry, bool) {
	g := rs.gitObjects()
	if t, ok := g.trees[sha]; ok {
		return t, true
	}
	if c, ok := g.commits[sha]; ok {
		return g.trees[c.tree], true
	}
	files, _, ok := rs.filesAt(sha)
	if !ok {
		return nil, false
	}
	out := make(map[string]treeEntry, len(files))
	for p, content := range files {
		id := blobSHA(content)
		g.blobs[id] = content
		out[p] = treeEntry{mode: "100644", typ: "blob", sha: id}
	}
	return out, true
}

// treeOf returns the tree SHA of a commit: its tree when it was created here, itself for a seeded one.
func (rs *repoState) treeOf(sha string) string {
	if c, ok := rs.gitObjects().commits[sha]; ok {
		return c.tree
	}
	return sha
}

// isAncestor reports whether ancestor is commit or one of its ancestors (seeded commits have no known parents).
func (rs *repoState) isAncestor(ancestor, commit string) bool {
	g := rs.gitObjects()
	seen := map[string]bool{}
	queue := []string{commit}
	for len(queue) > 0 {
		sha := queue[0]
		queue = queue[1:]
		if sha == ancestor {
			return true
		}
		if seen[sha] {
			continue
		}
		seen[sha] = true
		if c, ok := g.commits[sha]; ok {
			queue = append(queue, c.parents...)
		}
	}
	return false
}

// moveBranch points a branch at sha (or deletes it when sha is empty). Files seeded under the branch's name
// belonged to its previous head: they are pinned to that commit, so the old commit keeps them and the branch
// shows the new one's. Pull requests whose head is the branch follow it, as on GitHub.
func (rs *repoState) moveBranch(name, sha string) {
	old := rs.branches[name]
	if seeded, ok := rs.files[name]; ok && old != "" {
		if rs.files[old] == nil {
			rs.files[old] = map[string][]byte{}
		}
		for p, content := range seeded {
			if _, exists := rs.files[old][p]; !exists {
				rs.files[old][p] = content
			}
		}
		delete(rs.files, name)
	}
	if sha == "" {
		delete(rs.branches, name)
		return
	}
	rs.branches[name] = sha
	for _, pr := range rs.pulls {
		if pr.HeadRef == name && strings.EqualFold(pr.HeadOwner, rs.Owner) && strings.EqualFold(pr.HeadRepo, rs.Name) {
			pr.HeadSHA = sha
		}
	}
}

func gitHash(kind string, parts ...string) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%s", kind, strings.Join(parts, "\x00"))
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) createBlob(c *call) reply {
	var body struct {
		Content  string `json:"content"`
		Encoding string `json:"encoding"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return *rep
	}
	var content []byte
	switch body.Encoding {
	case "", "utf-8":
		if !utf8.ValidString(body.Content) {
			return invalid(c, "Blob", "content", "content is not valid UTF-8; send binary content base64-encoded")
		}
		content = []byte(body.Content)
	case "base64":
		data, err := base64.StdEncoding.DecodeString(body.Content)
		if err != nil {
			return invalid(c, "Blob", "content", "content is not valid base64: "+err.Error())
		}
		content = data
	default:
		return invalid(c, "Blob", "encoding", fmt.Sprintf("encoding %q is not utf-8 or base64", body.Encoding))
	}
	sha := blobSHA(content)
	c.repo.gitObjects().blobs[sha] = content
	u := s.apiURL("/repos/%s/%s/git/blobs/%s", c.repo.Owner, c.repo.Name, sha)
	return reply{status: http.StatusCreated, body: object{"sha": sha, "url": u}, header: http.Header{"Location": {u}}}
}

type treeEntryBody struct {
	Path    string  `json:"path"`
	Mode    string  `json:"mode"`
	Type    string  `json:"type"`
	SHA     *string `json:"sha"`
	Content *string `json:"content"`
	hasSHA  bool
}

func (s *Server) createTree(c *call) reply {
	var body struct {
		BaseTree string          `json:"base_tree"`
		Tree     []treeEntryBody `json:"tree"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return *rep
	}
	rs, g := c.repo, c.repo.gitObjects()
	files := map[string]treeEntry{}
	if body.BaseTree != "" {
		base, ok := rs.treeFiles(body.BaseTree)
		if !ok {
			return invalid(c, "Tree", "base_tree", "base_tree "+body.BaseTree+" is not a tree of this repository")
		}
		for p, e := range base {
			files[p] = e
		}
	}
	present := explicitSHAs(c.body)
	for i, e := range body.Tree {
		e.hasSHA = present[i]
		if rep := applyTreeEntry(c, g, files, e); rep != nil {
			return *rep
		}
	}
	sha := treeSHA(files)
	g.trees[sha] = files
	return reply{status: http.StatusCreated, body: s.treeJSON(rs, sha, files)}
}

// applyTreeEntry applies one entry of a create-tree request to the flattened tree.
func applyTreeEntry(c *call, g *gitState, files map[string]treeEntry, e treeEntryBody) *reply {
	fail := func(format string, a ...any) *reply {
		r := invalid(c, "Tree", "tree", fmt.Sprintf(format, a...))
		return &r
	}
	p := strings.Trim(e.Path, "/")
	switch {
	case p == "" || strings.Contains(p, "//") || strings.HasPrefix(e.Path, "/"):
		return fail("tree.path %q is not a relative path", e.Path)
	case e.Content != nil && e.SHA != nil:
		return fail("tree entry %s has both sha and content; use one", p)
	case e.Type != "blob":
		return fail("tree entry %s has type %q: the fake builds trees of blobs", p, e.Type)
	case e.Mode != "100644" && e.Mode != "100755" && e.Mode != "120000":
		return fail("tree entry %s: mode %q is not a blob mode", p, e.Mode)
	}
	switch {
	case e.Content != nil:
		content := []byte(*e.Content)
		id := blobSHA(content)
		g.blobs[id] = content
		files[p] = treeEntry{mode: e.Mode, typ: "blob", sha: id}
	case e.SHA != nil:
		if _, ok := g.blobs[*e.SHA]; !ok {
			return fail("tree.sha %s is not a valid blob", *e.SHA)
		}
		files[p] = treeEntry{mode: e.Mode, typ: "blob", sha: *e.SHA}
	case e.hasSHA: // "sha": null deletes the path
		if _, ok := files[p]; !ok {
			return fail("tree entry %s is deleted but is not in base_tree", p)
		}
		delete(files, p)
	default:
		return fail("tree entry %s has neither sha nor content", p)
	}
	return nil
}

// explicitSHAs reports, per entry of a create-tree body, whether it has a "sha" key (null included): null
// deletes, absent is an error.
func explicitSHAs(body []byte) map[int]bool {
	var raw struct {
		Tree []map[string]any `json:"tree"`
	}
	out := map[int]bool{}
	if err := jsonUnmarshal(body, &raw); err != nil {
		return out
	}
	for i, e := range raw.Tree {
		_, out[i] = e["sha"]
	}
	return out
}

func treeSHA(files map[string]treeEntry) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	parts := make([]string, 0, len(paths))
	for _, p := range paths {
		e := files[p]
		parts = append(parts, e.mode+" "+p+" "+e.sha)
	}
	return gitHash("tree", parts...)
}

// treeJSON renders a tree's top level, as GitHub answers a non-recursive tree: files as blobs, directories as
// trees.
func (s *Server) treeJSON(rs *repoState, sha string, files map[string]treeEntry) object {
	api := s.apiURL("/repos/%s/%s/git", rs.Owner, rs.Name)
	subtrees := map[string]map[string]treeEntry{}
	var items []any
	for _, p := range sortedKeys(files) {
		dir, rest, nested := strings.Cut(p, "/")
		if nested {
			if subtrees[dir] == nil {
				subtrees[dir] = map[string]treeEntry{}
			}
			subtrees[dir][rest] = files[p]
			continue
		}
		e := files[p]
		items = append(items, object{"path": p, "mode": e.mode, "type": e.typ, "sha": e.sha,
			"size": len(rs.gitObjects().blobs[e.sha]), "url": api + "/blobs/" + e.sha})
	}
	for _, dir := range sortedKeys(subtrees) {
		id := treeSHA(subtrees[dir])
		items = append(items, object{"path": dir, "mode": "040000", "type": "tree", "sha": id, "url": api + "/trees/" + id})
	}
	if items == nil {
		items = []any{}
	}
	return object{"sha": sha, "url": api + "/trees/" + sha, "truncated": false, "tree": items}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
