package jobs

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/jobs/ghops"
)

// scanPullRequest reads a pull request's files once for the two things that
// depend on them: whether it touches review.paths (automatic review), and
// whether it edits the repository configuration, which earns it a note, once
// per pull request, that the edit takes effect only once merged.
func (s *Service) scanPullRequest(ctx context.Context, client *github.Client, t Task, cfg config.RepoConfig) (bool, error) {
	review := cfg.Review.Enabled
	var touched, editsConfig bool
	capped, err := ghops.ScanPullFiles(ctx, client, t.Owner, t.Repo, t.Number, func(name, previous string) bool {
		if review && (config.MatchAnyGlob(cfg.Review.Paths, name) || previous != "" && config.MatchAnyGlob(cfg.Review.Paths, previous)) {
			touched = true
		}
		if name == config.RepoConfigPath || previous == config.RepoConfigPath {
			editsConfig = true
		}
		return !editsConfig || review && !touched
	})
	if err != nil {
		return false, err
	}
	// The API stops at 3,000 files; what it does not list may match.
	touched = touched || review && capped
	if editsConfig {
		zerolog.Ctx(ctx).Debug().Msg("pull request edits the repository configuration")
		key := fmt.Sprintf("config-note:%d#%d", t.RepoID, t.Number)
		if err := s.reply(ctx, client, t, key, checks.ConfigEditNote(config.RepoConfigPath, t.DefaultBranch)); err != nil {
			return touched, err
		}
	}
	return touched, nil
}
