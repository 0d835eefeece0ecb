package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/config"
)

// orgConfigPath is where an organisation-wide configuration lives in the
// owner's `.github` repository (go-githubapp's convention: the repository
// path without its `.github/` prefix).
const orgConfigPath = "infra-agent.yml"

// repoSettings is a repository configuration and where it came from.
type repoSettings struct {
	cfg config.RepoConfig
	// source is "owner/repo@branch:path", or empty when the defaults apply.
	source string
}

// loadConfig reads the repository configuration from the default branch (the
// owner's `.github` repository as a fallback) and parses it strictly. A
// configuration that exists but is invalid is returned as a *config.ConfigError
// naming the file it came from; other errors are GitHub failures.
func (s *Service) loadConfig(ctx context.Context, client *github.Client, owner, repo, defaultBranch string) (repoSettings, error) {
	c, err := s.configs.LoadConfig(ctx, client, owner, repo, defaultBranch)
	if err != nil {
		return repoSettings{}, fmt.Errorf("loading %s from %s/%s@%s: %w", config.RepoConfigPath, owner, repo, defaultBranch, err)
	}
	if c.IsUndefined() {
		return repoSettings{cfg: config.DefaultRepoConfig()}, nil
	}
	source := c.Source + ":" + c.Path
	cfg, err := config.ParseRepoConfig(c.Content)
	if err != nil {
		ce := &config.ConfigError{File: c.Path, Msg: err.Error()}
		var parsed *config.ConfigError
		if errors.As(err, &parsed) {
			ce.Line, ce.Msg = parsed.Line, parsed.Msg
		}
		return repoSettings{source: source}, &configProblem{source: c.Source, err: ce}
	}
	return repoSettings{cfg: cfg, source: source}, nil
}

// configProblem is an invalid repository configuration: the trigger is
// answered with the problem and nothing runs.
type configProblem struct {
	source string // owner/repo@branch
	err    *config.ConfigError
}

func (p *configProblem) Error() string { return fmt.Sprintf("%s in %s", p.err, p.source) }

func (p *configProblem) Unwrap() error { return p.err }
