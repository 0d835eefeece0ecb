package terraform

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestExportedSurfaceHasNoForbiddenVerb(t *testing.T) {
	// forbiddenVerbs are terraform commands that change infrastructure or
	// state, or bypass locks: none may be reachable through this package.
	forbiddenVerbs := []string{
		"apply", "destroy", "import", "state", "taint", "untaint", "unlock", "refresh",
		"push", "pull", "mv", "move", "rm", "remove", "replace", "delete", "new", "migrate",
		"upgrade", "console", "output", "exec", "run", "raw", "cmd", "command", "terraform", "tfexec",
	}
	// allowedMethods is the whole exported surface of *CLI: adding a method
	// means adding it here, on purpose.
	allowedMethods := []string{
		"FormatCheck", "FormatWrite", "Init", "Name", "Plan", "SelectWorkspace", "ShowPlanJSON", "Validate", "Version",
	}
	camelWord := regexp.MustCompile(`[A-Z][a-z0-9]*|[a-z0-9]+`)
	typ := reflect.TypeOf(&CLI{})
	var got []string
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		got = append(got, m.Name)
		for _, w := range camelWord.FindAllString(m.Name, -1) {
			if slices.Contains(forbiddenVerbs, strings.ToLower(w)) {
				t.Errorf("method %s contains the forbidden verb %q", m.Name, w)
			}
		}
		// No method may hand out the underlying terraform-exec value.
		for j := range m.Type.NumOut() {
			if out := m.Type.Out(j); strings.Contains(out.String(), "tfexec") {
				t.Errorf("method %s returns %s", m.Name, out)
			}
		}
	}
	if !slices.Equal(got, allowedMethods) {
		t.Errorf("exported methods of *CLI = %v, want exactly %v", got, allowedMethods)
	}
	for i := range reflect.TypeOf(CLI{}).NumField() {
		if f := reflect.TypeOf(CLI{}).Field(i); f.IsExported() {
			t.Errorf("CLI has an exported field %s", f.Name)
		}
	}
}

// TestSourceCallsNoForbiddenCommand reads the package's own code: no call
// may name a terraform-exec method that changes state, whatever it is wrapped
// in.
func TestSourceCallsNoForbiddenCommand(t *testing.T) {
	forbidden := map[string]bool{
		"Apply": true, "ApplyJSON": true, "Destroy": true, "DestroyJSON": true, "Import": true,
		"StateMv": true, "StateRm": true, "StatePush": true, "StatePull": true, "Taint": true, "Untaint": true,
		"ForceUnlock": true, "Refresh": true, "RefreshJSON": true, "WorkspaceNew": true, "WorkspaceDelete": true,
		"Upgrade012": true, "Upgrade013": true, "Output": true, "Destroy0": true, "Replace": true,
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parsing %s: %v", name, err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && forbidden[sel.Sel.Name] {
				t.Errorf("%s: uses %s", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
