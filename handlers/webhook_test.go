package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
)

const (
	testSecret = "s3cret-for-tests"
	testAppID  = 4242
	// testInstallation is the installation id the tests add to payloads
	// that have none.
	testInstallation = 57
)

// recordingSubmitter records tasks, failing with err when it is set.
type recordingSubmitter struct {
	mu    sync.Mutex
	tasks []jobs.Task
	err   error
}

func (r *recordingSubmitter) Submit(_ context.Context, t jobs.Task) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.tasks = append(r.tasks, t)
	return nil
}

func (r *recordingSubmitter) recorded() []jobs.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]jobs.Task(nil), r.tasks...)
}

// recordingReconciler records workflow runs.
type recordingReconciler struct {
	mu   sync.Mutex
	runs []jobs.RunEvent
}

func (r *recordingReconciler) ReconcileRun(_ context.Context, ev jobs.RunEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, ev)
	return nil
}

func (r *recordingReconciler) recorded() []jobs.RunEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]jobs.RunEvent(nil), r.runs...)
}

// recordingRecorder records installations.
type recordingRecorder struct {
	mu  sync.Mutex
	ins []store.Installation
}

func (r *recordingRecorder) RecordInstallation(_ context.Context, in store.Installation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ins = append(r.ins, in)
	return nil
}

func (r *recordingRecorder) recorded() []store.Installation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]store.Installation(nil), r.ins...)
}

// server is the real webhook path: an HTTP server running go-githubapp's
// dispatcher (synchronous scheduler) in front of the handlers, wired to
// recording fakes.
type server struct {
	url      string
	jobs     *recordingSubmitter
	runs     *recordingReconciler
	installs *recordingRecorder
	logs     *testkit.LogBuffer
}

func newServer(t *testing.T, appID int64) *server {
	t.Helper()
	s := &server{
		jobs:     &recordingSubmitter{},
		runs:     &recordingReconciler{},
		installs: &recordingRecorder{},
		logs:     &testkit.LogBuffer{},
	}
	hs, err := New(Options{AppID: appID, Jobs: s.jobs, Runs: s.runs, Installations: s.installs})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	logger := zerolog.New(s.logs).Level(zerolog.DebugLevel)
	mux := http.NewServeMux()
	mux.Handle(githubapp.DefaultWebhookRoute, githubapp.NewEventDispatcher(hs, testSecret))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.BaseContext = func(net.Listener) context.Context { return logger.WithContext(context.Background()) }
	srv.Start()
	t.Cleanup(srv.Close)
	s.url = srv.URL + githubapp.DefaultWebhookRoute
	return s
}

// deliver posts body as GitHub does, signed with secret (unsigned when
// secret is empty), and returns the response status.
func (s *server) deliver(t *testing.T, event, deliveryID string, body []byte, secret string) int {
	t.Helper()
	req := testkit.WebhookRequest(t, s.url, event, deliveryID, body, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("posting %s: %v", event, err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

// readPayload returns a copied upstream payload from testdata/webhooks.
func readPayload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("reading payload: %v", err)
	}
	return b
}

// edit is one derived change to a payload: the value at a dotted path (array
// indexes as numbers; the index one past the end appends). A nil value
// removes the key.
type edit struct {
	path  string
	value any
}

// set returns an edit; with it the table reads like the README's notes.
func set(path string, value any) edit { return edit{path, value} }

// withInstallation adds the installation object most upstream payloads lack.
func withInstallation() edit {
	return set("installation", map[string]any{"id": testInstallation, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNTc="})
}

// applyEdits decodes payload, applies edits and encodes it again.
func applyEdits(t *testing.T, payload []byte, edits []edit) []byte {
	t.Helper()
	if len(edits) == 0 {
		return payload
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decoding payload: %v", err)
	}
	for _, e := range edits {
		var err error
		if doc, err = setPath(doc, strings.Split(e.path, "."), e.value); err != nil {
			t.Fatalf("editing %s: %v", e.path, err)
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("encoding payload: %v", err)
	}
	return out
}

// setPath sets (or, for a nil value, removes) the value at path under node.
func setPath(node any, path []string, value any) (any, error) {
	key := path[0]
	switch n := node.(type) {
	case map[string]any:
		if len(path) == 1 {
			if value == nil {
				delete(n, key)
			} else {
				n[key] = value
			}
			return n, nil
		}
		child, ok := n[key]
		if !ok {
			return nil, fmt.Errorf("no key %q", key)
		}
		v, err := setPath(child, path[1:], value)
		n[key] = v
		return n, err
	case []any:
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i > len(n) {
			return nil, fmt.Errorf("bad index %q for an array of %d", key, len(n))
		}
		if len(path) == 1 {
			if i == len(n) {
				return append(n, value), nil
			}
			n[i] = value
			return n, nil
		}
		if i == len(n) {
			return nil, errors.New("cannot descend past the end of an array")
		}
		v, err := setPath(n[i], path[1:], value)
		n[i] = v
		return n, err
	}
	return nil, fmt.Errorf("cannot descend into %T at %q", node, key)
}
