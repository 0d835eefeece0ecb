package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/config"
)

// writeTree writes files (repo-relative path → content) into a new
// temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// discoveryTree is a repository with two environments sharing a module that
// calls another module, a module that declares a backend, and files discovery
// must not mistake for roots.
func discoveryTree(t *testing.T) string {
	t.Helper()
	return writeTree(t, map[string]string{
		"README.md":                        "# infra\n",
		"envs/dev/main.tf":                 "module \"app\" {\n  source = \"../../modules/app\"\n}\n",
		"envs/dev/dev.tfvars":              "x = 1\n",
		"envs/prod/main.tf":                "module \"app\" {\n  source = \"./../../modules/app\"\n}\nmodule \"vpc\" {\n  source  = \"terraform-aws-modules/vpc/aws\"\n  version = \"5.0.0\"\n}\n",
		"envs/prod/shared.tf.json":         `{"module": {"net": {"source": "../../modules/net"}}}`,
		"modules/app/main.tf":              "module \"label\" {\n  source = \"../label\"\n}\n",
		"modules/app/templates/user.tpl":   "hello\n",
		"modules/label/main.tf":            "resource \"terraform_data\" \"l\" {}\n",
		"modules/net/main.tf":              "resource \"terraform_data\" \"n\" {}\n",
		"stacks/dns/main.tf":               "terraform {\n  backend \"s3\" {}\n}\n",
		"stacks/web/main.tf":               "module \"dns\" {\n  source = \"../dns\"\n}\nmodule \"outside\" {\n  source = \"../../../elsewhere\"\n}\n",
		"stacks/broken/main.tf":            "module \"x\" {\n  source = \"../../modules/label\"\n}\nresource {{{\n",
		".github/workflows/x.tf":           "resource \"terraform_data\" \"hidden\" {}\n",
		"envs/dev/.terraform/modules/m.tf": "resource \"terraform_data\" \"cached\" {}\n",
	})
}

func rootDirs(roots []Root) []string {
	var dirs []string
	for _, r := range roots {
		dirs = append(dirs, r.Dir)
	}
	return dirs
}

func TestDiscoverRoots(t *testing.T) {
	repo := discoveryTree(t)
	auto := config.TerraformConfig{Roots: config.Roots{Auto: true}}
	allAuto := []string{"envs/dev", "envs/prod", "stacks/broken", "stacks/dns", "stacks/web"}
	tests := []struct {
		name    string
		cfg     config.TerraformConfig
		changed []string
		want    []string
	}{
		{name: "auto, all", cfg: auto, want: allAuto},
		{name: "zero config is auto", cfg: config.TerraformConfig{}, want: allAuto},
		{name: "explicit list", cfg: config.TerraformConfig{Roots: config.Roots{Dirs: []string{"modules/net", "./envs/dev/"}}}, want: []string{"envs/dev", "modules/net"}},
		{name: "a root's own file", cfg: auto, changed: []string{"envs/dev/main.tf"}, want: []string{"envs/dev"}},
		{name: "a non-tf file of a root", cfg: auto, changed: []string{"envs/dev/dev.tfvars"}, want: []string{"envs/dev"}},
		{name: "a shared module", cfg: auto, changed: []string{"modules/app/main.tf"}, want: []string{"envs/dev", "envs/prod"}},
		{name: "a module called transitively", cfg: auto, changed: []string{"modules/label/main.tf"}, want: []string{"envs/dev", "envs/prod", "stacks/broken"}},
		{name: "a module's template", cfg: auto, changed: []string{"modules/app/templates/user.tpl"}, want: []string{"envs/dev", "envs/prod"}},
		{name: "a module called from .tf.json", cfg: auto, changed: []string{"modules/net/main.tf"}, want: []string{"envs/prod"}},
		{name: "a called root with a backend", cfg: auto, changed: []string{"stacks/dns/main.tf"}, want: []string{"stacks/dns", "stacks/web"}},
		{name: "a deleted file", cfg: auto, changed: []string{"envs/prod/old.tf"}, want: []string{"envs/prod"}},
		{name: "unrelated files", cfg: auto, changed: []string{"README.md", ".github/workflows/x.tf", "docs/a.md"}, want: nil},
		{name: "no changed files", cfg: auto, changed: []string{}, want: nil},
		{name: "explicit list filtered", cfg: config.TerraformConfig{Roots: config.Roots{Dirs: []string{"envs/dev", "modules/net"}}}, changed: []string{"modules/net/main.tf"}, want: []string{"modules/net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roots, err := DiscoverRoots(repo, tt.cfg, tt.changed)
			if err != nil {
				t.Fatalf("DiscoverRoots: %v", err)
			}
			if got := rootDirs(roots); !slices.Equal(got, tt.want) {
				t.Errorf("roots = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDiscoverRootsSettings(t *testing.T) {
	repo := discoveryTree(t)
	cfg := config.TerraformConfig{
		Roots: config.Roots{Auto: true},
		RootSettings: map[string]config.RootSettings{
			"envs/prod/": {VarFiles: []string{"vars/prod.tfvars", "./envs/prod/extra.tfvars"}, Workspace: "prod"},
		},
	}
	roots, err := DiscoverRoots(repo, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(roots, func(r Root) bool { return r.Dir == "envs/prod" })
	if i < 0 {
		t.Fatalf("envs/prod not found in %v", rootDirs(roots))
	}
	want := Root{Dir: "envs/prod", VarFiles: []string{"vars/prod.tfvars", "envs/prod/extra.tfvars"}, Workspace: "prod"}
	if got := roots[i]; got.Dir != want.Dir || got.Workspace != want.Workspace || !slices.Equal(got.VarFiles, want.VarFiles) {
		t.Errorf("envs/prod = %+v, want %+v", got, want)
	}
	// A var file outside the root still ties a change to it.
	roots, err = DiscoverRoots(repo, cfg, []string{"vars/prod.tfvars"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rootDirs(roots); !slices.Equal(got, []string{"envs/prod"}) {
		t.Errorf("roots for a changed var file = %v, want [envs/prod]", got)
	}
}

func TestDiscoverRootsErrors(t *testing.T) {
	repo := discoveryTree(t)
	tests := []struct {
		name, repo string
		cfg        config.TerraformConfig
		want       string
	}{
		{name: "listed dir without tf files", repo: repo, cfg: config.TerraformConfig{Roots: config.Roots{Dirs: []string{"docs"}}}, want: "terraform.roots: docs is not a directory with .tf files"},
		{name: "missing repository", repo: filepath.Join(repo, "nope"), cfg: config.TerraformConfig{Roots: config.Roots{Auto: true}}, want: "discovering roots"},
		{name: "repository is a file", repo: filepath.Join(repo, "README.md"), cfg: config.TerraformConfig{Roots: config.Roots{Auto: true}}, want: "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DiscoverRoots(tt.repo, tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DiscoverRoots error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
