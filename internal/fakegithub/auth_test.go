package fakegithub_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v62/github"
	ghv88 "github.com/google/go-github/v88/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

func appKey(t *testing.T, s *fakegithub.Server) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(s.PrivateKeyPEM())
	if block == nil {
		t.Fatal("PrivateKeyPEM is not PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("PrivateKeyPEM is not PKCS#1: %v", err)
	}
	return key
}

func signJWT(t *testing.T, method jwt.SigningMethod, key any, claims jwt.RegisteredClaims) string {
	t.Helper()
	signed, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("signing jwt: %v", err)
	}
	return signed
}

func TestAppJWT(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(iss string, iat, exp time.Duration) jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Issuer: iss, IssuedAt: jwt.NewNumericDate(now.Add(iat)),
			ExpiresAt: jwt.NewNumericDate(now.Add(exp))}
	}
	tests := []struct {
		name       string
		auth       func(s *fakegithub.Server, app string) string
		wantStatus int
		violation  string // a substring of the single violation expected; empty for none
	}{
		{"valid", func(s *fakegithub.Server, app string) string {
			return "Bearer " + signJWT(t, jwt.SigningMethodRS256, appKey(t, s), claims(app, -30*time.Second, 2*time.Minute))
		}, 200, ""},
		{"missing", func(*fakegithub.Server, string) string { return "" }, 401,
			"no Authorization header"},
		{"token scheme", func(s *fakegithub.Server, app string) string {
			return "token " + signJWT(t, jwt.SigningMethodRS256, appKey(t, s), claims(app, 0, time.Minute))
		}, 401, "needs an App JWT"},
		{"expired", func(s *fakegithub.Server, app string) string {
			return "Bearer " + signJWT(t, jwt.SigningMethodRS256, appKey(t, s), claims(app, -5*time.Minute, -time.Minute))
		}, 401, "App JWT expired"},
		{"exp too far ahead", func(s *fakegithub.Server, app string) string {
			return "Bearer " + signJWT(t, jwt.SigningMethodRS256, appKey(t, s), claims(app, 0, 20*time.Minute))
		}, 401, "more than 10 minutes ahead"},
		{"no exp", func(s *fakegithub.Server, app string) string {
			return "Bearer " + signJWT(t, jwt.SigningMethodRS256, appKey(t, s), jwt.RegisteredClaims{Issuer: app})
		}, 401, "App JWT has no exp"},
		{"wrong issuer", func(s *fakegithub.Server, _ string) string {
			return "Bearer " + signJWT(t, jwt.SigningMethodRS256, appKey(t, s), claims("1", 0, time.Minute))
		}, 401, "is not the App id"},
		{"wrong key", func(_ *fakegithub.Server, app string) string {
			return "Bearer " + signJWT(t, jwt.SigningMethodRS256, otherKey, claims(app, 0, time.Minute))
		}, 401, "verification error"},
		{"HS256", func(_ *fakegithub.Server, app string) string {
			return "Bearer " + signJWT(t, jwt.SigningMethodHS256, []byte("secret"), claims(app, 0, time.Minute))
		}, 401, "signing method HS256 is invalid"},
		{"installation token", func(s *fakegithub.Server, _ string) string {
			return "Bearer " + mint(t, s, installationID, nil)
		}, 401, "invalid number of segments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			if tt.violation != "" {
				s.ExpectViolations()
			}
			auth := tt.auth(s, strconv.FormatInt(s.AppID(), 10))
			resp, body := call(t, s, "GET", "/app/installations/7", auth, nil, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.wantStatus, body)
			}
			checkViolation(t, s, tt.violation)
		})
	}
}

func TestInstallationTokenAccess(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		auth       func(t *testing.T, s *fakegithub.Server) string
		wantStatus int
		violation  string // a substring of the single violation expected; empty for none
	}{
		{"valid", "/repos/acme/infra", func(t *testing.T, s *fakegithub.Server) string {
			return "token " + mint(t, s, installationID, nil)
		}, 200, ""},
		{"bearer scheme", "/repos/acme/infra", func(t *testing.T, s *fakegithub.Server) string {
			return "Bearer " + mint(t, s, installationID, nil)
		}, 200, ""},
		{"missing", "/repos/acme/infra", func(*testing.T, *fakegithub.Server) string { return "" },
			401, "no Authorization header"},
		{"not minted", "/repos/acme/infra", func(*testing.T, *fakegithub.Server) string {
			return "token ghs_000000000000000000000000000000000000"
		}, 401, "not minted by this fake"},
		{"app jwt", "/repos/acme/infra", func(t *testing.T, s *fakegithub.Server) string {
			return "Bearer " + signJWT(t, jwt.SigningMethodRS256, appKey(t, s), jwt.RegisteredClaims{
				Issuer: strconv.FormatInt(s.AppID(), 10), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute))})
		}, 401, "an App JWT was used"},
		{"other installation's repository", "/repos/other/repo", func(t *testing.T, s *fakegithub.Server) string {
			return "token " + mint(t, s, installationID, nil)
		}, 404, "belongs to installation 8"},
		{"repository outside the token's scope", "/repos/acme/infra", func(t *testing.T, s *fakegithub.Server) string {
			return "token " + mint(t, s, installationID, &ghv88.InstallationTokenOptions{Repositories: []string{"docs"}})
		}, 404, "scoped to [docs]"},
		{"revoked", "/repos/acme/infra", func(t *testing.T, s *fakegithub.Server) string {
			tok := mint(t, s, installationID, nil)
			if resp, body := call(t, s, "DELETE", "/installation/token", "token "+tok, nil, nil); resp.StatusCode != 204 {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
			return "token " + tok
		}, 401, "was revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			s.AddRepo(fakegithub.Repo{Owner: owner, Name: "docs", InstallationID: installationID})
			s.AddInstallation(8, "other")
			s.AddRepo(fakegithub.Repo{Owner: "other", Name: "repo", InstallationID: 8})
			if tt.violation != "" {
				s.ExpectViolations()
			}
			resp, body := call(t, s, "GET", tt.path, tt.auth(t, s), nil, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.wantStatus, body)
			}
			checkViolation(t, s, tt.violation)
		})
	}
}

