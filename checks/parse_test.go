package checks

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

func readPlan(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "plans", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParsePlanErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"malformed fixture", readPlan(t, "terraform-json/invalid.plan.json"), "unexpected data after the end of the plan document"},
		{"state instead of a plan", readPlan(t, "checkov/EDGE_corrupted.tfplan.json"), "not `terraform show -json` of a saved plan"},
		{"empty", []byte(" \n"), "the input is empty"},
		{"truncated", []byte(`{"format_version":"1.2","resource_changes":[`), "the JSON ends early, after 44 bytes (line 1, column 45): the plan output was truncated"},
		{"truncated on a later line", []byte("{\n\"format_version\": \"1.2\",\n\"planned_values\": {\"root_module\": {"), "(line 3, column 36)"},
		{"setup-terraform wrapper", []byte("[command]/home/runner/work/_temp/0b5e/terraform-bin show -json tfplan\n{\"format_version\":\"1.2\"}\n::debug::Terraform exited with code 0.\n"), "set `terraform_wrapper: false`"},
		{"syntax error has a line", []byte("{\n\"format_version\": \"1.2\",\n\"planned_values\": {,}\n}"), "line 3, column"},
		{"no format version", []byte(`{"planned_values":{}}`), "format version is missing"},
		{"unsupported format version", []byte(`{"format_version":"2.0","planned_values":{}}`), "unsupported plan format version"},
		{"wrong shape", []byte(`{"format_version":"1.2","resource_changes":{"a":1}}`), "resource_changes is an object, not a list"},
		{"wrong shape deeper", []byte(`{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":"create"}}]}`), "resource_changes[0].change.actions is a string, not a list"},
		{"not an object", []byte(`[1,2]`), "the document is a list, not an object"},
		{"odd utf-16", []byte{0xFF, 0xFE, '{', 0, '}'}, "odd number of bytes"},
		{"not json", []byte("Plan: 1 to add"), "invalid character 'P'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePlan(tt.data)
			if err == nil {
				t.Fatalf("ParsePlan succeeded (%+v), want an error containing %q", p.Counts, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "parsing plan JSON: ") {
				t.Errorf("error %q, want it to start with %q and contain %q", err, "parsing plan JSON: ", tt.want)
			}
		})
	}
}

