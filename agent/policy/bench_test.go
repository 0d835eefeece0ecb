package policy

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// The conftest CLI the benchmarks compare with: the version this module
// uses as a library.
const (
	cliVersion = "v0.71.1"
	cliPackage = conftestModule + "@" + cliVersion
)

const (
	benchPolicy = "testdata/conftest/examples/hcl2/policy"
	benchRoot   = "testdata/terragoat/terraform/aws"
	// benchFailures is what the policy finds in one copy of the root.
	benchFailures = 63
	benchRoots    = 20
)

// BenchmarkVersusCLI compares in-process evaluation with the conftest CLI on
// the same policy and roots (TerraGoat's 14 AWS files per root), alternating
// the two in every iteration so both see the same machine:
//
//	go test -run '^$' -bench VersusCLI -benchtime 10x ./agent/policy/
//
// Per iteration, "one-root" compiles the policies and checks one root, against
// one `conftest test` process. "20-roots" compiles once and checks 20 roots one
// after the other, against 20 `conftest test` processes (one per root, as a CI
// job does, and as the pipeline would otherwise run it: each root is reported
// on its own) — the ratio the target is about — and against one process given
// all 20 directories (cli-once-ms, ratio-once), which amortizes start-up and
// compilation as the Engine does but loses the per-root split.
//
// The CLI is $CONFTEST, else conftest on PATH when it is v0.71.1, else built
// with `go install github.com/open-policy-agent/conftest@v0.71.1`.
func BenchmarkVersusCLI(b *testing.B) {
	cli := conftestCLI(b)
	parent := b.TempDir()
	roots := make([]Root, benchRoots)
	dirs := make([]string, benchRoots)
	for i := range roots {
		dirs[i] = filepath.Join(parent, fmt.Sprintf("root%02d", i))
		testkit.CopyTree(b, benchRoot, dirs[i])
		roots[i] = Root{Dir: dirs[i], Rel: fmt.Sprintf("root%02d", i)}
	}
	ctx := context.Background()
	opts := Options{Paths: []string{benchPolicy}}

	b.Run("one-root", func(b *testing.B) {
		var inproc, cliTime time.Duration
		for b.Loop() {
			start := time.Now()
			e, err := Compile(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			checkRoots(b, e, roots[:1])
			inproc += time.Since(start)

			start = time.Now()
			runCLI(b, cli, dirs[:1])
			cliTime += time.Since(start)
		}
		report(b, inproc, cliTime, "cli-ms", "ratio")
	})

	b.Run("20-roots", func(b *testing.B) {
		var inproc, perRoot, once time.Duration
		for b.Loop() {
			start := time.Now()
			e, err := Compile(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			checkRoots(b, e, roots)
			inproc += time.Since(start)

			start = time.Now()
			for _, d := range dirs {
				runCLI(b, cli, []string{d})
			}
			perRoot += time.Since(start)

			start = time.Now()
			runCLI(b, cli, dirs)
			once += time.Since(start)
		}
		report(b, inproc, perRoot, "cli-ms", "ratio")
		report(b, inproc, once, "cli-once-ms", "ratio-once")
	})
}

// report adds the per-iteration times and their ratio to the benchmark line.
func report(b *testing.B, inproc, cli time.Duration, cliUnit, ratioUnit string) {
	b.Helper()
	n := float64(b.N)
	b.ReportMetric(float64(inproc.Milliseconds())/n, "inproc-ms")
	b.ReportMetric(float64(cli.Milliseconds())/n, cliUnit)
	b.ReportMetric(float64(inproc)/float64(cli), ratioUnit)
}

// checkRoots checks the roots' HCL and that each has the expected failures.
func checkRoots(b *testing.B, e *Engine, roots []Root) {
	b.Helper()
	for _, r := range roots {
		fs, err := e.CheckHCL(context.Background(), r)
		if err != nil {
			b.Fatal(err)
		}
		if len(fs) != benchFailures {
			b.Fatalf("%s: %d findings, want %d", r.Rel, len(fs), benchFailures)
		}
	}
}

// runCLI runs `conftest test` on dirs and checks it found what the Engine finds.
func runCLI(b *testing.B, cli string, dirs []string) {
	b.Helper()
	args := append([]string{"test", "--no-color", "--no-fail", "--output", "json", "--policy", benchPolicy}, dirs...)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(cli, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s", cli, strings.Join(args, " "), err, stderr.String())
	}
	var results []struct {
		Failures []json.RawMessage `json:"failures"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		b.Fatalf("reading conftest's JSON output: %v", err)
	}
	n := 0
	for _, r := range results {
		n += len(r.Failures)
	}
	if want := benchFailures * len(dirs); n != want {
		b.Fatalf("conftest found %d failures, want %d", n, want)
	}
}

// conftestCLI returns the path of a conftest CLI of cliVersion, building it
// when none is at hand; the benchmark fails when it cannot get one.
func conftestCLI(b testing.TB) string {
	b.Helper()
	if p := os.Getenv("CONFTEST"); p != "" {
		if v := binaryVersion(p); v != cliVersion {
			b.Fatalf("CONFTEST=%s is conftest %q, want %s", p, v, cliVersion)
		}
		return p
	}
	if p, err := exec.LookPath("conftest"); err == nil && binaryVersion(p) == cliVersion {
		return p
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("no conftest %s: set CONFTEST to its path or put it on PATH (and no go command to build it: %v)", cliVersion, err)
	}
	bin := b.TempDir()
	cmd := exec.Command(goTool, "install", cliPackage)
	cmd.Dir = bin
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("no conftest %s: set CONFTEST to its path or put it on PATH; building it with `go install %s` failed: %v\n%s",
			cliVersion, cliPackage, err, out)
	}
	p := filepath.Join(bin, "conftest")
	if v := binaryVersion(p); v != cliVersion {
		b.Fatalf("go install %s built conftest %q", cliPackage, v)
	}
	return p
}

// binaryVersion returns a conftest binary's version: from its build
// information when built with `go install`, else from `conftest --version`
// (release builds stamp it there); "" when neither says.
func binaryVersion(path string) string {
	if bi, err := buildinfo.ReadFile(path); err == nil && bi.Main.Path == conftestModule && strings.HasPrefix(bi.Main.Version, "v") {
		return bi.Main.Version
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Conftest: "); ok {
			return "v" + strings.TrimPrefix(v, "v")
		}
	}
	return ""
}
