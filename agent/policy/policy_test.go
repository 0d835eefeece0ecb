package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
)

// compile compiles policies for a test.
func compile(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := Compile(context.Background(), opts)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", opts, err)
	}
	return e
}

// readFile reads a test file.
func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// avmMock returns one mock input of an Azure policy-library mock file.
func avmMock(t testing.TB, name, mock string) []byte {
	t.Helper()
	var doc struct {
		Mock map[string]json.RawMessage `json:"mock"`
	}
	if err := json.Unmarshal(readFile(t, name), &doc); err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	plan, ok := doc.Mock[mock]
	if !ok {
		t.Fatalf("%s has no mock %q", name, mock)
	}
	return plan
}

const (
	avmPolicy = "testdata/avm/policy"
	avmMocks  = "testdata/avm/policy/avmsec/AKSRbacEnabled.azapi.mock.json"
)

// TestCounts checks the totals against those of `conftest test` v0.71.1 on
// the same policies and inputs (the counts in the comments are its summary
// lines).
func TestCounts(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		root Root
		plan func(t testing.TB) []byte // nil: check the root's HCL
		want Counts
	}{
		{
			// conftest test -p examples/hcl2/policy examples/hcl2/terraform.tf
			name: "conftest hcl2 example",
			opts: Options{Paths: []string{"testdata/conftest/examples/hcl2/policy"}},
			root: Root{Dir: "testdata/conftest/examples/hcl2", Rel: "examples/hcl2"},
			want: Counts{Tests: 6, Failures: 6},
		},
		{
			// conftest test -p examples/hcl2/policy terraform/aws/ (14 files × 4 deny rules,
			// plus the failures beyond one per rule definition)
			name: "terragoat aws",
			opts: Options{Paths: []string{"testdata/conftest/examples/hcl2/policy"}},
			root: Root{Dir: "testdata/terragoat/terraform/aws", Rel: "terraform/aws"},
			want: Counts{Tests: 85, Passed: 22, Failures: 63},
		},
		{
			name: "conftest hcl1 plan example",
			opts: Options{Paths: []string{"testdata/conftest/examples/hcl1/policy/base.rego"}},
			root: Root{Dir: "testdata/conftest/examples/hcl1", Rel: "examples/hcl1"},
			plan: func(t testing.TB) []byte { return readFile(t, "testdata/conftest/examples/hcl1/gke-show.json") },
			want: Counts{Tests: 1, Failures: 1},
		},
		{
			// conftest test --rego-version v0 --namespace terraform (input {"tfplan": plan})
			name: "scalr s3 private invalid",
			opts: Options{Paths: []string{"testdata/scalr/aws/enforce_s3_private/enforce_s3_private.rego"}, Namespaces: []string{"terraform"}, RegoVersion: "v0", PlanInputKey: "tfplan"},
			root: Root{Dir: "testdata/repo/envs/s3", Rel: "envs/s3"},
			plan: func(t testing.TB) []byte {
				return readFile(t, "testdata/scalr/aws/enforce_s3_private/enforce_s3_private.invalid.tfplan.json")
			},
			want: Counts{Tests: 1, Failures: 1},
		},
		{
			name: "scalr s3 private valid",
			opts: Options{Paths: []string{"testdata/scalr/aws/enforce_s3_private/enforce_s3_private.rego"}, Namespaces: []string{"terraform"}, RegoVersion: "v0", PlanInputKey: "tfplan"},
			root: Root{Dir: "testdata/repo/envs/s3", Rel: "envs/s3"},
			plan: func(t testing.TB) []byte {
				return readFile(t, "testdata/scalr/aws/enforce_s3_private/enforce_s3_private.valid.tfplan.json")
			},
			want: Counts{Tests: 1, Passed: 1},
		},
		{
			// conftest test --all-namespaces -p policy: the 9 failures of the whole
			// library on this mock (which counts 130 tests); this subset has 12 rules.
			name: "azure avm all namespaces",
			opts: Options{Paths: []string{avmPolicy}, AllNamespaces: true},
			root: Root{Dir: "testdata/repo/envs/aks", Rel: "envs/aks"},
			plan: func(t testing.TB) []byte { return avmMock(t, avmMocks, "invalid_disabled") },
			want: Counts{Tests: 12, Passed: 3, Failures: 9},
		},
		{
			name: "azure avm valid mock",
			opts: Options{Paths: []string{avmPolicy}, AllNamespaces: true},
			root: Root{Dir: "testdata/repo/envs/aks", Rel: "envs/aks"},
			plan: func(t testing.TB) []byte { return avmMock(t, avmMocks, "enabled") },
			want: Counts{Tests: 12, Passed: 12},
		},
		{
			name: "azure avm with an exception",
			opts: Options{Paths: []string{avmPolicy, "testdata/policies/avm-exceptions"}, AllNamespaces: true},
			root: Root{Dir: "testdata/repo/envs/aks", Rel: "envs/aks"},
			plan: func(t testing.TB) []byte { return avmMock(t, avmMocks, "invalid_disabled") },
			want: Counts{Tests: 12, Passed: 3, Failures: 8, Exceptions: 1},
		},
		{
			name: "warnings and failures on HCL",
			opts: Options{Paths: []string{"testdata/policies/hcl"}},
			root: Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"},
			want: Counts{Tests: 7, Passed: 1, Warnings: 4, Failures: 2},
		},
		{
			name: "exception on HCL",
			opts: Options{Paths: []string{"testdata/policies/hcl", "testdata/policies/hcl-exceptions"}},
			root: Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"},
			want: Counts{Tests: 7, Passed: 1, Warnings: 4, Failures: 1, Exceptions: 1},
		},
		{
			name: "data documents",
			opts: Options{Paths: []string{"testdata/policies/tags"}, DataPaths: []string{"testdata/policies/tags-data"}, Namespaces: []string{"tags"}},
			root: Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"},
			want: Counts{Tests: 1, Failures: 1},
		},
		{
			name: "module as a root",
			opts: Options{Paths: []string{"testdata/policies/hcl"}},
			root: Root{Dir: "testdata/repo/modules/net", Rel: "modules/net"},
			want: Counts{Tests: 14, Passed: 12, Failures: 2},
		},
		{
			name: "warnings and failures on a plan",
			opts: Options{Paths: []string{"testdata/policies/plan"}, Namespaces: []string{"plan"}},
			root: Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"},
			plan: func(t testing.TB) []byte { return readFile(t, "testdata/repo/envs/prod/tfplan.json") },
			want: Counts{Tests: 6, Warnings: 2, Failures: 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compile(t, tt.opts)
			var res Result
			var err error
			if tt.plan == nil {
				res, err = e.EvaluateHCL(context.Background(), tt.root)
			} else {
				res, err = e.EvaluatePlan(context.Background(), tt.root, tt.plan(t))
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Counts != tt.want {
				t.Errorf("counts = %+v, want %+v", res.Counts, tt.want)
			}
			var failures, warnings int
			for _, f := range res.Findings {
				switch f.Severity {
				case checks.SeverityFailure:
					failures++
				case checks.SeverityWarning:
					warnings++
				default:
					t.Errorf("finding %q has severity %q", f.Message, f.Severity)
				}
				if f.Source != "policy" || f.Rule == "" || f.Namespace == "" || f.Policy == "" || f.Root != tt.root.Rel {
					t.Errorf("finding %+v lacks its source, rule, namespace, policy or root", f)
				}
			}
			if failures != tt.want.Failures || warnings != tt.want.Warnings {
				t.Errorf("got %d failures and %d warnings as findings, want %d and %d", failures, warnings, tt.want.Failures, tt.want.Warnings)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string // substrings of the error
	}{
		{"syntax error", Options{Paths: []string{"testdata/policies/broken/syntax"}}, []string{"syntax.rego:6", "rego_parse_error"}},
		{"unsafe variable", Options{Paths: []string{"testdata/policies/broken/unsafe"}}, []string{"unsafe.rego:7", "var colour is unsafe"}},
		{
			"v0 policy compiled as v1",
			Options{Paths: []string{"testdata/scalr/aws/enforce_s3_private/enforce_s3_private.rego"}, Namespaces: []string{"terraform"}},
			[]string{"enforce_s3_private.rego:7", "rego_parse_error"},
		},
		{"missing namespace", Options{Paths: []string{"testdata/policies/plan"}}, []string{`namespace "main"`, "plan"}},
		{"unknown rego version", Options{Paths: []string{"testdata/policies/plan"}, RegoVersion: "v2"}, []string{`"v2"`}},
		{"no paths", Options{}, []string{"no policy paths"}},
		{"missing path", Options{Paths: []string{"testdata/policies/nope"}}, []string{"testdata/policies/nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(context.Background(), tt.opts)
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNamespaces(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"default", Options{Paths: []string{"testdata/policies/hcl"}}, []string{"main"}},
		{"all, skipping the library", Options{Paths: []string{avmPolicy}, AllNamespaces: true}, []string{"Azure_Proactive_Resiliency_Library_v2", "avmsec"}},
		{"glob", Options{Paths: []string{avmPolicy}, Namespaces: []string{"avm*"}}, []string{"avmsec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(compile(t, tt.opts).Namespaces(), ",")
			if want := strings.Join(tt.want, ","); got != want {
				t.Errorf("Namespaces() = %s, want %s", got, want)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	v := compile(t, Options{Paths: []string{"testdata/policies/hcl"}}).Versions()
	if v["opa"] != "1.21.1" || v["conftest"] == "" {
		t.Errorf("Versions() = %v, want opa 1.21.1 and a conftest version", v)
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build information", nil, "unknown"},
		{"no dependency list", &debug.BuildInfo{}, "unknown"},
		{"dependency", &debug.BuildInfo{Deps: []*debug.Module{
			{Path: "github.com/open-policy-agent/opa", Version: "v1.21.1"},
			{Path: conftestModule, Version: "v0.71.1"},
		}}, "v0.71.1"},
		{"replaced", &debug.BuildInfo{Deps: []*debug.Module{
			{Path: conftestModule, Version: "v0.71.1", Replace: &debug.Module{Path: "example.com/fork", Version: "v0.71.2"}},
		}}, "v0.71.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := moduleVersion(tt.bi, conftestModule); got != tt.want {
				t.Errorf("moduleVersion = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlanInputErrors(t *testing.T) {
	e := compile(t, Options{Paths: []string{"testdata/policies/plan"}, Namespaces: []string{"plan"}})
	root := Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"}
	for name, data := range map[string][]byte{
		"not JSON":   []byte("Terraform will perform the following actions"),
		"truncated":  []byte(`{"resource_changes": [`),
		"odd UTF-16": {0xff, 0xfe, '{'},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.CheckPlan(context.Background(), root, data); err == nil || !strings.Contains(err.Error(), "envs/prod") {
				t.Errorf("CheckPlan error = %v, want one naming the root", err)
			}
		})
	}
}

func TestHCLErrors(t *testing.T) {
	e := compile(t, Options{Paths: []string{"testdata/policies/hcl"}})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.tf"), []byte("resource \"a\" \"b\" {\n  x = \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := e.CheckHCL(context.Background(), Root{Dir: dir, Rel: "envs/bad"})
	if err == nil || !strings.Contains(err.Error(), "envs/bad/bad.tf") {
		t.Errorf("CheckHCL error = %v, want one naming envs/bad/bad.tf", err)
	}
	if _, err := e.CheckHCL(context.Background(), Root{Dir: filepath.Join(dir, "missing"), Rel: "missing"}); err == nil {
		t.Error("CheckHCL on a missing directory succeeded")
	}
}

// One Engine serves many roots at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	e := compile(t, Options{Paths: []string{"testdata/conftest/examples/hcl2/policy", "testdata/policies/hcl"}})
	ctx := context.Background()
	roots := []Root{
		{Dir: "testdata/terragoat/terraform/aws", Rel: "terraform/aws"},
		{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"},
		{Dir: "testdata/repo/modules/net", Rel: "modules/net"},
	}
	want := make([]Result, len(roots))
	for i, r := range roots {
		var err error
		if want[i], err = e.EvaluateHCL(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	const workers = 8
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			i := w % len(roots)
			got, err := e.EvaluateHCL(ctx, roots[i])
			switch {
			case err != nil:
				errs <- err
			case !reflect.DeepEqual(got, want[i]):
				errs <- fmt.Errorf("%s: concurrent result differs from the sequential one", roots[i].Rel)
			default:
				errs <- nil
			}
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A pack written in Rego v0 fails to parse as v1 on every rule; the error
// says which setting to use, and keeps a few of the parse errors, not all.
func TestCompileRegoVersionHint(t *testing.T) {
	const pack = "testdata/scalr/aws"
	_, err := Compile(context.Background(), Options{Paths: []string{pack}, Namespaces: []string{"terraform"}})
	if err == nil {
		t.Fatal("a Rego v0 pack compiled as v1")
	}
	msg := err.Error()
	for _, want := range []string{"written in Rego v0 syntax", "policy.rego_version: v0", "--rego-version v0", "rego_parse_error", "more lines)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "rego_parse_error"); n > maxLoadErrorLines {
		t.Errorf("error repeats %d parse errors:\n%s", n, msg)
	}
	// And the other way round: a v1 policy read as v0.
	_, err = Compile(context.Background(), Options{Paths: []string{"testdata/policies/v1-syntax"}, RegoVersion: "v0"})
	if err == nil || !strings.Contains(err.Error(), "set policy.rego_version: v1") {
		t.Errorf("v1 policies compiled as v0: %v", err)
	}
}

// The same pack loads with rego_version v0 and its data files, as conftest
// loads it with --rego-version v0 --data, and finds what its own mocks say.
func TestPackWithData(t *testing.T) {
	const pack = "testdata/scalr/aws/enforce_sec_group"
	e := compile(t, Options{Paths: []string{pack}, DataPaths: []string{pack + "/enforce_sec_group_mock.json"},
		Namespaces: []string{"terraform"}, RegoVersion: "v0"})
	var doc struct {
		Mock map[string]json.RawMessage `json:"mock"`
	}
	if err := json.Unmarshal(readFile(t, pack+"/enforce_sec_group_mock.json"), &doc); err != nil {
		t.Fatal(err)
	}
	root := Root{Dir: "testdata/repo/envs/s3", Rel: "envs/s3"}
	for name, wantFail := range map[string]bool{"valid": false, "invalid": true} {
		res, err := e.EvaluatePlan(context.Background(), root, doc.Mock[name])
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Counts.Failures > 0; got != wantFail {
			t.Errorf("mock %s: counts %+v, want failures %v", name, res.Counts, wantFail)
		}
	}
}

// ConfigOptions turns the repository's policy settings into engine options
// under the checkout.
func TestConfigOptions(t *testing.T) {
	got := ConfigOptions("/repo", config.PolicyConfig{Paths: []string{"policy"}, Data: []string{"policy/data.yaml"},
		Namespaces: []string{"main"}, RegoVersion: "v0", AllNamespaces: true})
	want := Options{Paths: []string{filepath.FromSlash("/repo/policy")}, DataPaths: []string{filepath.FromSlash("/repo/policy/data.yaml")},
		Namespaces: []string{"main"}, RegoVersion: "v0", AllNamespaces: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ConfigOptions = %+v, want %+v", got, want)
	}
}

// Policies cannot read environment variables: a canary in the environment
// never reaches a result, on HCL or on a plan.
func TestPoliciesCannotReadTheEnvironment(t *testing.T) {
	const canary = "canary-7f3a9c1e-must-not-leak"
	t.Setenv("INFRA_AGENT_TEST_CANARY", canary)
	t.Setenv("GITHUB_TOKEN", canary)
	e := compile(t, Options{Paths: []string{"testdata/policies/env"}})
	hcl, err := e.EvaluateHCL(context.Background(), Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.EvaluatePlan(context.Background(), Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"},
		readFile(t, "testdata/repo/envs/prod/tfplan.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []Result{hcl, plan} {
		if len(res.Findings) == 0 {
			t.Fatal("the policy produced nothing: the test would pass without looking")
		}
		for _, f := range res.Findings {
			if strings.Contains(f.Message, canary) || strings.Contains(fmt.Sprint(f.Metadata), canary) {
				t.Errorf("a policy read the environment: %q", f.Message)
			}
			if strings.HasPrefix(f.Message, "canary:") || f.Severity == checks.SeverityWarning {
				t.Errorf("a policy saw an environment variable: %q", f.Message)
			}
			if f.Message != "environment: {}" {
				t.Errorf("message %q, want the empty environment", f.Message)
			}
		}
	}
}
