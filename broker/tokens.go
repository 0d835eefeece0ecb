package broker

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/wire"
)

// tokenRequest is the body of POST /app/installations/{id}/access_tokens.
type tokenRequest struct {
	RepositoryIDs []int64           `json:"repository_ids"`
	Permissions   map[string]string `json:"permissions"`
}

// tokenResponse is GitHub's answer, as far as the broker checks it.
type tokenResponse struct {
	Token        string            `json:"token"`
	ExpiresAt    time.Time         `json:"expires_at"`
	Permissions  map[string]string `json:"permissions"`
	Repositories []struct {
		ID int64 `json:"id"`
	} `json:"repositories"`
}

// minter mints runner tokens with the App's key and revokes them with the
// tokens themselves. It holds each job's live token in memory, and nowhere
// else, so that whichever path ends the job can revoke it.
type minter struct {
	clients githubapp.ClientCreator
	apiURL  string
	http    *http.Client

	mu   sync.Mutex
	held map[string]string // job id -> token
}

// mint asks GitHub for a token limited to one repository and exactly perms,
// and checks that the answer is what was asked: a token with more
// permissions or repositories than asked is revoked at once and refused.
func (m *minter) mint(ctx context.Context, installationID, repoID int64, perms map[string]string) (wire.Token, error) {
	app, err := m.clients.NewAppClient()
	if err != nil {
		return wire.Token{}, fmt.Errorf("creating the App client: %w", err)
	}
	req, err := app.NewRequest(http.MethodPost, fmt.Sprintf("app/installations/%d/access_tokens", installationID),
		tokenRequest{RepositoryIDs: []int64{repoID}, Permissions: perms})
	if err != nil {
		return wire.Token{}, fmt.Errorf("building the token request: %w", err)
	}
	var out tokenResponse
	if _, err := app.Do(ctx, req, &out); err != nil {
		return wire.Token{}, fmt.Errorf("minting an installation token for repository %d: %w", repoID, err)
	}
	tok := wire.Token{Value: out.Token, ExpiresAt: out.ExpiresAt, Permissions: out.Permissions}
	for _, r := range out.Repositories {
		tok.RepositoryIDs = append(tok.RepositoryIDs, r.ID)
	}
	if !maps.Equal(out.Permissions, perms) || len(tok.RepositoryIDs) != 1 || tok.RepositoryIDs[0] != repoID || tok.Value == "" {
		_ = m.revokeValue(context.WithoutCancel(ctx), out.Token)
		return wire.Token{}, fmt.Errorf("GitHub answered a token for repositories %v with %v, not repository %d with %v",
			tok.RepositoryIDs, out.Permissions, repoID, perms)
	}
	return tok, nil
}

// hold keeps a job's token for revocation, revoking the one it replaces.
func (m *minter) hold(ctx context.Context, jobID, token string) error {
	m.mu.Lock()
	old := m.held[jobID]
	m.held[jobID] = token
	m.mu.Unlock()
	if old != "" && old != token {
		return m.revokeValue(ctx, old)
	}
	return nil
}

// holds reports whether the broker holds a token of the job.
func (m *minter) holds(jobID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held[jobID] != ""
}

// revoke revokes the job's token if this server holds it, and reports
// whether it did.
func (m *minter) revoke(ctx context.Context, jobID string) (bool, error) {
	m.mu.Lock()
	token := m.held[jobID]
	delete(m.held, jobID)
	m.mu.Unlock()
	if token == "" {
		return false, nil
	}
	if err := m.revokeValue(ctx, token); err != nil {
		return false, err
	}
	return true, nil
}

// revokeValue sends DELETE /installation/token authenticated with the token
// itself. A token GitHub no longer accepts (401) is already dead.
func (m *minter) revokeValue(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	client := github.NewClient(m.http).WithAuthToken(token)
	base, err := url.Parse(m.apiURL)
	if err != nil {
		return fmt.Errorf("parsing the GitHub API URL: %w", err)
	}
	client.BaseURL = base
	resp, err := client.Apps.RevokeInstallationToken(ctx)
	if err != nil && (resp == nil || resp.StatusCode != http.StatusUnauthorized) {
		return fmt.Errorf("revoking an installation token: %w", err)
	}
	return nil
}
