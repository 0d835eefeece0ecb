package writeback_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/agent/writeback"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

const (
	installationID = 7
	owner          = "acme"
	repoName       = "infra"
	head           = "1111111111111111111111111111111111111111"
)

// world is a fake GitHub with acme/infra: main holds main.tf, the pull
// request #1's head branch "topic" holds main.tf and old.tf.
type world struct {
	fake   *fakegithub.Server
	faults *faultTransport
	client *writeback.Client
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s := fakegithub.New(t)
	s.AddInstallation(installationID, owner)
	s.AddRepo(fakegithub.Repo{ID: 10, Owner: owner, Name: repoName, InstallationID: installationID})
	s.SetFiles(owner, repoName, "main", map[string][]byte{"main.tf": []byte("resource \"a\" \"b\" {}\n")})
	s.SetFiles(owner, repoName, "topic", map[string][]byte{"main.tf": []byte("bad\n"), "old.tf": []byte("old\n")})
	s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 1, Title: "t", User: "octocat", HeadRef: "topic",
		HeadSHA: head, Files: []string{"main.tf", "old.tf"}})
	faults := &faultTransport{base: http.DefaultTransport}
	tr, err := ghinstallation.New(faults, s.AppID(), installationID, s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(s.URL, "/")
	gh := github.NewClient(&http.Client{Transport: tr})
	base, _ := url.Parse(s.URL)
	gh.BaseURL, gh.UploadURL = base, base
	return &world{fake: s, faults: faults, client: writeback.New(gh, owner, repoName)}
}

// calls returns the REST calls made, without token minting.
func (w *world) calls() []string { return w.fake.Calls() }

// faultTransport lets a request through to the fake, which applies it, and
// then answers 502 instead of GitHub's answer: what a proxy that gave up
// waiting does. A client that retries without looking makes a duplicate.
type faultTransport struct {
	base http.RoundTripper

	mu    sync.Mutex
	rules []*appliedFault
	hits  int
}

type appliedFault struct {
	method string
	path   *regexp.Regexp
	left   int
}

// appliedThen502 makes the next n requests matching method and path fail
// after the fake applied them.
func (f *faultTransport) appliedThen502(method, path string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &appliedFault{method: method, path: regexp.MustCompile(path), left: n})
}

func (f *faultTransport) injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func (f *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rule := range f.rules {
		if rule.left > 0 && rule.method == r.Method && rule.path.MatchString(r.URL.Path) {
			rule.left--
			f.hits++
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			body := `{"message":"Bad Gateway","documentation_url":"https://docs.github.com/rest"}`
			return &http.Response{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway", Request: r,
				Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewBufferString(body))}, nil
		}
	}
	return resp, nil
}

func countCalls(calls []string, call string) int {
	n := 0
	for _, c := range calls {
		if c == call {
			n++
		}
	}
	return n
}