func utf16Encode(s string, bigEndian, mark bool) []byte {
	var out []byte
	units := utf16.Encode([]rune(s))
	if mark {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func TestParsePlanEncodings(t *testing.T) {
	utf8Plan := readPlan(t, "terraform-json/basic.plan.json")
	want, err := ParsePlan(utf8Plan)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"utf-8 with mark", append([]byte{0xEF, 0xBB, 0xBF}, utf8Plan...)},
		{"utf-16le with mark", utf16Encode(string(utf8Plan), false, true)},
		{"utf-16be with mark", utf16Encode(string(utf8Plan), true, true)},
		{"utf-16le without mark", utf16Encode(string(utf8Plan), false, false)},
		{"utf-16be without mark", utf16Encode(string(utf8Plan), true, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePlan(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parsed differently from the UTF-8 plan: counts %+v, want %+v", got.Counts, want.Counts)
			}
		})
	}
	t.Run("fixture from PowerShell", func(t *testing.T) {
		p, err := ParsePlan(readPlan(t, "checkov/EDGE_utf16_encoded.tfplan.json"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Counts.Create == 0 || p.FormatVersion == "" {
			t.Errorf("decoded UTF-16 plan has no changes: %+v", p)
		}
	})
}

func TestParsePlanCounts(t *testing.T) {
	tests := []struct {
		file string
		want PlanCounts
	}{
		{"checkov/terragoat-aws.tfplan.json", PlanCounts{Create: 55, Outputs: 10}},
		{"checkov/replace_create_delete.tfplan.json", PlanCounts{Replace: 1}},
		{"checkov/github_oidc_trust_policy.tfplan.json", PlanCounts{Create: 5, Read: 4}},
		{"checkov/providers_only_tf1.11.tfplan.json", PlanCounts{}},
		{"terraform-json/moved_block.plan.json", PlanCounts{NoOp: 1, Moved: 1}},
		{"terraform-json/action_reason.plan.json", PlanCounts{Replace: 1}},
		{"terraform-json/no_changes.plan.json", PlanCounts{NoOp: 6}},
		{"scalr/enforce_var_desc.valid.tfplan.json", PlanCounts{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := ParsePlan(readPlan(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if p.Counts != tt.want {
				t.Errorf("counts %+v, want %+v", p.Counts, tt.want)
			}
		})
	}
}

// planWith wraps resource changes in a minimal plan document.
func planWith(changes ...string) []byte {
	return []byte(`{"format_version":"1.2","terraform_version":"1.5.7","planned_values":{},"resource_changes":[` +
		strings.Join(changes, ",") + `]}`)
}

func TestParsePlanActions(t *testing.T) {
	p, err := ParsePlan(planWith(
		`{"address":"a.create","change":{"actions":["create"],"after":{}}}`,
		`{"address":"a.update","change":{"actions":["update"],"before":{},"after":{}}}`,
		`{"address":"a.noop","change":{"actions":["no-op"],"before":{},"after":{}}}`,
		`{"address":"a.moved","previous_address":"a.old","change":{"actions":["update"],"before":{},"after":{}}}`,
		`{"address":"a.imported","change":{"actions":["no-op"],"before":{},"after":{},"importing":{"id":"i-123"}}}`,
		`{"address":"a.read","change":{"actions":["read"],"after":{}}}`,
		`{"address":"a.cbd","change":{"actions":["create","delete"],"before":{},"after":{}}}`,
		`{"address":"a.forget","change":{"actions":["forget"],"before":{}}}`,
		`{"address":"a.delete","change":{"actions":["delete"],"before":{}},"action_reason":"delete_because_no_resource_config"}`,
		`{"address":"a.dbc","change":{"actions":["delete","create"],"before":{},"after":{}}}`,
		`{"address":"a.deposed","deposed":"00000001","change":{"actions":["delete"],"before":{}}}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	want := PlanCounts{Create: 1, Update: 2, Delete: 2, Replace: 2, Read: 1, NoOp: 2, Moved: 1, Import: 1, Forget: 1}
	if p.Counts != want {
		t.Errorf("counts %+v, want %+v", p.Counts, want)
	}
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.Address+" "+string(c.Action))
	}
	wantOrder := []string{
		"a.delete delete", "a.deposed delete", "a.cbd replace", "a.dbc replace",
		"a.create create", "a.update update", "a.moved update", "a.imported no-op", "a.read read", "a.forget forget",
	}
	if !reflect.DeepEqual(got, wantOrder) {
		t.Errorf("changes in order\n%q\nwant\n%q", got, wantOrder)
	}
	byAddr := map[string]ResourceChange{}
	for _, c := range p.Changes {
		byAddr[c.Address] = c
	}
	for addr, want := range map[string]string{
		"a.cbd":      "a.cbd will be replaced (create before destroy) ⚠",
		"a.dbc":      "a.dbc will be replaced ⚠",
		"a.delete":   "a.delete will be destroyed (no longer in the configuration) ⚠",
		"a.deposed":  "a.deposed will be destroyed (deposed object 00000001) ⚠",
		"a.moved":    "a.moved will be updated in-place (moved from a.old)",
		"a.imported": "a.imported will be imported (import id i-123)",
		"a.forget":   "a.forget will be removed from state without being destroyed",
		"a.read":     "a.read will be read during apply",
	} {
		if got := headline(byAddr[addr]); got != want {
			t.Errorf("headline(%s) = %q, want %q", addr, got, want)
		}
	}
}
