package runner

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/fakeoidc"
	"github.com/infra-agent/infra-agent/wire"
)

type entry struct {
	name     string
	typ      byte
	body     string
	linkname string
}

func archive(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.linkname}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestExtract(t *testing.T) {
	dir := t.TempDir()
	n, err := extract(bytes.NewReader(archive(t,
		entry{name: "acme-infra-1111111/", typ: tar.TypeDir},
		entry{name: "acme-infra-1111111/main.tf", typ: tar.TypeReg, body: "# main\n"},
		entry{name: "acme-infra-1111111/policy/p.rego", typ: tar.TypeReg, body: "package main\n"},
		entry{name: "acme-infra-1111111/link", typ: tar.TypeSymlink, linkname: "/etc/passwd"},
	)), dir, nil)
	if err != nil || n != 2 {
		t.Fatalf("extract = %d, %v", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "policy", "p.rego")); string(b) != "package main\n" {
		t.Errorf("policy/p.rego = %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "link")); !os.IsNotExist(err) {
		t.Errorf("a symlink was planted in the workspace")
	}

	only, err := extract(bytes.NewReader(archive(t,
		entry{name: "top/main.tf", typ: tar.TypeReg, body: "x"},
		entry{name: "top/policy/p.rego", typ: tar.TypeReg, body: "y"},
	)), t.TempDir(), under([]string{"policy"}))
	if err != nil || only != 1 {
		t.Errorf("a filtered extract kept %d files (%v), want 1", only, err)
	}

	for name, e := range map[string]entry{
		"climbing":  {name: "top/../../evil.tf", typ: tar.TypeReg, body: "x"},
		"absolute":  {name: "/etc/cron.d/evil", typ: tar.TypeReg, body: "x"},
		"device":    {name: "top/dev", typ: tar.TypeChar},
		"duplicate": {name: "top/main.tf", typ: tar.TypeReg, body: "again"},
		"backslash": {name: "top\\..\\evil", typ: tar.TypeReg, body: "x"},
	} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			entries := []entry{e}
			if name == "duplicate" {
				entries = []entry{{name: "top/main.tf", typ: tar.TypeReg, body: "first"}, e}
			}
			if _, err := extract(bytes.NewReader(archive(t, entries...)), filepath.Join(out, "ws"), nil); err == nil {
				t.Errorf("extract accepted a %s entry", name)
			}
			if _, err := os.Stat(filepath.Join(out, "evil.tf")); err == nil {
				t.Errorf("a file was written outside the workspace")
			}
		})
	}
}

func TestCloudKeyWarnings(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key.json")
	os.WriteFile(keyFile, []byte(`{"type":"service_account","private_key":"..."}`), 0o600)
	federated := filepath.Join(t.TempDir(), "wif.json")
	os.WriteFile(federated, []byte(`{"type":"external_account"}`), 0o600)
	tests := []struct {
		env  []string
		want []string
	}{
		{[]string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=x"}, []string{"AWS_ACCESS_KEY_ID"}},
		{[]string{"AWS_ACCESS_KEY_ID=ASIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=x", "AWS_SESSION_TOKEN=y"}, nil},
		{[]string{"ARM_CLIENT_SECRET=s", "ARM_CLIENT_ID=c"}, []string{"ARM_CLIENT_SECRET"}},
		{[]string{"ARM_USE_OIDC=true", "ARM_CLIENT_ID=c"}, nil},
		{[]string{"GOOGLE_APPLICATION_CREDENTIALS=" + keyFile}, []string{"GOOGLE_APPLICATION_CREDENTIALS"}},
		{[]string{"GOOGLE_APPLICATION_CREDENTIALS=" + federated}, nil},
	}
	for _, tt := range tests {
		got := cloudKeyWarnings(tt.env)
		if len(got) != len(tt.want) {
			t.Errorf("%v: warnings %v", tt.env, got)
			continue
		}
		for i, w := range tt.want {
			if !strings.HasPrefix(got[i], w) || strings.Contains(got[i], "AKIAIOSFODNN7EXAMPLE") {
				t.Errorf("%v: warning %q", tt.env, got[i])
			}
		}
	}
}

// TestUnreachableServer: a server that does not answer is retried with
// backoff, then the run fails with a message naming its URL.
func TestUnreachableServer(t *testing.T) {
	var total time.Duration
	for _, d := range DefaultBackoff() {
		total += d
	}
	if n := len(DefaultBackoff()); n != 5 || total < 25*time.Second || total > 35*time.Second {
		t.Errorf("the default backoff retries %d times over %s, want 5 over about 30 s", n, total)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	oidc := fakeoidc.New(t)
	reqURL, reqTok := oidc.ActionsRuntime(fakeoidc.ActionsClaims("acme", 1, "infra", 2, "infra-agent.yml", "main", 3))
	env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqTok}
	_, err = Run(context.Background(), Options{JobID: "j1", ServerURL: dead, Getenv: func(k string) string { return env[k] },
		Backoff: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}})
	if err == nil || !strings.Contains(err.Error(), "the infra-agent server at "+dead+" could not be reached") || !strings.Contains(err.Error(), "4 attempts") {
		t.Errorf("error = %v", err)
	}
	if _, err := Run(context.Background(), Options{JobID: "j1", ServerURL: dead, Getenv: func(string) string { return "" }}); err == nil ||
		!strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("without the Actions runtime: %v", err)
	}
}

