package fakegithub

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
)

// maxInlineContent is the largest file whose content GitHub's contents API returns inline (1 MB); larger files
// come back with encoding "none" and empty content.
const maxInlineContent = 1 << 20

func (s *Server) getRepo(c *call) reply {
	return ok(http.StatusOK, s.repoJSON(c.repo.Owner, c.repo.Name))
}

// resolve turns a ref into the commit it names and, when it names a branch, the branch. "refs/heads/NAME" is the
// branch, "refs/tags/NAME" the tag; a bare name is a tag before it is a branch, as git resolves it (refs/tags
// comes before refs/heads), and otherwise a commit SHA.
func (rs *repoState) resolve(ref string) (sha, branch string) {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return rs.branches[b], b
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return rs.tags[t], ""
	}
	if sha, ok := rs.tags[ref]; ok {
		return sha, ""
	}
	if sha, ok := rs.branches[ref]; ok {
		return sha, ref
	}
	return ref, ""
}

// refKeys lists the keys under which files at ref may be stored: the branch it names, the commit it resolves to,
// and the branches pointing at that commit.
func (rs *repoState) refKeys(ref string) []string {
	sha, branch := rs.resolve(ref)
	var keys []string
	if branch != "" {
		keys = append(keys, branch)
	}
	if sha != "" {
		keys = append(keys, sha)
	}
	first := len(keys)
	for name, s := range rs.branches {
		if s == sha && name != branch {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys[first:])
	return keys
}

// file returns the content of a file at a ref.
func (rs *repoState) file(ref, p string) ([]byte, bool) {
	for _, k := range rs.refKeys(ref) {
		if content, ok := rs.files[k][p]; ok {
			return content, true
		}
	}
	return nil, false
}

// dir lists the entries directly under a directory at a ref: name -> is a directory.
func (rs *repoState) dir(ref, p string) map[string]bool {
	prefix := ""
	if p != "" {
		prefix = p + "/"
	}
	entries := map[string]bool{}
	for _, k := range rs.refKeys(ref) {
		for fp := range rs.files[k] {
			rest, ok := strings.CutPrefix(fp, prefix)
			if !ok {
				continue
			}
			name, _, isDir := strings.Cut(rest, "/")
			entries[name] = entries[name] || isDir
		}
	}
	return entries
}

func blobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) getContent(c *call) reply {
	rs := c.repo
	ref := c.query.Get("ref")
	if ref == "" {
		ref = rs.DefaultBranch
	}
	p := strings.Trim(c.params["path"], "/")
	if content, found := rs.file(ref, p); found {
		accept := c.r.Header.Get("Accept")
		if strings.Contains(accept, "vnd.github.raw") || strings.Contains(accept, "vnd.github.v3.raw") {
			return reply{status: http.StatusOK, body: content,
				header: http.Header{"Content-Type": {"application/vnd.github.raw; charset=utf-8"}}}
		}
		return ok(http.StatusOK, s.contentJSON(rs, ref, p, content, true))
	}
	entries := rs.dir(ref, p)
	if len(entries) == 0 {
		return notFound()
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	items := make([]any, 0, len(names))
	for _, n := range names {
		child := strings.TrimPrefix(p+"/"+n, "/")
		if entries[n] {
			items = append(items, s.contentEntry(rs, ref, child, "dir", 0, fakeSHA(ref+":"+child)))
			continue
		}
		content, _ := rs.file(ref, child)
		items = append(items, s.contentJSON(rs, ref, child, content, false))
	}
	return ok(http.StatusOK, items)
}

func (s *Server) contentEntry(rs *repoState, ref, p, typ string, size int, sha string) object {
	full := rs.Owner + "/" + rs.Name
	self := s.apiURL("/repos/%s/contents/%s?ref=%s", full, p, ref)
	gitURL := s.apiURL("/repos/%s/git/blobs/%s", full, sha)
	html := fmt.Sprintf("%s/%s/blob/%s/%s", htmlBase, full, ref, p)
	var download any = fmt.Sprintf("https://raw.githubusercontent.com/%s/%s/%s", full, ref, p)
	if typ == "dir" {
		gitURL = s.apiURL("/repos/%s/git/trees/%s", full, sha)
		html = fmt.Sprintf("%s/%s/tree/%s/%s", htmlBase, full, ref, p)
		download = nil
	}
	return object{
		"type": typ, "name": path.Base(p), "path": p, "sha": sha, "size": size, "url": self,
		"git_url": gitURL, "html_url": html, "download_url": download,
		"_links": object{"self": self, "git": gitURL, "html": html},
	}
}

// contentJSON renders a file; withContent adds the base64 content, wrapped at 60 characters as GitHub does.
func (s *Server) contentJSON(rs *repoState, ref, p string, content []byte, withContent bool) object {
	o := s.contentEntry(rs, ref, p, "file", len(content), blobSHA(content))
	if !withContent {
		return o
	}
	if len(content) > maxInlineContent {
		o["content"], o["encoding"] = "", "none"
		return o
	}
	enc := base64.StdEncoding.EncodeToString(content)
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60] + "\n")
		enc = enc[60:]
	}
	b.WriteString(enc + "\n")
	o["content"], o["encoding"] = b.String(), "base64"
	return o
}

