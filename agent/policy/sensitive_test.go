package policy

import (
	"context"
	"testing"

	"github.com/infra-agent/infra-agent/checks"
)

// Sensitive values are masked whole in policy messages, never inside another
// word or an address: a sensitive "bar" leaves null_resource.bar alone.
func TestSensitiveMasker(t *testing.T) {
	doc, err := checks.DecodePlan([]byte(`{"format_version":"1.2","resource_changes":[
		{"address":"null_resource.bar","change":{"actions":["create"],"after":{"triggers":{"name":"bar","token":"s3cr3t-value","pin":"12"}},
		 "after_sensitive":{"triggers":{"name":true,"token":true,"pin":true}}}}],
		"variables":{"db_password":{"value":"hunter2 hunter2"}},
		"configuration":{"root_module":{"variables":{"db_password":{"sensitive":true}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	mask := sensitiveMasker(doc)
	tests := []struct{ in, want string }{
		{"null_resource.bar sets name bar", "null_resource.bar sets name (sensitive value)"},
		{"module.bar.aws_s3_bucket.bar[\"bar\"] exists", "module.bar.aws_s3_bucket.bar[\"bar\"] exists"},
		{"barn and crowbar and bar_code stay", "barn and crowbar and bar_code stay"},
		{"token=s3cr3t-value;", "token=(sensitive value);"},
		{"a token s3cr3t-values is another word", "a token s3cr3t-values is another word"},
		{"password 'hunter2 hunter2' is weak", "password '(sensitive value)' is weak"},
		{"bar", "(sensitive value)"},
		{"pin 12 stays: shorter than three", "pin 12 stays: shorter than three"},
	}
	for _, tt := range tests {
		if got := mask(tt.in); got != tt.want {
			t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	meta := map[string]any{"evidence": []any{"token s3cr3t-value"}, "policyId": "X-1"}
	got := checks.MapStrings(meta, mask).(map[string]any)
	if got["evidence"].([]any)[0] != "token (sensitive value)" || got["policyId"] != "X-1" {
		t.Errorf("masked metadata = %v", got)
	}
	if meta["evidence"].([]any)[0] != "token s3cr3t-value" {
		t.Error("masking changed the result's own metadata")
	}
}

// A policy that quotes sensitive values gets them masked in its message and
// in its metadata; the finding keeps its policy id.
func TestPlanFindingsMaskSensitiveValues(t *testing.T) {
	e := compile(t, Options{Paths: []string{"../../testdata/corpus/policy/plan"}})
	plan := readFile(t, "../../testdata/corpus/generated/sensitivity.plan.json")
	fs, err := e.CheckPlan(context.Background(), Root{Dir: "../../testdata/corpus/generated/cases/sensitivity", Rel: "sensitivity"}, plan)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fs {
		if f.Rule == "deny" && f.Message == "terraform_data.cfg sets a sensitive value (sensitive value)" {
			found = true
		}
		if f.PolicyID != "" && f.PolicyID != "CORPUS-001" && f.PolicyID != "CORPUS-002" {
			t.Errorf("policy id %q", f.PolicyID)
		}
	}
	if !found {
		t.Errorf("no masked finding among %+v", fs)
	}
	fs, err = e.CheckPlan(context.Background(), Root{Dir: "../../testdata/corpus/generated/cases/forget", Rel: "forget"},
		readFile(t, "../../testdata/corpus/handwritten/deferred.plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Metadata != nil && f.PolicyID == "" {
			t.Errorf("finding with metadata %v has no policy id", f.Metadata)
		}
	}
}
