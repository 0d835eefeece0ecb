package checks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// runTerraform runs terraform in dir and returns its standard output.
func runTerraform(tb testing.TB, dir string, args ...string) []byte {
	tb.Helper()
	cmd := exec.Command(testkit.TerraformBinary(tb), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// savedPlan writes a root of about n terraform_data instances (see
// writeTerraformRoot), plans it offline into dir/tfplan and returns the plan
// file and its `terraform show -json`.
func savedPlan(tb testing.TB, dir string, n int) (planFile string, planJSON []byte) {
	tb.Helper()
	writeTerraformRoot(tb, dir, n)
	runTerraform(tb, dir, "init", "-input=false", "-no-color")
	runTerraform(tb, dir, "plan", "-input=false", "-no-color", "-refresh=false", "-lock=false", "-out=tfplan")
	planFile = filepath.Join(dir, "tfplan")
	return planFile, runTerraform(tb, dir, "show", "-json", planFile)
}

// writeTerraformRoot writes a configuration and a prior state that make
// terraform plan, with no provider to download, every kind of change: about n
// creates and updates (an object input with nested values, strings), three
// deletes (instances no longer configured), three replaces (changed
// triggers_replace), a moved instance, a sensitive variable and secrets that
// are not marked sensitive.
func writeTerraformRoot(tb testing.TB, dir string, n int) {
	tb.Helper()
	const blocks = 10 // distinct resource blocks for the updated instances
	perBlock := max(1, n/5/blocks)
	creates := max(1, n-blocks*perBlock-10)
	var cfg strings.Builder
	cfg.WriteString(`variable "db_password" {
  type      = string
  sensitive = true
  default   = "hunter2-not-for-display"
}

resource "terraform_data" "db" {
  input = { user = "app", password = var.db_password }
}

resource "terraform_data" "leaky" {
  input = {
    access_key = "AKIAIOSFODNN7EXAMPLE"
    note       = "deploy with token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"
  }
}

resource "terraform_data" "settings" {
  input = {
    name  = "settings"
    size  = 3
    tags  = { team = "platform", tier = "web" }
    zones = ["a", "b", "c"]
  }
}

resource "terraform_data" "rotate" {
  count            = 3
  input            = "rotate-${count.index}"
  triggers_replace = ["v2"]
}

moved {
  from = terraform_data.old_name
  to   = terraform_data.new_name
}

resource "terraform_data" "new_name" {
  input = "kept"
}

`)
	fmt.Fprintf(&cfg, `resource "terraform_data" "fleet" {
  count = %d
  input = {
    name        = "fleet-${count.index}"
    size        = count.index %% 7
    zone        = element(["eu-west-1a", "eu-west-1b", "eu-west-1c"], count.index %% 3)
    description = "instance ${count.index} of the fleet: %s"
  }
}
`, creates, strings.Repeat("padding ", 15))
	var resources []string
	for k := range blocks {
		fmt.Fprintf(&cfg, "\nresource \"terraform_data\" \"svc_%d\" {\n  for_each = toset([for i in range(%d) : \"i-${i}\"])\n  input    = \"svc-%d-${each.key}:v2\"\n}\n", k, perBlock, k)
		var inst []string
		for j := range perBlock {
			v := fmt.Sprintf("svc-%d-i-%d:v1", k, j)
			inst = append(inst, fmt.Sprintf(`{"index_key":"i-%d","schema_version":0,"attributes":{"id":"svc-%d-%d","input":{"value":%q,"type":"string"},"output":{"value":%q,"type":"string"},"triggers_replace":null},"sensitive_attributes":[]}`, j, k, j, v, v))
		}
		resources = append(resources, stateResource(fmt.Sprintf("svc_%d", k), inst))
	}
	var retired, rotate []string
	for i := range 3 {
		retired = append(retired, fmt.Sprintf(`{"index_key":%d,"schema_version":0,"attributes":{"id":"retired-%d","input":null,"output":null,"triggers_replace":null},"sensitive_attributes":[]}`, i, i))
		rotate = append(rotate, fmt.Sprintf(`{"index_key":%d,"schema_version":0,"attributes":{"id":"rotate-%d","input":{"value":"rotate-%d","type":"string"},"output":{"value":"rotate-%d","type":"string"},"triggers_replace":{"value":["v1"],"type":["tuple",["string"]]}},"sensitive_attributes":[]}`, i, i, i, i))
	}
	settingsType := `["object",{"name":"string","size":"number","tags":["object",{"team":"string","tier":"string"}],"zones":["tuple",["string","string"]]}]`
	settings := `{"name":"settings","size":2,"tags":{"team":"platform","tier":"app"},"zones":["a","b"]}`
	resources = append(resources,
		stateResource("retired", retired),
		stateResource("rotate", rotate),
		stateResource("settings", []string{fmt.Sprintf(`{"schema_version":0,"attributes":{"id":"settings","input":{"value":%s,"type":%s},"output":{"value":%s,"type":%s},"triggers_replace":null},"sensitive_attributes":[]}`, settings, settingsType, settings, settingsType)}),
		stateResource("old_name", []string{`{"schema_version":0,"attributes":{"id":"kept","input":{"value":"kept","type":"string"},"output":{"value":"kept","type":"string"},"triggers_replace":null},"sensitive_attributes":[]}`}),
	)
	state := fmt.Sprintf(`{"version":4,"terraform_version":"1.5.7","serial":1,"lineage":"5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3","outputs":{},"resources":[%s]}`, strings.Join(resources, ",\n"))
	if !json.Valid([]byte(state)) {
		tb.Fatal("generated state is not valid JSON")
	}
	for name, content := range map[string]string{"main.tf": cfg.String(), "terraform.tfstate": state} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func stateResource(name string, instances []string) string {
	return fmt.Sprintf(`{"mode":"managed","type":"terraform_data","name":%q,"provider":"provider[\"terraform.io/builtin/terraform\"]","instances":[%s]}`,
		name, strings.Join(instances, ","))
}

// TestRealTerraformPlan renders a plan made by the real terraform from a
// configuration and state with every kind of change, and checks it against a
// golden file, the counts terraform itself reports, and the planted secrets.
func TestRealTerraformPlan(t *testing.T) {
	dir := t.TempDir()
	planFile, planJSON := savedPlan(t, dir, 40)
	p, err := ParsePlan(planJSON)
	if err != nil {
		t.Fatal(err)
	}
	want := PlanCounts{Create: 22, Update: 11, Delete: 3, Replace: 3, NoOp: 1, Moved: 1}
	if p.Counts != want {
		t.Errorf("counts %+v, want %+v", p.Counts, want)
	}
	// terraform counts a replace as one add and one destroy.
	human := string(runTerraform(t, dir, "show", "-no-color", planFile))
	if !strings.Contains(human, "Plan: 25 to add, 11 to change, 6 to destroy.") {
		t.Errorf("terraform show disagrees with the test's expectations:\n%s", human[max(0, len(human)-300):])
	}
	r := Report{
		Roots: []RootResult{{Dir: "envs/real", Steps: []Step{{Name: StepPlan, Status: StepOK}}, Plan: p}},
		// Not p.TerraformVersion: the golden file holds for any terraform
		// that plans the same.
		Versions: map[string]string{"terraform": "under test"},
	}
	out := PlanCheck(r)
	assertWithinLimits(t, out)
	got := describeOutput(out) + "\n--- terminal\n" + RenderText(r, false)
	for _, secret := range []string{"hunter2-not-for-display", "AKIAIOSFODNN7EXAMPLE", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"} {
		if !strings.Contains(string(planJSON), secret) {
			t.Errorf("the plan JSON should carry %q for this test to mean something", secret)
		}
		if strings.Contains(got, secret) {
			t.Errorf("rendered plan shows the secret %q", secret)
		}
	}
	golden(t, "golden/real_terraform_plan", got)
}
