package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
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
