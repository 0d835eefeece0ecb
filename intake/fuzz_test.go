package intake_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// FuzzWebhookIntake sends correctly signed arbitrary bodies and delivery ids
// through the real dispatcher: intake answers 200 or 400, never accepts what
// encoding/json calls invalid, and never fails with 5xx.
//
// Each input is an HTTP round trip and often a commit, so limit the time spent
// minimising the inputs that add coverage:
//
//	go test ./intake -run '^$' -fuzz FuzzWebhookIntake -fuzztime 30s -fuzzminimizetime 2s
func FuzzWebhookIntake(f *testing.F) {
	f.Add(fixture(f, "issue_comment-00-created.json"), "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	f.Add([]byte(`{"action":"created"}`), "")
	f.Add([]byte(`{"action":`), "truncated")
	f.Add([]byte(`[1, 2, {"a": "\u00e9"}]`), "array")
	f.Add([]byte("{\"a\":\"\xff\"}"), "invalid-utf8")
	f.Add([]byte(`{} {}`), "two-values")
	h := newHarness(f, "", []githubapp.EventHandler{newRecorder("issue_comment")}, intake.WithSweepInterval(time.Hour))
	client := h.srv.Client()
	f.Fuzz(func(t *testing.T, body []byte, id string) {
		if strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
			return // not representable in an HTTP header
		}
		req, err := http.NewRequest(http.MethodPost, h.srv.URL+githubapp.DefaultWebhookRoute, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "issue_comment")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", testkit.Sign(testSecret, body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("posting: %v", err)
		}
		_ = resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			if !json.Valid(body) {
				t.Errorf("accepted a body that is not JSON: %q", body)
			}
			if id == "" || len(id) > 128 {
				t.Errorf("accepted delivery id %q", id)
			}
		case http.StatusBadRequest:
			if json.Valid(body) && id != "" && len(strings.TrimSpace(id)) == len(id) && len(id) <= 128 {
				t.Errorf("refused valid JSON with delivery id %q: %q", id, body)
			}
		default:
			t.Errorf("status %d for body %q, id %q", resp.StatusCode, body, id)
		}
	})
}
