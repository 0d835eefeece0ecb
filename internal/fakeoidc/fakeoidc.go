// Package fakeoidc is a fake GitHub Actions OIDC issuer for tests: a real HTTP
// server with OpenID discovery and a JWKS, RS256 keys that can be rotated, and
// Actions-shaped ID tokens, served as the Actions runtime serves them to a job
// (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN) or minted
// directly, valid or broken in the ways a forger would try.
//
// The package is test support: import it from _test.go files only.
package fakeoidc

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Claims are the claims of an Actions ID token. Numeric ids are strings, as
// GitHub sends them. Extra claims are merged over them.
type Claims struct {
	Audience          string
	Subject           string
	Repository        string
	RepositoryID      string
	RepositoryOwner   string
	RepositoryOwnerID string
	RunID             string
	RunAttempt        string
	RunNumber         string
	Workflow          string
	WorkflowRef       string
	JobWorkflowRef    string
	EventName         string
	Ref               string
	SHA               string
	Actor             string
	RunnerEnvironment string
	// IssuedAt, NotBefore and Expiry default to now-10s, now-10s and now+5m.
	IssuedAt, NotBefore, Expiry time.Time
	Extra                       map[string]any
}

// ActionsClaims returns the claims of a workflow_dispatch run of workflow
// file on branch of owner/repo, on a GitHub-hosted runner.
func ActionsClaims(owner string, ownerID int64, repo string, repoID int64, file, branch string, runID int64) Claims {
	ref := fmt.Sprintf("%s/%s/.github/workflows/%s@refs/heads/%s", owner, repo, file, branch)
	return Claims{
		Subject:    fmt.Sprintf("repo:%s/%s:ref:refs/heads/%s", owner, repo, branch),
		Repository: owner + "/" + repo, RepositoryID: strconv.FormatInt(repoID, 10),
		RepositoryOwner: owner, RepositoryOwnerID: strconv.FormatInt(ownerID, 10),
		RunID: strconv.FormatInt(runID, 10), RunAttempt: "1", RunNumber: "1",
		Workflow: "infra-agent", WorkflowRef: ref, JobWorkflowRef: ref,
		EventName: "workflow_dispatch", Ref: "refs/heads/" + branch,
		SHA: "0123456789abcdef0123456789abcdef01234567", Actor: "octocat", RunnerEnvironment: "github-hosted",
	}
}

// Issuer is a running fake issuer. Its methods are safe for concurrent use.
type Issuer struct {
	// URL is the issuer URL (the iss claim), without a trailing slash.
	URL string

	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	keys     []*rsa.PrivateKey // published; the last one signs
	kids     []string
	requests map[string]Claims // request token -> the run's claims
	served   []string          // audiences of the tokens served through the request URL
	jwksHits int
}

// New starts an issuer with one signing key and closes it at cleanup.
func New(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{t: t, requests: map[string]Claims{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /.well-known/jwks", is.jwks)
	mux.HandleFunc("GET /actions/token", is.requestToken)
	is.srv = httptest.NewServer(mux)
	is.URL = is.srv.URL
	t.Cleanup(is.srv.Close)
	is.Rotate(false)
	return is
}

// Rotate adds a new signing key; unless keepOld, the old keys are no longer
// published (tokens they signed stop verifying once a verifier refetches).
func (is *Issuer) Rotate(keepOld bool) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		is.t.Fatalf("fakeoidc: generating a key: %v", err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if !keepOld {
		is.keys, is.kids = nil, nil
	}
	is.keys = append(is.keys, key)
	is.kids = append(is.kids, fmt.Sprintf("key-%d", time.Now().UnixNano()))
}

// JWKSFetches counts the JWKS requests served.
func (is *Issuer) JWKSFetches() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.jwksHits
}

func (is *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer": is.URL, "jwks_uri": is.URL + "/.well-known/jwks",
		"subject_types_supported": []string{"public"}, "response_types_supported": []string{"id_token"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported": []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository",
			"repository_id", "repository_owner", "repository_owner_id", "run_id", "run_attempt", "workflow_ref",
			"job_workflow_ref", "event_name", "runner_environment", "actor", "sha"},
	})
}

