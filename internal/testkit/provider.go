package testkit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testProviderVersion is the version internal/testprovider reports; the
// mirror directory must carry the same.
const testProviderVersion = "5.0.0"

// ProviderMirror is the test AWS provider laid out as a terraform filesystem
// mirror, with the CLI configuration that makes terraform install
// registry.terraform.io/hashicorp/aws from it and nothing from the network.
type ProviderMirror struct {
	// ConfigFile is the CLI configuration; terraform reads it from
	// TF_CLI_CONFIG_FILE.
	ConfigFile string
}

// Environ returns the process environment with TF_CLI_CONFIG_FILE pointing
// at the mirror's configuration: what terraform.Options.Environ takes.
func (m ProviderMirror) Environ() []string {
	return append(os.Environ(), "TF_CLI_CONFIG_FILE="+m.ConfigFile)
}

var (
	mirrorOnce sync.Once
	mirror     ProviderMirror
	mirrorErr  error
)

// AWSProvider builds internal/testprovider (a terraform-plugin-framework
// provider serving the AWS resource schemas the tests use) once per source
// version into the user's cache directory, and returns its mirror. The build
// needs the Go toolchain and the module proxy (or a warm module cache) the
// first time; a failure fails the test, it never skips it.
func AWSProvider(t testing.TB) ProviderMirror {
	t.Helper()
	mirrorOnce.Do(func() { mirror, mirrorErr = buildMirror() })
	if mirrorErr != nil {
		t.Fatalf("building the test provider: %v", mirrorErr)
	}
	return mirror
}

func buildMirror() (ProviderMirror, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return ProviderMirror{}, errors.New("locating the test kit's source")
	}
	src := filepath.Join(filepath.Dir(self), "..", "testprovider")
	sum, err := sourceHash(src)
	if err != nil {
		return ProviderMirror{}, err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "infra-agent-tests", "provider-"+sum[:16])
	m := ProviderMirror{ConfigFile: filepath.Join(dir, "terraform.rc")}
	if _, err := os.Stat(m.ConfigFile); err == nil {
		return m, nil
	}
	// Test binaries of several packages may build at once: each builds in
	// its own directory and renames it into place; the first rename wins.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return ProviderMirror{}, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		return ProviderMirror{}, err
	}
	defer os.RemoveAll(tmp)
	if err := layOut(src, tmp, dir); err != nil {
		return ProviderMirror{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(m.ConfigFile); statErr != nil {
			return ProviderMirror{}, fmt.Errorf("moving the built mirror into place: %w", err)
		}
	}
	return m, nil
}

// layOut builds the provider into tmp as an unpacked filesystem mirror and
// writes the CLI configuration naming final, where tmp will be moved.
func layOut(src, tmp, final string) error {
	platform := runtime.GOOS + "_" + runtime.GOARCH
	binDir := filepath.Join(tmp, "mirror", "registry.terraform.io", "hashicorp", "aws", testProviderVersion, platform)
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-o",
		filepath.Join(binDir, "terraform-provider-aws_v"+testProviderVersion), ".")
	cmd.Dir = src
	// The provider is its own module: no workspace, no vendoring of the
	// main module's flags.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", src, err, out)
	}
	rc := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }\n}\n",
		filepath.Join(final, "mirror"))
	return os.WriteFile(filepath.Join(tmp, "terraform.rc"), []byte(rc), 0o644)
}

// sourceHash identifies a version of the provider's source and the
// toolchain that builds it.
func sourceHash(src string) (string, error) {
	var names []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum") {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading the test provider's source: %w", err)
	}
	slices.Sort(names)
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(n), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
