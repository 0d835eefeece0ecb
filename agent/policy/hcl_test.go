package policy

import (
	"bytes"
	"context"
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
