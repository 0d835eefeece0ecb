package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// copyDir copies testdata/NAME into a fresh temporary directory, so runs
// never write into testdata.
func copyDir(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("testdata", name)
	dst := t.TempDir()
	testkit.CopyTree(t, src, dst)
	return dst
}

// testEnviron is a small environment for terraform: its PATH and a private
// HOME, plus extra.
func testEnviron(t *testing.T, extra ...string) []string {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if v, ok := os.LookupEnv("TF_CLI_CONFIG_FILE"); ok {
		env = append(env, "TF_CLI_CONFIG_FILE="+v)
	}
	return append(env, extra...)
}

// newCLI returns a CLI on dir running the real terraform with a private data
// directory.
func newCLI(t *testing.T, dir string, opts Options) *CLI {
	t.Helper()
	if opts.Binary == "" {
		opts.Binary = testkit.TerraformBinary(t)
	}
	if opts.Environ == nil {
		opts.Environ = testEnviron(t)
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(t.TempDir(), "data")
	}
	c, err := New(dir, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
