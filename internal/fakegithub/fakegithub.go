// Package fakegithub is a fake GitHub REST API for tests: a real HTTP server (httptest) that speaks GitHub's wire
// format closely enough for go-github, ghinstallation and go-githubapp, keeps the state a test seeds and observes,
// and refuses anything GitHub would refuse.
//
// Every request is checked against GitHub's REST OpenAPI description: a method and path GitHub does not have is
// answered 404, an operation GitHub has but the fake does not implement is answered 501, and the parameters and
// body of implemented operations are validated against GitHub's schemas, plus the limits GitHub documents but the
// schemas omit (comment length, annotation rules, ...). Authentication is checked the way GitHub does it: App JWTs
// (RS256, signed by the App key) for /app endpoints, installation tokens minted by the fake for the rest, with
// their permissions and repository scope. Each of these failures is a violation: it is answered as GitHub would
// answer it and recorded, and the test fails at cleanup unless it called ExpectViolations.
//
// The package is test support: import it from _test.go files only.
package fakegithub

import (
	"crypto/rsa"
	"crypto/x509"
	_ "embed" // the App key
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub/apidesc"
)

// defaultAppID is the id of the GitHub App the fake trusts.
const defaultAppID = 424242

// appSlug is the App's slug; its bot user, which authors comments and reactions, is appSlug + "[bot]".
const appSlug = "infra-agent"

// Server is a running fake GitHub. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the fake REST API, ending in "/": use it as the GitHub v3 API URL.
	URL string

	t      testing.TB
	srv    *httptest.Server
	api    *apidesc.Description
	ops    map[string]*operation // "METHOD /template" -> implementation
	appID  int64
	key    *rsa.PrivateKey
	keyPEM []byte

	codeload *codeload

	mu sync.Mutex
	st *state // everything below mu; handlers run with mu held
}

// New starts a fake GitHub REST API over real HTTP and closes it at t.Cleanup. At cleanup it fails the test
// (t.Errorf) if any request violated GitHub's OpenAPI description or documented limits, unless the test called
// ExpectViolations.
func New(t testing.TB) *Server {
	t.Helper()
	api, err := apidesc.Load()
	if err != nil {
		t.Fatalf("fakegithub: %v", err)
	}
	ops, err := bindOperations(api)
	if err != nil {
		t.Fatalf("fakegithub: %v", err)
	}
	key, keyPEM, err := appKey()
	if err != nil {
		t.Fatalf("fakegithub: %v", err)
	}
	s := &Server{
		t:      t,
		api:    api,
		ops:    ops,
		appID:  defaultAppID,
		key:    key,
		keyPEM: keyPEM,
		st:     newState(),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL + "/"
	s.codeload = &codeload{links: map[string]codeloadLink{}, archives: map[string][]byte{}}
	s.codeload.srv = httptest.NewServer(http.HandlerFunc(s.codeload.serve))
	t.Cleanup(s.codeload.srv.Close)
	t.Cleanup(s.cleanup)
	return s
}

//go:embed appkey/app-private-key.pem
var appKeyPEM string // a string, so it cannot be modified

func appKey() (*rsa.PrivateKey, []byte, error) {
	block, _ := pem.Decode([]byte(appKeyPEM))
	if block == nil {
		return nil, nil, errors.New("decoding the embedded app key: no PEM block")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing the embedded app key: %w", err)
	}
	return key, []byte(appKeyPEM), nil
}

func (s *Server) cleanup() {
	s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.st.expectViolations && len(s.st.violations) == 0:
		s.t.Errorf("fakegithub: the test expected requests that violate GitHub's API, but none did")
	case !s.st.expectViolations && len(s.st.violations) > 0:
		s.t.Errorf("fakegithub: %d request(s) violated GitHub's API:\n  %s",
			len(s.st.violations), strings.Join(s.st.violations, "\n  "))
	}
}

// ExpectViolations declares a negative test: violations no longer fail the test at cleanup, and instead the test
// fails if no request violated GitHub's API (a negative test that cannot fail is a defect). Inspect them with
// Violations.
func (s *Server) ExpectViolations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.expectViolations = true
}

// Violations returns, in order, every recorded violation as "METHOD /path: what was wrong".
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.st.violations...)
}

// AppID returns the id of the GitHub App the fake trusts (the JWT issuer it accepts).
func (s *Server) AppID() int64 { return s.appID }

// AppSlug returns the App's slug; its bot user is AppSlug() + "[bot]".
func (s *Server) AppSlug() string { return appSlug }

// PrivateKeyPEM returns the App's RSA private key (PKCS#1 PEM); the fake verifies App JWTs with its public half.
// It is a throwaway 2048-bit test key, generated once and embedded: generating one per server costs ~140 ms.
func (s *Server) PrivateKeyPEM() []byte { return append([]byte(nil), s.keyPEM...) }

// Client returns a go-github client authenticated as the installation through the real ghinstallation transport:
// its first request mints an installation token from the fake with an App JWT.
func (s *Server) Client(t testing.TB, installationID int64) *github.Client {
	t.Helper()
	tr, err := ghinstallation.New(http.DefaultTransport, s.appID, installationID, s.keyPEM)
	if err != nil {
		t.Fatalf("fakegithub: creating installation transport: %v", err)
	}
	tr.BaseURL = strings.TrimSuffix(s.URL, "/")
	return s.newClient(t, tr)
}

// AppClient returns a go-github client authenticated as the App itself (a JWT per request, through the real
// ghinstallation apps transport), for the /app endpoints.
func (s *Server) AppClient(t testing.TB) *github.Client {
	t.Helper()
	tr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, s.appID, s.keyPEM)
	if err != nil {
		t.Fatalf("fakegithub: creating apps transport: %v", err)
	}
	tr.BaseURL = strings.TrimSuffix(s.URL, "/")
	return s.newClient(t, tr)
}

func (s *Server) newClient(t testing.TB, tr http.RoundTripper) *github.Client {
	t.Helper()
	c := github.NewClient(&http.Client{Transport: tr})
	base, err := url.Parse(s.URL)
	if err != nil {
		t.Fatalf("fakegithub: parsing base URL: %v", err)
	}
	c.BaseURL = base
	c.UploadURL = base
	return c
}

// FailNext makes the next n requests whose method matches (empty matches any) and whose path matches the regular
// expression pathPattern fail with status, the given extra header (for example Retry-After) and a GitHub-shaped
// error body: a secondary-rate-limit body for 403 with Retry-After and for 429, a primary one for 403 with
// X-RateLimit-Remaining: 0. Injected failures are not violations.
func (s *Server) FailNext(method, pathPattern string, n int, status int, header http.Header) {
	s.t.Helper()
	re, err := regexp.Compile(pathPattern)
	if err != nil {
		s.t.Fatalf("fakegithub: FailNext path pattern: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.failures = append(s.st.failures, &failure{
		method: strings.ToUpper(method), path: re, left: n, status: status, header: header.Clone(),
	})
}
