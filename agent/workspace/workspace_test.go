package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/config"
)

func setup(t *testing.T) (*Workspace, string, string) {
	t.Helper()
	root, outside := t.TempDir(), t.TempDir()
	files := map[string]string{
		"envs/prod/main.tf":           "resource \"x\" \"y\" {}\n",
		"envs/prod/terraform.tfstate": "{\"secret\": \"state\"}",
		"envs/prod/.terraform/x":      "cache",
		".git/config":                 "token",
		".github/workflows/ci.yml":    "on: push\n",
		"docs/README.md":              "readme\n",
	}
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(outside, "secret.tf"), []byte("outside"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.tf"), filepath.Join(root, "envs/prod/out.tf"))
	os.Symlink(outside, filepath.Join(root, "envs/outdir"))
	os.Symlink("main.tf", filepath.Join(root, "envs/prod/alias.tf"))
	ws, err := Open(root, config.DefaultRepoConfig().Agent)
	if err != nil {
		t.Fatal(err)
	}
	return ws, root, outside
}

func TestReadConfinement(t *testing.T) {
	ws, _, _ := setup(t)
	if data, err := ws.ReadFile("envs/prod/main.tf"); err != nil || !strings.Contains(string(data), "resource") {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
	if _, err := ws.ReadFile("envs/prod/alias.tf"); err != nil {
		t.Errorf("a symlink inside the workspace is readable: %v", err)
	}
	for _, p := range []string{
		"/etc/passwd", "../../etc/passwd", "envs/../../x", "envs/prod/out.tf", "envs/outdir/secret.tf",
		"envs/prod/terraform.tfstate", "envs/prod/.terraform/x", ".git/config", "C:/windows", "a\\b", "",
	} {
		if _, err := ws.ReadFile(p); !errors.Is(err, ErrRefused) {
			t.Errorf("ReadFile(%q) = %v, want a refusal", p, err)
		}
	}
	files, _, err := ws.List(".", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.Contains(f, "tfstate") || strings.Contains(f, ".terraform/") || strings.HasPrefix(f, ".git/") {
			t.Errorf("List shows %s", f)
		}
	}
	if _, _, err := ws.List(".git", ""); !errors.Is(err, ErrRefused) {
		t.Errorf("List(.git) = %v", err)
	}
	matches, _, err := ws.Search("secret|token|outside", "")
	if err != nil || len(matches) != 0 {
		t.Errorf("Search found %v, %v", matches, err)
	}
}

func TestWriteRulesAndRevert(t *testing.T) {
	ws, root, outside := setup(t)
	for _, p := range []string{
		".github/workflows/deploy.yml", "CODEOWNERS", "docs/CODEOWNERS", "envs/prod/terraform.tfstate",
		"envs/prod/.terraform.lock.hcl", "envs/prod/out.tf", "envs/outdir/new.tf", "envs/prod/alias.tf", "docs/README.md",
		"../escape.tf", "/tmp/x.tf", ".GitHub/workflows/x.tf",
	} {
		if err := ws.WriteFile(p, []byte("x\n")); !errors.Is(err, ErrRefused) {
			t.Errorf("WriteFile(%q) = %v, want a refusal", p, err)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(outside, "secret.tf")); string(data) != "outside" {
		t.Fatal("a write went through a symlink")
	}
	if err := ws.WriteFile("envs/prod/main.tf", []byte("# changed\n")); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteFile("envs/dev/new.tf", []byte("# new\n")); err != nil {
		t.Fatal(err)
	}
	changes, err := ws.Changes()
	if err != nil || len(changes) != 2 || changes[0].Path != "envs/dev/new.tf" || changes[0].Before != nil || string(changes[1].Before) != "resource \"x\" \"y\" {}\n" {
		t.Fatalf("Changes = %+v, %v", changes, err)
	}
	if err := ws.Revert(); err != nil {
		t.Fatal(err)
	}
	if c, _ := ws.Changes(); len(c) != 2 {
		t.Fatalf("Revert of nothing reverted %d files", 2-len(c))
	}
	if err := ws.RevertAll(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(root, "envs/prod/main.tf")); string(data) != "resource \"x\" \"y\" {}\n" {
		t.Errorf("main.tf not restored: %q", data)
	}
	if _, err := os.Stat(filepath.Join(root, "envs/dev/new.tf")); !os.IsNotExist(err) {
		t.Error("a new file survived Revert")
	}
	if c, _ := ws.Changes(); len(c) != 0 {
		t.Errorf("changes after Revert: %+v", c)
	}
}
