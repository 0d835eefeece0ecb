package policy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/conftest/parser"
	"github.com/rs/zerolog"
)

// The Engine parses each file once and converts it as conftest's hcl2 parser
// does; the policies must see the very same document.
func TestHCLInputIsConftests(t *testing.T) {
	conftestHCL, err := parser.New(parser.HCL2)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/*/*/*/*.tf")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("testdata/*/*/*.tf")
	files = append(files, more...)
	if len(files) < 20 {
		t.Fatalf("found only %d .tf files", len(files))
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			src := readFile(t, name)
			var want any
			if err := conftestHCL.Unmarshal(src, &want); err != nil {
				t.Fatal(err)
			}
			f, err := parseFile(src, filepath.Base(name), name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := hclInput(f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("input differs from conftest's:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// print() in a policy goes to the debug log of the context's logger.
func TestPrintGoesToTheLog(t *testing.T) {
	var buf bytes.Buffer
	ctx := zerolog.New(&buf).Level(zerolog.DebugLevel).WithContext(context.Background())
	e := compile(t, Options{Paths: []string{"testdata/policies/changes"}, Namespaces: []string{"changes"}})
	plan := readFile(t, "testdata/repo/envs/prod/tfplan.json")
	if _, err := e.CheckPlan(ctx, Root{Dir: "testdata/repo/envs/prod", Rel: "envs/prod"}, plan); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, `"policy_print":"changes: 6"`) || !strings.Contains(out, "changes.rego:") {
		t.Errorf("log = %q, want the print output with its location", out)
	}
}

// print() output is redacted before it is logged: a policy printing its
// input prints whatever secret the plan holds.
func TestPrintIsRedacted(t *testing.T) {
	dir := t.TempDir()
	rego := "package main\n\nimport rego.v1\n\ndeny contains \"x\" if {\n\tprint(\"token\", input.variables.token.value)\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "print.rego"), []byte(rego), 0o600); err != nil {
		t.Fatal(err)
	}
	token := "ghp_" + strings.Repeat("a1B2", 9)
	plan := []byte(`{"format_version":"1.2","variables":{"token":{"value":"` + token + `"}}}`)
	var buf bytes.Buffer
	ctx := zerolog.New(&buf).Level(zerolog.DebugLevel).WithContext(context.Background())
	if _, err := compile(t, Options{Paths: []string{dir}}).CheckPlan(ctx, Root{Dir: dir, Rel: "r"}, plan); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, `"policy_print":"token (redacted)"`) || strings.Contains(out, token) {
		t.Errorf("log = %q, want the print output with the token redacted", out)
	}
}

// A root without .tf files has nothing to check.
func TestEmptyRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := compile(t, Options{Paths: []string{"testdata/policies/hcl"}}).EvaluateHCL(context.Background(), Root{Dir: dir, Rel: "empty"})
	if err != nil || res.Counts.Tests != 0 || len(res.Findings) != 0 {
		t.Errorf("EvaluateHCL = %+v, %v; want nothing", res, err)
	}
}

// .tf.json files are inputs too, read as conftest reads them (its JSON
// parser: the file's own document), and their findings are placed on their
// blocks. Before, a root written in JSON passed every policy.
func TestCheckHCLJSONFiles(t *testing.T) {
	e := compile(t, Options{Paths: []string{"../../testdata/corpus/conftest/hcl2/policy"}})
	res, err := e.EvaluateHCL(context.Background(), Root{Dir: "../../testdata/corpus/tfjson", Rel: "tfjson"})
	if err != nil {
		t.Fatal(err)
	}
	// conftest test -p conftest/hcl2/policy tfjson/: "9 tests, 4 passed, 0
	// warnings, 5 failures" (main.tf.json: 5 failures; variables.tf.json:
	// 4 passed).
	if want := (Counts{Tests: 9, Passed: 4, Failures: 5}); res.Counts != want {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Message))
	}
	want := []string{
		"tfjson/main.tf.json:4 ASG `my-rule` defines a fully open ingress",
		"tfjson/main.tf.json:4 AWS resource: \"aws_security_group_rule\" named \"my-rule\" is missing required tags: {\"environment\", \"owner\"}",
		"tfjson/main.tf.json:12 ALB `my-alb-listener` is using HTTP rather than HTTPS",
		"tfjson/main.tf.json:12 AWS resource: \"aws_alb_listener\" named \"my-alb-listener\" is missing required tags: {\"environment\", \"owner\"}",
		"tfjson/main.tf.json:20 AWS resource: \"aws_s3_bucket\" named \"valid\" is missing required tags: {\"environment\", \"owner\"}",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