// scriptedServer is the runner API as a test scripts it: the claim answers
// spec with a token minted by the fake GitHub; heartbeats and the complete
// are recorded.
type scriptedServer struct {
	*httptest.Server
	mu        sync.Mutex
	beats     int
	completed []wire.Complete
	// endAt, when positive, is the heartbeat answered "the job ended".
	endAt int
}

func newScriptedServer(t *testing.T, fake *fakegithub.Server, spec wire.JobSpec) *scriptedServer {
	t.Helper()
	tok, _, err := fake.AppClient(t).Apps.CreateInstallationToken(context.Background(), 1,
		&github.InstallationTokenOptions{RepositoryIDs: []int64{2}})
	if err != nil {
		t.Fatal(err)
	}
	value := tok.GetToken()
	s := &scriptedServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/jobs/{id}/claim", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(wire.ClaimResponse{Version: 1, Job: spec, Session: wire.SessionPrefix + "s",
			Token: wire.Token{Value: value, ExpiresAt: time.Now().Add(time.Hour)}, HeartbeatSeconds: 1})
	})
	mux.HandleFunc("POST /api/v1/jobs/{id}/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.beats++
		ended := s.endAt > 0 && s.beats >= s.endAt
		s.mu.Unlock()
		if ended {
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(wire.ErrorBody{Error: wire.ErrorDetail{Type: "conflict", Message: "the job ended (cancelled)", State: "cancelled"}})
			return
		}
		json.NewEncoder(w).Encode(wire.HeartbeatResponse{Version: 1, State: "running"})
	})
	mux.HandleFunc("POST /api/v1/jobs/{id}/complete", func(w http.ResponseWriter, r *http.Request) {
		var c wire.Complete
		json.NewDecoder(r.Body).Decode(&c)
		s.mu.Lock()
		s.completed = append(s.completed, c)
		s.mu.Unlock()
		json.NewEncoder(w).Encode(wire.CompleteResponse{Version: 1, State: string(c.Status)})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func scriptedRun(t *testing.T, spec wire.JobSpec, deadline time.Duration, terraform string, endAt int) (*scriptedServer, *fakegithub.Server, Result, error) {
	t.Helper()
	fake := fakegithub.New(t)
	fake.AddInstallation(1, "acme")
	fake.AddRepo(fakegithub.Repo{ID: 2, Owner: "acme", Name: "infra", InstallationID: 1})
	fake.AddBranch("acme", "infra", "topic", spec.HeadSHA)
	fake.SetFile("acme", "infra", "topic", "main.tf", []byte("resource \"terraform_data\" \"x\" {}\n"))
	spec.GitHubAPIURL = fake.URL
	spec.Config = "version: 1\n"
	srv := newScriptedServer(t, fake, spec)
	srv.endAt = endAt
	oidc := fakeoidc.New(t)
	reqURL, reqTok := oidc.ActionsRuntime(fakeoidc.ActionsClaims("acme", 1, "infra", 2, "infra-agent.yml", "main", 3))
	env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqTok}
	res, err := Run(context.Background(), Options{JobID: spec.ID, ServerURL: srv.URL, Getenv: func(k string) string { return env[k] },
		Terraform: terraform, WorkDir: t.TempDir(), deadline: deadline, HeartbeatEvery: 100 * time.Millisecond})
	return srv, fake, res, err
}

var spec = wire.JobSpec{ID: "job-1", Repository: wire.Repository{ID: 2, Owner: "acme", Name: "infra", DefaultBranch: "main"},
	HeadSHA: "1111111111111111111111111111111111111111", PullRequest: true, Number: 1}

// TestWriteJobWithNothingToFix: fix and remediate jobs run the agent on the
// checkout; with nothing to fix they complete success, saying so, and push
// nothing.
func TestWriteJobWithNothingToFix(t *testing.T) {
	for _, kind := range []wire.Kind{wire.KindFix, wire.KindRemediate} {
		s := spec
		s.Kind = kind
		srv, fake, res, err := scriptedRun(t, s, 0, "", 0)
		if err != nil || res.Status != wire.StatusSucceeded || res.Conclusion != "success" {
			t.Fatalf("%s: %+v %v", kind, res, err)
		}
		if len(srv.completed) != 1 || srv.completed[0].Title != "Nothing changed" ||
			!strings.Contains(srv.completed[0].Summary, "nothing to fix") {
			t.Errorf("%s: complete = %+v", kind, srv.completed)
		}
		if n := len(fake.GitCommits("acme", "infra")); n != 0 {
			t.Errorf("%s: %d commits", kind, n)
		}
		if !fake.Tokens()[0].Revoked {
			t.Errorf("%s: the server did not revoke the token, and neither did the runner", kind)
		}
	}
}

// TestDeadline: a job past its hard deadline stops and completes timed_out,
// saying where it was.
func TestDeadline(t *testing.T) {
	hang := filepath.Join(t.TempDir(), "terraform")
	os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755)
	s := spec
	s.Kind = wire.KindReview
	started := time.Now()
	srv, _, res, err := scriptedRun(t, s, 2*time.Second, hang, 0)
	if err != nil || res.Status != wire.StatusTimedOut {
		t.Fatalf("result %+v %v", res, err)
	}
	if took := time.Since(started); took > 30*time.Second {
		t.Errorf("the deadline of 2s took %s to stop the job", took)
	}
	c := srv.completed[0]
	if c.Conclusion != "timed_out" || !strings.Contains(c.Summary, "hard deadline of 2s") {
		t.Errorf("complete = %+v", c)
	}
	if srv.beats == 0 {
		t.Errorf("no heartbeat while the job ran")
	}
}

// TestEndedOnServer: a heartbeat answered "the job ended" (cancelled with
// /agent cancel, superseded) stops the work; nothing is completed, and the
// runner revokes its token.
func TestEndedOnServer(t *testing.T) {
	hang := filepath.Join(t.TempDir(), "terraform")
	os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755)
	s := spec
	s.Kind = wire.KindReview
	srv, fake, res, err := scriptedRun(t, s, time.Minute, hang, 2)
	if !errors.Is(err, ErrEndedOnServer) || res.Status != wire.StatusCancelled {
		t.Fatalf("result %+v, %v; want ErrEndedOnServer", res, err)
	}
	if len(srv.completed) != 0 {
		t.Errorf("the runner completed a job that ended on the server: %+v", srv.completed)
	}
	if !fake.Tokens()[0].Revoked {
		t.Errorf("the runner did not revoke its token")
	}
}
