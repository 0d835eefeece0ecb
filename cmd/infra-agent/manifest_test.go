package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infra-agent/infra-agent/handlers"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// permissionLevels orders GitHub permission levels.
var permissionLevels = map[string]int{"read": 1, "write": 2, "admin": 3}

// checkManifest compares the App manifest's permissions with what the fake
// GitHub saw the server and runner use: every call an installation token made
// must be allowed by the manifest, and every permission the manifest asks for
// must be needed, at that level, by a call seen or by a runner token of some
// job kind (which the broker may mint).
func checkManifest(t *testing.T, fake *fakegithub.Server) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "app.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Permissions map[string]string `yaml:"default_permissions"`
	}
	if err := yaml.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	needed := map[string]int{"metadata": 1} // granted to every installation
	for _, k := range []wire.Kind{wire.KindPlan, wire.KindReview, wire.KindFix, wire.KindRemediate} {
		for name, level := range k.TokenPermissions() {
			needed[name] = max(needed[name], permissionLevels[level])
		}
	}
	for _, r := range fake.Requests() {
		if len(r.Permissions) == 0 {
			continue
		}
		allowed := false
		for _, p := range r.Permissions {
			name, level, _ := strings.Cut(p, ":")
			if permissionLevels[manifest.Permissions[name]] >= permissionLevels[level] {
				allowed = true
			}
		}
		if !allowed {
			t.Errorf("%s %s needs one of %v; app.yml grants %v", r.Method, r.Path, r.Permissions, manifest.Permissions)
		}
		if len(r.Permissions) == 1 {
			name, level, _ := strings.Cut(r.Permissions[0], ":")
			needed[name] = max(needed[name], permissionLevels[level])
		}
	}
	for name, level := range manifest.Permissions {
		if needed[name] < permissionLevels[level] {
			t.Errorf("app.yml asks for %s: %s, but nothing seen needs more than level %d", name, level, needed[name])
		}
	}
	// The App dispatches workflows (actions), but never edits them, reads
	// secrets or administers the repository.
	for _, p := range []string{"workflows", "administration", "secrets"} {
		if _, ok := manifest.Permissions[p]; ok {
			t.Errorf("app.yml asks for %s", p)
		}
	}
}

// TestManifestEventsAreTheHandlers: app.yml subscribes to exactly the events
// the server has handlers for (installation events are always sent).
func TestManifestEventsAreTheHandlers(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "app.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Events []string `yaml:"default_events"`
	}
	if err := yaml.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	hs, err := handlers.New(handlers.Options{AppID: 1, Jobs: nopJobs{}, Runs: nopJobs{}, Installations: nopJobs{}})
	if err != nil {
		t.Fatal(err)
	}
	var handled []string
	for _, h := range hs {
		for _, e := range h.Handles() {
			if e != "installation" && e != "installation_repositories" {
				handled = append(handled, e)
			}
		}
	}
	slices.Sort(handled)
	slices.Sort(manifest.Events)
	if !slices.Equal(handled, manifest.Events) {
		t.Errorf("app.yml events %v, handlers %v", manifest.Events, handled)
	}
}

type nopJobs struct{}

func (nopJobs) Submit(context.Context, jobs.Task) error                      { return nil }
func (nopJobs) ReconcileRun(context.Context, jobs.RunEvent) error            { return nil }
func (nopJobs) RecordInstallation(context.Context, store.Installation) error { return nil }
