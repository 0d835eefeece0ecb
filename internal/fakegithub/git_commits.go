package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

type gitUserBody struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

func (s *Server) createCommit(c *call) reply {
	var body struct {
		Message   string       `json:"message"`
		Tree      string       `json:"tree"`
		Parents   []string     `json:"parents"`
		Author    *gitUserBody `json:"author"`
		Committer *gitUserBody `json:"committer"`
		Signature string       `json:"signature"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return *rep
	}
	rs, g := c.repo, c.repo.gitObjects()
	if body.Message == "" || body.Tree == "" {
		return invalid(c, "Commit", "message", "message and tree are required")
	}
	files, ok := rs.treeFiles(body.Tree)
	if !ok {
		return invalid(c, "Commit", "tree", "Tree SHA does not exist")
	}
	for _, p := range body.Parents {
		if !rs.knowsCommit(p) {
			return invalid(c, "Commit", "parents", "Parent SHA "+p+" does not exist or is not a commit object")
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	bot := gitUser{name: appSlug + "[bot]", email: fmt.Sprintf("%d+%s[bot]@users.noreply.github.com", stableID("user", appSlug+"[bot]"), appSlug), date: now}
	author, committer := bot, bot
	if body.Author != nil {
		author = gitUserFrom(body.Author, now)
	}
	if body.Committer != nil {
		committer = gitUserFrom(body.Committer, now)
	} else if body.Author != nil {
		committer = author
	}
	// A sequence number in the hash: two creations never collide, so a test sees every commit a client made.
	sha := gitHash("commit", body.Tree, strings.Join(body.Parents, ","), body.Message, author.name, author.email,
		fmt.Sprint(len(g.order)+1))
	// The tree of a seeded commit is the commit itself; a created commit points at a created tree.
	tree := body.Tree
	if _, isTree := g.trees[tree]; !isTree {
		tree = treeSHA(files)
		g.trees[tree] = files
	}
	commit := &gitCommit{sha: sha, tree: tree, message: body.Message, parents: append([]string(nil), body.Parents...),
		author: author, committer: committer, custom: body.Author != nil || body.Committer != nil}
	g.commits[sha] = commit
	g.order = append(g.order, sha)
	snapshot := make(map[string][]byte, len(files))
	for p, e := range files {
		snapshot[p] = g.blobs[e.sha]
	}
	rs.files[sha] = snapshot
	o := s.commitJSON(rs, commit)
	return reply{status: http.StatusCreated, body: o, header: http.Header{"Location": {o["url"].(string)}}}
}

func gitUserFrom(b *gitUserBody, now time.Time) gitUser {
	u := gitUser{name: b.Name, email: b.Email, date: now}
	if t, err := time.Parse(time.RFC3339, b.Date); err == nil {
		u.date = t.UTC()
	}
	return u
}

func (s *Server) getGitCommit(c *call) reply {
	sha := c.params["commit_sha"]
	commit, ok := c.repo.gitObjects().commits[sha]
	if !ok {
		if !c.repo.knowsCommit(sha) {
			return notFound()
		}
		// A seeded commit: its tree is itself, its parents unknown.
		seed := gitUser{name: "fake", email: "fake@example.com", date: s.st.created}
		commit = &gitCommit{sha: sha, tree: sha, message: "seeded commit", author: seed, committer: seed, custom: true}
	}
	return ok200(s.commitJSON(c.repo, commit))
}

func ok200(body any) reply { return ok(http.StatusOK, body) }

func (s *Server) commitJSON(rs *repoState, c *gitCommit) object {
	full := rs.Owner + "/" + rs.Name
	api := s.apiURL("/repos/%s/git/commits/", full)
	user := func(u gitUser) object {
		return object{"name": u.name, "email": u.email, "date": timestamp(u.date)}
	}
	parents := make([]any, 0, len(c.parents))
	for _, p := range c.parents {
		parents = append(parents, object{"sha": p, "url": api + p, "html_url": fmt.Sprintf("%s/%s/commit/%s", htmlBase, full, p)})
	}
	// GitHub signs the commits an App creates through the API when it sets neither author nor committer.
	verification := object{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil}
	if !c.custom {
		verification = object{"verified": true, "reason": "valid", "signature": "-----BEGIN PGP SIGNATURE-----\nfake\n-----END PGP SIGNATURE-----\n",
			"payload": "tree " + c.tree + "\n", "verified_at": timestamp(c.committer.date)}
	}
	return object{
		"sha": c.sha, "node_id": nodeID("Commit", stableID("commit", c.sha)), "url": api + c.sha,
		"html_url": fmt.Sprintf("%s/%s/commit/%s", htmlBase, full, c.sha),
		"author":   user(c.author), "committer": user(c.committer), "message": c.message,
		"tree":    object{"sha": c.tree, "url": s.apiURL("/repos/%s/git/trees/%s", full, c.tree)},
		"parents": parents, "verification": verification,
	}
}

// refName turns a ref parameter or body field into a branch name: "heads/x" and "refs/heads/x" name branch x.
// Other refs (tags, notes) are not branches; ok is false for them.
func refName(ref string) (string, bool) {
	ref = strings.TrimPrefix(ref, "refs/")
	name, ok := strings.CutPrefix(ref, "heads/")
	return name, ok && name != ""
}

func (s *Server) refJSON(rs *repoState, branch, sha string) object {
	full := rs.Owner + "/" + rs.Name
	ref := "refs/heads/" + branch
	return object{
		"ref": ref, "node_id": nodeID("Ref", stableID("ref", full+":"+ref)),
		"url":    s.apiURL("/repos/%s/git/%s", full, ref),
		"object": object{"type": "commit", "sha": sha, "url": s.apiURL("/repos/%s/git/commits/%s", full, sha)},
	}
}

func (s *Server) getRef(c *call) reply {
	name, ok := refName(c.params["ref"])
	sha, found := c.repo.branches[name]
	if !ok || !found {
		return notFound()
	}
	return ok200(s.refJSON(c.repo, name, sha))
}

func (s *Server) createRef(c *call) reply {
	var body struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return *rep
	}
	if !strings.HasPrefix(body.Ref, "refs/") || strings.Count(body.Ref, "/") < 2 {
		return invalid(c, "Reference", "ref", "Reference name must start with 'refs/' and have at least two slashes")
	}
	name, ok := refName(body.Ref)
	if !ok {
		return invalid(c, "Reference", "ref", "the fake creates branches (refs/heads/...) only")
	}
	if _, exists := c.repo.branches[name]; exists {
		// Not a violation: a client that retried a create GitHub had applied sees this.
		return ghError(http.StatusUnprocessableEntity, "Reference already exists", c.op.desc.DocURL)
	}
	if !c.repo.knowsCommit(body.SHA) {
		return ghError(http.StatusUnprocessableEntity, "Object does not exist", c.op.desc.DocURL)
	}
	c.repo.moveBranch(name, body.SHA)
	o := s.refJSON(c.repo, name, body.SHA)
	return reply{status: http.StatusCreated, body: o, header: http.Header{"Location": {o["url"].(string)}}}
}

func (s *Server) updateRef(c *call) reply {
	var body struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return *rep
	}
	name, ok := refName(c.params["ref"])
	old, found := c.repo.branches[name]
	if !ok || !found {
		return ghError(http.StatusUnprocessableEntity, "Reference does not exist", c.op.desc.DocURL)
	}
	if !c.repo.knowsCommit(body.SHA) {
		return ghError(http.StatusUnprocessableEntity, "Object does not exist", c.op.desc.DocURL)
	}
	if !body.Force && !c.repo.isAncestor(old, body.SHA) {
		// What a client sees when the branch moved since it read it: expected, so not a violation.
		return ghError(http.StatusUnprocessableEntity, "Update is not a fast forward", c.op.desc.DocURL)
	}
	c.repo.moveBranch(name, body.SHA)
	c.repo.forcePushes += boolInt(body.Force)
	return ok200(s.refJSON(c.repo, name, body.SHA))
}

func (s *Server) deleteRef(c *call) reply {
	name, ok := refName(c.params["ref"])
	if _, found := c.repo.branches[name]; !ok || !found {
		return ghError(http.StatusUnprocessableEntity, "Reference does not exist", c.op.desc.DocURL)
	}
	c.repo.moveBranch(name, "")
	return reply{status: http.StatusNoContent}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// GitCommits returns the commits created through the Git Data API, in order, with their files.
func (s *Server) GitCommits(owner, repo string) []Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil || rs.git == nil {
		return nil
	}
	out := make([]Commit, 0, len(rs.git.order))
	for _, sha := range rs.git.order {
		c := rs.git.commits[sha]
		files := map[string][]byte{}
		for p, content := range rs.files[sha] {
			files[p] = append([]byte(nil), content...)
		}
		out = append(out, Commit{SHA: c.sha, Tree: c.tree, Parents: append([]string(nil), c.parents...), Message: c.message,
			Author: c.author.name + " <" + c.author.email + ">", Committer: c.committer.name + " <" + c.committer.email + ">",
			Files: files})
	}
	return out
}

// Branch returns the commit a branch points at; ok is false when there is no such branch.
func (s *Server) Branch(owner, repo, branch string) (sha string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return "", false
	}
	sha, ok = rs.branches[branch]
	return sha, ok
}

// Branches returns every branch of a repository and the commit it points at.
func (s *Server) Branches(owner, repo string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.repo(owner, repo)
	if rs == nil {
		return nil
	}
	out := make(map[string]string, len(rs.branches))
	for k, v := range rs.branches {
		out[k] = v
	}
	return out
}

// ForcePushes counts the ref updates made with force: true (a client that must never force-push can assert 0).
func (s *Server) ForcePushes(owner, repo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs := s.st.repo(owner, repo); rs != nil {
		return rs.forcePushes
	}
	return 0
}

// listPullCommits lists a pull request's commits, oldest first, as GitHub does: the commits created here that
// lead to its head, down to the first seeded commit (which stands for the commits the test seeded, authored by
// the pull request's author).
func (s *Server) listPullCommits(c *call) reply {
	rs := c.repo
	pr := rs.pulls[int(intParam(c, "pull_number"))]
	if pr == nil {
		return notFound()
	}
	g := rs.gitObjects()
	var chain []object
	for sha := pr.HeadSHA; sha != ""; {
		gc, created := g.commits[sha]
		if !created {
			if sha != rs.branches[pr.BaseRef] {
				seed := gitUser{name: pr.User, email: pr.User + "@example.com", date: s.st.created}
				chain = append(chain, s.restCommitJSON(rs, &gitCommit{sha: sha, tree: sha, message: "seeded commit", author: seed,
					committer: seed, custom: true}, pr.User))
			}
			break
		}
		chain = append(chain, s.restCommitJSON(rs, gc, appSlug+"[bot]"))
		if len(gc.parents) == 0 {
			break
		}
		sha = gc.parents[0]
	}
	for i, k := 0, len(chain)-1; i < k; i, k = i+1, k-1 {
		chain[i], chain[k] = chain[k], chain[i]
	}
	rep := reply{status: http.StatusOK}
	rep.body = page(s, c, chain, &rep, func(o object) any { return o })
	return rep
}

// restCommitJSON renders a commit as the REST commits endpoints do: the git commit inside, the GitHub users
// outside.
func (s *Server) restCommitJSON(rs *repoState, gc *gitCommit, login string) object {
	full := rs.Owner + "/" + rs.Name
	git := s.commitJSON(rs, gc)
	delete(git, "sha")
	delete(git, "node_id")
	delete(git, "html_url")
	delete(git, "parents")
	git["comment_count"] = 0
	parents := make([]any, 0, len(gc.parents))
	for _, p := range gc.parents {
		parents = append(parents, object{"sha": p, "url": s.apiURL("/repos/%s/commits/%s", full, p),
			"html_url": fmt.Sprintf("%s/%s/commit/%s", htmlBase, full, p)})
	}
	u := s.apiURL("/repos/%s/commits/%s", full, gc.sha)
	return object{
		"url": u, "sha": gc.sha, "node_id": nodeID("Commit", stableID("commit", gc.sha)),
		"html_url": fmt.Sprintf("%s/%s/commit/%s", htmlBase, full, gc.sha), "comments_url": u + "/comments",
		"commit": git, "author": s.userJSON(login), "committer": s.userJSON(login), "parents": parents,
	}
}
