package fakegithub

import (
	"fmt"
	"net/http"
)

// Ruleset is a repository ruleset to seed with AddRuleset: the rules it applies to one branch.
type Ruleset struct {
	ID     int64 // a zero ID gets a deterministic one
	Name   string
	Branch string
	// Types are rules without parameters (non_fast_forward, deletion, ...).
	Types []string
	// Approvals, when positive, adds a pull_request rule requiring that many approving reviews; PullRequest adds
	// one requiring none.
	Approvals   int
	PullRequest bool
	// Checks, when set, adds a required_status_checks rule.
	Checks []string
	// Bypass is what GitHub tells this App about bypassing the ruleset (current_user_can_bypass): always,
	// pull_requests_only, never (the default) or exempt.
	Bypass string
}

// AddRuleset adds a repository ruleset and returns its id.
func (s *Server) AddRuleset(owner, repo string, r Ruleset) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo("AddRuleset", owner, repo)
	if r.ID == 0 {
		r.ID = stableID("ruleset", fmt.Sprintf("%s/%s:%d", owner, repo, len(rs.rulesets)))
	}
	if r.Name == "" {
		r.Name = "protect " + r.Branch
	}
	if r.Bypass == "" {
		r.Bypass = "never"
	}
	switch r.Bypass {
	case "always", "pull_requests_only", "never", "exempt":
	default:
		s.t.Fatalf("fakegithub: AddRuleset: bypass %q is not always, pull_requests_only, never or exempt", r.Bypass)
	}
	rs.rulesets = append(rs.rulesets, &r)
	return r.ID
}

// rules renders the ruleset's rules as the branch rules endpoint lists them.
func (r *Ruleset) rules(rs *repoState) []object {
	rule := func(typ string, params object) object {
		o := object{"type": typ, "ruleset_source_type": "Repository", "ruleset_source": rs.Owner + "/" + rs.Name, "ruleset_id": r.ID}
		if params != nil {
			o["parameters"] = params
		}
		return o
	}
	var out []object
	for _, typ := range r.Types {
		if typ == "pull_request" {
			continue // rendered below, with its parameters
		}
		out = append(out, rule(typ, nil))
	}
	if r.Approvals > 0 || r.PullRequest {
		out = append(out, rule("pull_request", object{
			"dismiss_stale_reviews_on_push": false, "require_code_owner_review": false,
			"require_last_push_approval": false, "required_approving_review_count": r.Approvals,
			"required_review_thread_resolution": false,
		}))
	}
	if len(r.Checks) > 0 {
		checks := make([]any, 0, len(r.Checks))
		for _, c := range r.Checks {
			checks = append(checks, object{"context": c})
		}
		out = append(out, rule("required_status_checks", object{
			"required_status_checks": checks, "strict_required_status_checks_policy": false,
		}))
	}
	return out
}

// getRuleset answers with a repository ruleset as its repository-level endpoint shows it to the App: with what
// the App may bypass, without the bypass list (which needs administration).
func (s *Server) getRuleset(c *call) reply {
	id := intParam(c, "ruleset_id")
	for _, r := range c.repo.rulesets {
		if r.ID != id {
			continue
		}
		full := c.repo.Owner + "/" + c.repo.Name
		return ok200(object{
			"id": r.ID, "name": r.Name, "target": "branch", "source_type": "Repository", "source": full,
			"enforcement": "active", "current_user_can_bypass": r.Bypass, "node_id": nodeID("RepositoryRuleset", r.ID),
			"conditions": object{"ref_name": object{"include": []string{"refs/heads/" + r.Branch}, "exclude": []string{}}},
			"rules":      r.rules(c.repo),
			"_links":     object{"self": object{"href": s.apiURL("/repos/%s/rulesets/%d", full, r.ID)}},
			"created_at": timestamp(s.st.created), "updated_at": timestamp(s.st.created),
		})
	}
	return ghError(http.StatusNotFound, "Not Found", c.op.desc.DocURL)
}
