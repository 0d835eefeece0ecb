package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/appconfig"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/jobs/ghops"
)

// orgConfigPath is where an organisation-wide configuration lives in the
// owner's `.github` repository (go-githubapp's convention: the repository
// path without its `.github/` prefix).
const orgConfigPath = "infra-agent.yml"

// orgConfigRepo is the owner's repository that holds the organisation-wide
// configuration.
const orgConfigRepo = ".github"

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
	c, err := s.configs.LoadConfig(ctx, client, owner, repo, branchRef(defaultBranch))
	if err != nil {
		return repoSettings{}, fmt.Errorf("loading %s from %s/%s@%s: %w", config.RepoConfigPath, owner, repo, defaultBranch, err)
	}
	if c.IsUndefined() {
		if c, err = s.loadOrgConfig(ctx, client, owner); err != nil || c.IsUndefined() {
			return repoSettings{cfg: config.DefaultRepoConfig()}, err
		}
	}
	c.Source = strings.Replace(c.Source, "@refs/heads/", "@", 1)
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

// branchRef is the fully qualified name of a branch: in a bare name, a tag
// named like the branch would win (git resolves refs/tags before refs/heads),
// and anyone who may push a tag could then choose the configuration or the
// workflow that runs.
func branchRef(branch string) string { return "refs/heads/" + branch }

// loadOrgConfig reads the organisation-wide configuration from the default
// branch of the owner's `.github` repository (undefined when it has none).
func (s *Service) loadOrgConfig(ctx context.Context, client *github.Client, owner string) (appconfig.Config, error) {
	r, _, err := client.Repositories.Get(ctx, owner, orgConfigRepo)
	if ghops.IsStatus(err, http.StatusNotFound) {
		return appconfig.Config{}, nil
	}
	if err != nil {
		return appconfig.Config{}, fmt.Errorf("getting %s/%s: %w", owner, orgConfigRepo, err)
	}
	c, err := s.orgConfigs.LoadConfig(ctx, client, owner, orgConfigRepo, branchRef(r.GetDefaultBranch()))
	if err != nil {
		return c, fmt.Errorf("loading %s from %s/%s: %w", orgConfigPath, owner, orgConfigRepo, err)
	}
	return c, nil
}

// configProblem is an invalid repository configuration: the trigger is
// answered with the problem and nothing runs.
type configProblem struct {
	source string // owner/repo@branch
	err    *config.ConfigError
}

func (p *configProblem) Error() string { return fmt.Sprintf("%s in %s", p.err, p.source) }

func (p *configProblem) Unwrap() error { return p.err }
