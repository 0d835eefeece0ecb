package testkit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteTerraformRoot writes a configuration and a prior state that make
// terraform plan, with no provider to download, every kind of change: about n
// creates and updates (an object input with nested values, strings), three
// deletes (instances no longer configured), three replaces (changed
// triggers_replace), a moved instance, a sensitive variable and secrets that
// are not marked sensitive.
func WriteTerraformRoot(tb testing.TB, dir string, n int) {
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
