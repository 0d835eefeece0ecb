package writeback

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
)

// Protection is what protects a branch against an unreviewed merge, as far
// as the job's token can read it: contents and metadata read, no
// administration.
type Protection struct {
	Branch string
	// Classic is GitHub's branch protection. Beyond its required status
	// checks, its settings (required reviews, who may bypass) are readable
	// only with the administration permission, which infra-agent never asks
	// for: it counts as a gate, and the job says what it could not check.
	Classic bool
	// Reviews are the active rulesets that require approving reviews before
	// a merge into the branch.
	Reviews []ReviewRule
	// Checks are the status checks a merge requires.
	Checks []string
}

// ReviewRule is a ruleset's pull_request rule.
type ReviewRule struct {
	RulesetID int64
	Source    string // the repository or organisation the ruleset belongs to
	Approvals int
	// Bypass is this App's bypass of the ruleset, as GitHub reports it to
	// the token: "always", "pull_requests_only" or "exempt" let the App past
	// it; "never" (or nothing) does not.
	Bypass string
}

func (r ReviewRule) binding() bool {
	return r.Approvals > 0 && (r.Bypass == "" || r.Bypass == "never")
}

// Gated reports whether something would stop a change from being merged
// into the branch without a review: a ruleset that requires an approval and
// that this App cannot bypass, or branch protection.
func (p Protection) Gated() bool {
	return p.Classic || slices.ContainsFunc(p.Reviews, ReviewRule.binding)
}

// Missing says, when the branch is not gated, what is missing, for the
// comment that explains why the job fell back to suggestions.
func (p Protection) Missing() []string {
	if p.Gated() {
		return nil
	}
	var out []string
	for _, r := range p.Reviews {
		switch {
		case r.Approvals == 0:
			out = append(out, fmt.Sprintf("ruleset %d (%s) has a pull request rule that requires no approving review", r.RulesetID, r.Source))
		default:
			out = append(out, fmt.Sprintf("ruleset %d (%s) requires %d approving review(s), but this App may bypass it (%s)", r.RulesetID, r.Source, r.Approvals, r.Bypass))
		}
	}
	if len(p.Reviews) == 0 {
		out = append(out, fmt.Sprintf("`%s` has no branch protection and no ruleset that requires a pull request review", p.Branch))
	}
	return out
}

// ReadProtection reads how branch is protected with the least permission
// that answers: the branch itself (contents read: is branch protection on,
// and which checks it requires), then, only when it is off, the ruleset
// rules that apply to it and the rulesets that require reviews (metadata
// read: may this App bypass them).
func (c *Client) ReadProtection(ctx context.Context, branch string) (Protection, error) {
	p := Protection{Branch: branch}
	b, _, err := c.Branches.GetBranch(ctx, c.Owner, c.Repo, branch, 0)
	if err != nil {
		return p, fmt.Errorf("reading branch %s: %w", branch, err)
	}
	if b.GetProtected() {
		p.Classic = true
		if rsc := b.GetProtection().GetRequiredStatusChecks(); rsc != nil && rsc.Contexts != nil {
			p.Checks = append(p.Checks, *rsc.Contexts...)
		}
		return p, nil
	}
	rules, err := c.branchRules(ctx, branch)
	if err != nil {
		return p, err
	}
	for _, r := range rules {
		switch r.Type {
		case "pull_request":
			var params struct {
				Approvals int `json:"required_approving_review_count"`
			}
			_ = json.Unmarshal(r.Parameters, &params)
			rule := ReviewRule{RulesetID: r.RulesetID, Source: r.Source, Approvals: params.Approvals}
			if rule.Approvals > 0 {
				if rule.Bypass, err = c.rulesetBypass(ctx, r.RulesetID); err != nil {
					return p, err
				}
			}
			p.Reviews = append(p.Reviews, rule)
		case "required_status_checks":
			var params struct {
				Checks []struct {
					Context string `json:"context"`
				} `json:"required_status_checks"`
			}
			_ = json.Unmarshal(r.Parameters, &params)
			for _, ch := range params.Checks {
				p.Checks = append(p.Checks, ch.Context)
			}
		}
	}
	sort.Strings(p.Checks)
	p.Checks = slices.Compact(p.Checks)
	return p, nil
}

type branchRule struct {
	Type       string          `json:"type"`
	Parameters json.RawMessage `json:"parameters"`
	RulesetID  int64           `json:"ruleset_id"`
	Source     string          `json:"ruleset_source"`
}

// branchRules lists the active ruleset rules of a branch. go-github's rule
// decoder is not used: it fails on rule types it does not know.
func (c *Client) branchRules(ctx context.Context, branch string) ([]branchRule, error) {
	u := fmt.Sprintf("repos/%s/%s/rules/branches/%s?per_page=100", url.PathEscape(c.Owner), url.PathEscape(c.Repo), url.PathEscape(branch))
	req, err := c.Raw.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the rules of branch %s: %w", branch, err)
	}
	var rules []branchRule
	if _, err := c.Raw.Do(ctx, req, &rules); err != nil {
		return nil, fmt.Errorf("reading the rules of branch %s: %w", branch, err)
	}
	return rules, nil
}

// rulesetBypass reads whether this App may bypass a ruleset.
func (c *Client) rulesetBypass(ctx context.Context, id int64) (string, error) {
	u := fmt.Sprintf("repos/%s/%s/rulesets/%d", url.PathEscape(c.Owner), url.PathEscape(c.Repo), id)
	req, err := c.Raw.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("reading ruleset %d: %w", id, err)
	}
	var rs struct {
		Bypass string `json:"current_user_can_bypass"`
	}
	if _, err := c.Raw.Do(ctx, req, &rs); err != nil {
		return "", fmt.Errorf("reading ruleset %d: %w", id, err)
	}
	return rs.Bypass, nil
}
