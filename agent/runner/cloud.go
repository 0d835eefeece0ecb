package runner

import (
	"encoding/json"
	"os"
	"strings"
)

// cloudKeyWarnings names the long-lived cloud credentials in the runner's
// environment: plan roles should come from the cloud's OIDC federation, with
// sessions of an hour at most. Only names are reported, never values.
func cloudKeyWarnings(environ []string) []string {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && v != "" {
			env[k] = v
		}
	}
	var out []string
	if id := env["AWS_ACCESS_KEY_ID"]; id != "" && (strings.HasPrefix(id, "AKIA") || env["AWS_SESSION_TOKEN"] == "") {
		out = append(out, "AWS_ACCESS_KEY_ID holds a long-lived access key: use aws-actions/configure-aws-credentials with role-to-assume (OIDC) and a read-only plan role")
	}
	if env["ARM_CLIENT_SECRET"] != "" || env["ARM_CLIENT_CERTIFICATE_PASSWORD"] != "" {
		out = append(out, "ARM_CLIENT_SECRET holds a long-lived Azure client secret: use a federated credential (ARM_USE_OIDC=true) for a Reader plan identity")
	}
	for _, name := range []string{"GOOGLE_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS"} {
		v := env[name]
		if v == "" {
			continue
		}
		doc := []byte(v)
		if !strings.HasPrefix(strings.TrimSpace(v), "{") {
			if data, err := os.ReadFile(v); err == nil {
				doc = data
			}
		}
		var key struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(doc, &key) == nil && key.Type == "service_account" {
			out = append(out, name+" holds a service account key: use Workload Identity Federation (google-github-actions/auth) for a viewer plan role")
		}
	}
	return out
}
