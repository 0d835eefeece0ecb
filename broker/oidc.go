package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// verifier checks Actions OIDC ID tokens: RS256 signature by a key of the
// issuer's JWKS (discovery and keys cached, keys fetched again when a token
// names a key id the cache lacks, which is how the issuer rotates), issuer,
// audience, expiry and not-before. The provider is discovered on first use,
// and again after a failure, so a server does not fail to start because the
// issuer was briefly unreachable.
type verifier struct {
	issuer, audience string
	client           *http.Client
	now              func() time.Time

	mu sync.Mutex
	v  *oidc.IDTokenVerifier
}

// errIssuerUnavailable means discovery failed: the request cannot be judged,
// and is refused as unavailable rather than unauthenticated.
var errIssuerUnavailable = errors.New("the OIDC issuer could not be reached")

func (v *verifier) get(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.v != nil {
		return v.v, nil
	}
	// The key set keeps this context for its later fetches: it must outlive
	// the request, so it carries only the HTTP client.
	keep := oidc.ClientContext(context.Background(), v.client)
	discover, cancel := context.WithTimeout(oidc.ClientContext(ctx, v.client), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(discover, v.issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errIssuerUnavailable, err)
	}
	v.v = p.VerifierContext(keep, &oidc.Config{
		ClientID:             v.audience,
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  v.now,
	})
	return v.v, nil
}

// actionsClaims are the claims of a GitHub Actions ID token this broker reads.
// GitHub sends the numeric ones as strings.
type actionsClaims struct {
	Repository        string `json:"repository"`
	RepositoryID      string `json:"repository_id"`
	RepositoryOwner   string `json:"repository_owner"`
	RepositoryOwnerID string `json:"repository_owner_id"`
	RunID             string `json:"run_id"`
	RunAttempt        string `json:"run_attempt"`
	WorkflowRef       string `json:"workflow_ref"`
	JobWorkflowRef    string `json:"job_workflow_ref"`
	EventName         string `json:"event_name"`
	Ref               string `json:"ref"`
	SHA               string `json:"sha"`
	Actor             string `json:"actor"`
	RunnerEnvironment string `json:"runner_environment"`
}

// identity is who a verified token says the caller is.
type identity struct {
	actionsClaims
	repoID, ownerID, runID, runAttempt int64
}

// verify checks raw and returns its identity.
func (v *verifier) verify(ctx context.Context, raw string) (identity, error) {
	iv, err := v.get(ctx)
	if err != nil {
		return identity{}, err
	}
	tok, err := iv.Verify(ctx, raw)
	if err != nil {
		return identity{}, err
	}
	var id identity
	if err := tok.Claims(&id.actionsClaims); err != nil {
		return identity{}, fmt.Errorf("reading the token's claims: %w", err)
	}
	for _, f := range []struct {
		name, value string
		dst         *int64
	}{
		{"repository_id", id.RepositoryID, &id.repoID},
		{"repository_owner_id", id.RepositoryOwnerID, &id.ownerID},
		{"run_id", id.RunID, &id.runID},
		{"run_attempt", id.RunAttempt, &id.runAttempt},
	} {
		n, err := strconv.ParseInt(f.value, 10, 64)
		if err != nil || n <= 0 {
			return identity{}, fmt.Errorf("the token's %s claim %q is not a positive number", f.name, f.value)
		}
		*f.dst = n
	}
	return id, nil
}