func TestTokenPermissionsAreEnforced(t *testing.T) {
	s := seeded(t)
	s.ExpectViolations()
	tok := mint(t, s, installationID, &ghv88.InstallationTokenOptions{
		Permissions: &ghv88.InstallationPermissions{Contents: ghv88.Ptr("read")},
	})
	resp, body := call(t, s, "POST", "/repos/acme/infra/check-runs", "token "+tok,
		map[string]any{"name": "infra-agent/plan", "head_sha": headSHA}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Resource not accessible by integration") {
		t.Errorf("got %d %s, want 403 Resource not accessible by integration", resp.StatusCode, body)
	}
	if v := s.Violations(); len(v) != 1 || !strings.Contains(v[0], "allow none of [checks:write]") {
		t.Errorf("violations = %q", v)
	}
}

func TestMintScopedToken(t *testing.T) {
	s := seeded(t)
	gh := s.AppClient(t)
	ctx := context.Background()
	tok, _, err := gh.Apps.CreateInstallationToken(ctx, installationID, &github.InstallationTokenOptions{
		Repositories: []string{repoName},
		Permissions: &github.InstallationPermissions{
			Contents: github.String("read"), Checks: github.String("write"),
		},
	})
	if err != nil {
		t.Fatalf("minting: %v", err)
	}
	if len(tok.Repositories) != 1 || tok.Repositories[0].GetFullName() != "acme/infra" ||
		tok.GetPermissions().GetChecks() != "write" || time.Until(tok.GetExpiresAt().Time) < 50*time.Minute {
		t.Errorf("token response = %+v", tok)
	}
	got := s.Tokens()
	want := fakegithub.Token{InstallationID: installationID, Token: tok.GetToken(),
		Permissions: map[string]string{"contents": "read", "checks": "write"}, Repositories: []string{repoName}}
	if len(got) != 1 || got[0].Token != want.Token || got[0].InstallationID != want.InstallationID ||
		!slices.Equal(got[0].Repositories, want.Repositories) || len(got[0].Permissions) != 2 ||
		got[0].Permissions["contents"] != "read" || got[0].Permissions["checks"] != "write" {
		t.Errorf("Tokens() = %+v, want %+v", got, want)
	}

	// The token works through go-github, and revoking it through go-github makes it unusable.
	c := github.NewClient(nil).WithAuthToken(tok.GetToken())
	c.BaseURL = gh.BaseURL
	if _, _, err := c.Repositories.Get(ctx, owner, repoName); err != nil {
		t.Fatalf("using the token: %v", err)
	}
	if _, err := c.Apps.RevokeInstallationToken(ctx); err != nil {
		t.Fatalf("revoking: %v", err)
	}
	if !s.Tokens()[0].Revoked {
		t.Error("token not marked revoked")
	}
}

func TestMintRefusals(t *testing.T) {
	tests := []struct {
		name string
		opts github.InstallationTokenOptions
		want string
	}{
		{"permission beyond the installation", github.InstallationTokenOptions{
			Permissions: &github.InstallationPermissions{Administration: github.String("write")}},
			"not granted to this installation"},
		{"repository outside the installation", github.InstallationTokenOptions{Repositories: []string{"nope"}},
			"not accessible to the parent installation"},
		{"repository id outside the installation", github.InstallationTokenOptions{RepositoryIDs: []int64{99}},
			"not accessible to the parent installation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			s.ExpectViolations()
			_, resp, err := s.AppClient(t).Apps.CreateInstallationToken(context.Background(), installationID, &tt.opts)
			if err == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want 422 %q", err, tt.want)
			}
		})
	}
}

func TestInstallationLookups(t *testing.T) {
	s := seeded(t)
	gh := s.AppClient(t)
	ctx := context.Background()
	inst, _, err := gh.Apps.GetInstallation(ctx, installationID)
	if err != nil {
		t.Fatalf("get installation: %v", err)
	}
	if inst.GetAccount().GetLogin() != owner || inst.GetAppID() != s.AppID() || inst.GetPermissions().GetChecks() != "write" {
		t.Errorf("installation = %+v", inst)
	}
	inst, _, err = gh.Apps.FindRepositoryInstallation(ctx, owner, repoName)
	if err != nil || inst.GetID() != installationID {
		t.Errorf("repo installation = %v, %v", inst, err)
	}
	if _, resp, err := gh.Apps.GetInstallation(ctx, 999); err == nil || resp.StatusCode != 404 {
		t.Errorf("unknown installation: %v", err)
	}
	if len(s.Violations()) != 0 {
		t.Errorf("a 404 for an absent installation is not a violation: %q", s.Violations())
	}
}

// checkViolation asserts a single violation containing want, or none when want is empty.
func checkViolation(t *testing.T, s *fakegithub.Server, want string) {
	t.Helper()
	got := s.Violations()
	if want == "" && len(got) != 0 || want != "" && (len(got) != 1 || !strings.Contains(got[0], want)) {
		t.Errorf("violations = %q, want one containing %q", got, want)
	}
}