func (is *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	is.mu.Lock()
	is.jwksHits++
	set := jose.JSONWebKeySet{}
	for i, k := range is.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: is.kids[i], Algorithm: "RS256", Use: "sig"})
	}
	is.mu.Unlock()
	writeJSON(w, set)
}

// payload renders claims as the token's JSON payload.
func (is *Issuer) payload(c Claims) map[string]any {
	now := time.Now()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now.Add(-10 * time.Second)
	}
	if c.NotBefore.IsZero() {
		c.NotBefore = c.IssuedAt
	}
	if c.Expiry.IsZero() {
		c.Expiry = now.Add(5 * time.Minute)
	}
	p := map[string]any{
		"iss": is.URL, "aud": c.Audience, "sub": c.Subject, "jti": fmt.Sprintf("jti-%d", now.UnixNano()),
		"iat": c.IssuedAt.Unix(), "nbf": c.NotBefore.Unix(), "exp": c.Expiry.Unix(),
		"repository": c.Repository, "repository_id": c.RepositoryID, "repository_owner": c.RepositoryOwner,
		"repository_owner_id": c.RepositoryOwnerID, "run_id": c.RunID, "run_attempt": c.RunAttempt,
		"run_number": c.RunNumber, "workflow": c.Workflow, "workflow_ref": c.WorkflowRef,
		"job_workflow_ref": c.JobWorkflowRef, "event_name": c.EventName, "ref": c.Ref, "ref_type": "branch",
		"sha": c.SHA, "actor": c.Actor, "runner_environment": c.RunnerEnvironment,
	}
	maps.Copy(p, c.Extra)
	return p
}

// Mint signs c with the current key.
func (is *Issuer) Mint(c Claims) string {
	is.mu.Lock()
	key, kid := is.keys[len(is.keys)-1], is.kids[len(is.kids)-1]
	is.mu.Unlock()
	return is.sign(c, key, kid)
}

// MintWithKey signs c with a key the issuer never published (a forgery),
// under the current key's id.
func (is *Issuer) MintWithKey(c Claims, key *rsa.PrivateKey) string {
	is.mu.Lock()
	kid := is.kids[len(is.kids)-1]
	is.mu.Unlock()
	return is.sign(c, key, kid)
}

// MintUnsigned returns c as an unsigned token ("alg": "none").
func (is *Issuer) MintUnsigned(c Claims) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	body, _ := json.Marshal(is.payload(c))
	return enc.EncodeToString(head) + "." + enc.EncodeToString(body) + "."
}

func (is *Issuer) sign(c Claims, key *rsa.PrivateKey, kid string) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		is.t.Fatalf("fakeoidc: signer: %v", err)
	}
	body, err := json.Marshal(is.payload(c))
	if err != nil {
		is.t.Fatalf("fakeoidc: encoding claims: %v", err)
	}
	jws, err := signer.Sign(body)
	if err != nil {
		is.t.Fatalf("fakeoidc: signing: %v", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		is.t.Fatalf("fakeoidc: serializing: %v", err)
	}
	return out
}

// ActionsRuntime returns the ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN a job of the run c describes gets: GET
// URL&audience=AUD with "Authorization: bearer TOKEN" answers {"value": JWT}
// with c's claims and the audience asked for.
func (is *Issuer) ActionsRuntime(c Claims) (requestURL, requestToken string) {
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	tok := "actions-runtime-" + base64.RawURLEncoding.EncodeToString(buf)
	is.mu.Lock()
	is.requests[tok] = c
	is.mu.Unlock()
	return is.URL + "/actions/token?api-version=2.0", tok
}

// Audiences lists the audiences of the tokens served through ActionsRuntime
// URLs, in order.
func (is *Issuer) Audiences() []string {
	is.mu.Lock()
	defer is.mu.Unlock()
	return append([]string(nil), is.served...)
}

func (is *Issuer) requestToken(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	is.mu.Lock()
	c, ok := is.requests[tok]
	is.mu.Unlock()
	if !strings.EqualFold(scheme, "bearer") || !ok {
		http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if aud := r.URL.Query().Get("audience"); aud != "" {
		c.Audience = aud
	}
	is.mu.Lock()
	is.served = append(is.served, c.Audience)
	is.mu.Unlock()
	writeJSON(w, map[string]any{"count": 1, "value": is.Mint(c)})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