// getPermission answers like GitHub: role_name is the user's role, permission its coarse legacy form; a user who
// is not a collaborator has read on a public repository and none on a private one.
func (s *Server) getPermission(c *call) reply {
	login := c.params["username"]
	role, found := c.repo.perms[strings.ToLower(login)]
	if !found {
		role = "read"
		if c.repo.Private {
			role = "none"
		}
	}
	legacy := map[string]string{
		"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none",
	}[role]
	user := s.userJSON(login)
	user["role_name"] = role
	user["permissions"] = object{
		"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
		"push": level(legacy) >= 2, "triage": role != "read" && role != "none", "pull": role != "none",
	}
	return ok(http.StatusOK, object{"permission": legacy, "role_name": role, "user": user})
}

// getBranch answers with the branch and its head commit, the fields a client reads to find a branch's head.
func (s *Server) getBranch(c *call) reply {
	name := strings.TrimPrefix(c.params["branch"], "refs/heads/")
	sha, found := c.repo.branches[name]
	if !found {
		r := ghError(http.StatusNotFound, "Branch not found", c.op.desc.DocURL)
		return r
	}
	api := s.apiURL("/repos/%s/%s", c.repo.Owner, c.repo.Name)
	html := htmlBase + "/" + c.repo.Owner + "/" + c.repo.Name
	gitUser := object{"name": "fake", "email": "fake@example.com", "date": timestamp(s.st.created)}
	// Without the administration permission an App sees whether the branch is protected, not the rules.
	protected := c.repo.protected[name]
	return ok(http.StatusOK, object{
		"name": name,
		"commit": object{
			"sha": sha, "node_id": nodeID("Commit", stableID("commit", sha)),
			"url": api + "/commits/" + sha, "html_url": html + "/commit/" + sha,
			"comments_url": api + "/commits/" + sha + "/comments",
			"author":       nil, "committer": nil, "parents": []any{},
			"commit": object{
				"url": api + "/git/commits/" + sha, "message": "head of " + name, "comment_count": 0,
				"author": gitUser, "committer": gitUser,
				"tree": object{"sha": c.repo.treeOf(sha), "url": api + "/git/trees/" + c.repo.treeOf(sha)},
			},
		},
		"_links":    object{"self": api + "/branches/" + name, "html": html + "/tree/" + name},
		"protected": protected, "protection": object{"enabled": protected},
		"protection_url": api + "/branches/" + name + "/protection",
	})
}

// getBranchRules lists the ruleset rules that apply to a branch, as GitHub does for any branch name (an absent
// branch has none): each rule with its ruleset's id, and the parameters GitHub sends, defaults included.
func (s *Server) getBranchRules(c *call) reply {
	name := c.params["branch"]
	var rules []object
	for _, r := range c.repo.rulesets {
		if r.Branch == name {
			rules = append(rules, r.rules(c.repo)...)
		}
	}
	rep := reply{status: http.StatusOK}
	rep.body = page(s, c, rules, &rep, func(o object) any { return o })
	return rep
}
