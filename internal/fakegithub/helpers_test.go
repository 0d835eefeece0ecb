package fakegithub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	// ghinstallation takes its token options from this go-github version.
	ghv88 "github.com/google/go-github/v88/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

const (
	installationID = 7
	owner          = "acme"
	repoName       = "infra"
	headSHA        = "1111111111111111111111111111111111111111"
)

// seeded starts a fake with one installation on "acme" and the repository acme/infra in it.
func seeded(t *testing.T) *fakegithub.Server {
	t.Helper()
	s := fakegithub.New(t)
	s.AddInstallation(installationID, owner)
	s.AddRepo(fakegithub.Repo{ID: 10, Owner: owner, Name: repoName, InstallationID: installationID})
	return s
}

// mint mints an installation token through the real ghinstallation transport.
func mint(t *testing.T, s *fakegithub.Server, inst int64, opts *ghv88.InstallationTokenOptions) string {
	t.Helper()
	tr, err := ghinstallation.New(http.DefaultTransport, s.AppID(), inst, s.PrivateKeyPEM())
	if err != nil {
		t.Fatalf("creating transport: %v", err)
	}
	tr.BaseURL = strings.TrimSuffix(s.URL, "/")
	tr.InstallationTokenOptions = opts
	tok, err := tr.Token(context.Background())
	if err != nil {
		t.Fatalf("minting token: %v", err)
	}
	return tok
}

// call sends a raw request with an Authorization header value (empty for none) and a body: nil for none, []byte
// as is, anything else encoded as JSON.
func call(t *testing.T, s *fakegithub.Server, method, path, auth string, body any,
	header http.Header) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte: // sent as is, to test malformed JSON
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encoding body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(s.URL, "/")+path, rd)
	if err != nil {
		t.Fatalf("creating request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return resp, data
}

// recorder is a testing.TB that keeps Errorf calls and cleanups, to test what the fake reports at cleanup.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recorder) Helper() {}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// finish runs the cleanups, last first, and returns what was reported through Errorf.
func (r *recorder) finish() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errors
}
