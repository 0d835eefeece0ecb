package writeback_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

func TestReadProtection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seed    func(f *fakegithub.Server)
		gated   bool
		missing string
		calls   int
	}{
		{name: "nothing", seed: func(*fakegithub.Server) {}, missing: "has no branch protection and no ruleset", calls: 2},
		{name: "branch protection", seed: func(f *fakegithub.Server) { f.ProtectBranch(owner, repoName, "main") }, gated: true, calls: 1},
		{name: "a ruleset requiring a review", gated: true, calls: 3,
			seed: func(f *fakegithub.Server) {
				f.AddRuleset(owner, repoName, fakegithub.Ruleset{Branch: "main", Approvals: 1})
			}},
		{name: "a ruleset this App may bypass", missing: "this App may bypass it (always)", calls: 3,
			seed: func(f *fakegithub.Server) {
				f.AddRuleset(owner, repoName, fakegithub.Ruleset{Branch: "main", Approvals: 2, Bypass: "always"})
			}},
		{name: "a pull request rule without approvals", missing: "requires no approving review", calls: 2,
			seed: func(f *fakegithub.Server) {
				f.AddRuleset(owner, repoName, fakegithub.Ruleset{Branch: "main", PullRequest: true, Checks: []string{"ci/test"}})
			}},
		{name: "only checks", missing: "no ruleset that requires a pull request review", calls: 2,
			seed: func(f *fakegithub.Server) {
				f.AddRuleset(owner, repoName, fakegithub.Ruleset{Branch: "main", Checks: []string{"ci/test"}, Types: []string{"deletion"}})
			}},
		{name: "one binding ruleset among others", gated: true, calls: 4,
			seed: func(f *fakegithub.Server) {
				f.AddRuleset(owner, repoName, fakegithub.Ruleset{Branch: "main", Approvals: 1, Bypass: "pull_requests_only"})
				f.AddRuleset(owner, repoName, fakegithub.Ruleset{Branch: "main", Approvals: 1})
			}},
		{name: "another branch's ruleset", missing: "has no branch protection", calls: 2,
			seed: func(f *fakegithub.Server) {
				f.AddRuleset(owner, repoName, fakegithub.Ruleset{Branch: "release", Approvals: 1})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.seed(w.fake)
			p, err := w.client.ReadProtection(context.Background(), "main")
			if err != nil {
				t.Fatal(err)
			}
			if p.Gated() != tc.gated {
				t.Errorf("gated = %v, want %v (%+v)", p.Gated(), tc.gated, p)
			}
			if missing := strings.Join(p.Missing(), "; "); tc.missing != "" && !strings.Contains(missing, tc.missing) || tc.gated && missing != "" {
				t.Errorf("missing = %q, want %q", missing, tc.missing)
			}
			// The least that answers: the branch first, the rules only without branch protection, a ruleset only
			// when it requires reviews.
			if n := len(w.calls()); n != tc.calls {
				t.Errorf("%d calls %v, want %d", n, w.calls(), tc.calls)
			}
			for _, r := range w.fake.Requests() {
				if slices.ContainsFunc(r.Permissions, func(p string) bool { return strings.HasPrefix(p, "administration") }) {
					t.Errorf("%s %s needs administration", r.Method, r.Path)
				}
			}
		})
	}
}
