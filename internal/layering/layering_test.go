package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/infra-agent/infra-agent/"

// deps lists the packages pkg imports, directly or not (test files aside).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestServerImportsNoRunnerCode(t *testing.T) {
	forbidden := []string{
		module + "agent/", "github.com/hashicorp/terraform-exec", "github.com/open-policy-agent/",
		"github.com/anthropics/", "github.com/openai/",
	}
	for _, pkg := range []string{"broker", "jobs", "handlers", "intake", "store", "ghclient", "exclusive", "ingress"} {
		for _, d := range deps(t, pkg) {
			for _, f := range forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("server package %s imports %s", pkg, d)
				}
			}
		}
	}
}

func TestRunnerImportsNoServerCode(t *testing.T) {
	forbidden := []string{"broker", "jobs", "handlers", "intake", "store", "ghclient", "exclusive", "ingress"}
	for _, pkg := range []string{"agent/runner", "agent/loop", "agent/pipeline", "agent/publish", "agent/policy", "agent/terraform"} {
		ds := deps(t, pkg)
		if pkg == "agent/runner" && !contains(ds, module+"wire") {
			t.Errorf("the runner does not import the wire contract")
		}
		for _, d := range ds {
			for _, f := range forbidden {
				if d == module+f || strings.HasPrefix(d, module+f+"/") {
					t.Errorf("runner package %s imports server package %s", pkg, d)
				}
			}
		}
	}
}

func TestWireImportsNothingOfEitherSide(t *testing.T) {
	for _, d := range deps(t, "wire") {
		if strings.HasPrefix(d, module) && d != module+"wire" {
			t.Errorf("wire imports %s", d)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
