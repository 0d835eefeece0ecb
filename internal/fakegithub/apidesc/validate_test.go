package apidesc

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	api, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, template, path, body string
		want                               Problem // 0: valid
	}{
		{"null body where the body is optional", "POST", "/app/installations/{installation_id}/access_tokens",
			"/app/installations/1/access_tokens", "null", 0},
		{"repository root", "GET", "/repos/{owner}/{repo}/contents/{path}", "/repos/o/r/contents/", "", 0},
		{"valid body", "POST", "/repos/{owner}/{repo}/check-runs", "/repos/o/r/check-runs",
			`{"name":"n","head_sha":"s"}`, 0},
		{"bad path parameter", "GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "/repos/o/r/pulls/x", "",
			BadPathParameter},
		{"malformed JSON", "POST", "/repos/{owner}/{repo}/check-runs", "/repos/o/r/check-runs", `{"name":`,
			MalformedJSON},
		{"maxItems", "POST", "/repos/{owner}/{repo}/check-runs", "/repos/o/r/check-runs",
			`{"name":"n","head_sha":"s","actions":[` + strings.Repeat(`{"label":"l","description":"d","identifier":"i"},`, 3) +
				`{"label":"l","description":"d","identifier":"i"}]}`, SchemaMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := api.Operation(tt.method, tt.template)
			if err != nil {
				t.Fatal(err)
			}
			m, found, _ := api.Match(tt.method, tt.path)
			if !found || m.Template.Path != tt.template {
				t.Fatalf("%s matched %q", tt.path, m.Template.Path)
			}
			r := httptest.NewRequest(tt.method, tt.path, nil)
			verr := op.Validate(r, []byte(tt.body), m.Params)
			switch {
			case tt.want == 0 && verr != nil:
				t.Errorf("unexpected error: %v", verr)
			case tt.want != 0 && (verr == nil || verr.Problem != tt.want):
				t.Errorf("got %#v, want problem %d", verr, tt.want)
			}
		})
	}
	if _, err := api.Operation("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"); err == nil {
		t.Error("an operation that is not implemented was found")
	}
}
