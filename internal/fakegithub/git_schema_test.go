package fakegithub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// TestWriteResponsesMatchGitHubSchemas builds a commit through the Git Data API, moves a branch, opens a pull
// request, edits a comment and replies in a review thread, validating every answer against GitHub's
// description of the responses. Each step feeds the next (a tree's SHA into the commit, ...).
func TestWriteResponsesMatchGitHubSchemas(t *testing.T) {
	doc := loadResponseDescription(t)
	s := New(t)
	s.AddInstallation(7, "acme")
	s.AddRepo(Repo{ID: 10, Owner: "acme", Name: "infra", InstallationID: 7})
	s.SetFile("acme", "infra", "main", "main.tf", []byte("a\n"))
	s.SetFile("acme", "infra", "topic", "main.tf", []byte("b\n"))
	s.AddPullRequest("acme", "infra", PullRequest{Number: 1, Title: "t", User: "octocat", HeadRef: "topic",
		HeadSHA: fakeSHA("acme/infra@topic"), Files: []string{"main.tf"}})
	review := s.AddReviewComment("acme", "infra", 1, ReviewComment{User: "octocat", Body: "/agent fix", Path: "main.tf", Line: 1})
	inst, err := ghinstallation.New(http.DefaultTransport, s.AppID(), 7, s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	inst.BaseURL = strings.TrimSuffix(s.URL, "/")
	head := fakeSHA("acme/infra@topic")

	do := func(method, path string, body any, status int) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			data, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(data)
		}
		req, err := http.NewRequest(method, strings.TrimSuffix(s.URL, "/")+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: inst}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != status {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, data)
		}
		validateResponse(t, doc, s, req, resp, data)
		var out map[string]any
		_ = json.Unmarshal(data, &out)
		return out
	}
	r := "/repos/acme/infra"
	blob := do("POST", r+"/git/blobs", map[string]any{"content": "Yw==", "encoding": "base64"}, 201)
	tree := do("POST", r+"/git/trees", map[string]any{"base_tree": head, "tree": []any{
		map[string]any{"path": "main.tf", "mode": "100644", "type": "blob", "sha": blob["sha"]},
		map[string]any{"path": "modules/a/main.tf", "mode": "100644", "type": "blob", "content": "d\n"},
	}}, 201)
	commit := do("POST", r+"/git/commits", map[string]any{"message": "fix", "tree": tree["sha"], "parents": []string{head}}, 201)
	do("GET", r+"/git/commits/"+commit["sha"].(string), nil, 200)
	do("GET", r+"/git/ref/heads/topic", nil, 200)
	do("GET", r+"/git/ref/heads/absent", nil, 404)
	do("PATCH", r+"/git/refs/heads/topic", map[string]any{"sha": commit["sha"], "force": false}, 200)
	do("PATCH", r+"/git/refs/heads/topic", map[string]any{"sha": head, "force": false}, 422)
	do("GET", r+"/pulls/1/commits", nil, 200)
	do("POST", r+"/git/refs", map[string]any{"ref": "refs/heads/agent/x", "sha": commit["sha"]}, 201)
	do("POST", r+"/git/refs", map[string]any{"ref": "refs/heads/agent/x", "sha": commit["sha"]}, 422)
	do("POST", r+"/pulls", map[string]any{"title": "fix: x", "head": "agent/x", "base": "main", "body": "b", "draft": true}, 201)
	do("POST", r+"/pulls", map[string]any{"title": "fix: x", "head": "agent/x", "base": "main"}, 422)
	do("GET", r+"/pulls?head=acme:agent/x&state=open", nil, 200)
	do("DELETE", r+"/git/refs/heads/agent/x", nil, 204)
	do("DELETE", r+"/git/refs/heads/agent/x", nil, 422)
	mine := do("POST", r+"/issues/1/comments", map[string]any{"body": "working"}, 201)
	do("PATCH", fmt.Sprintf("%s/issues/comments/%v", r, int64(mine["id"].(float64))), map[string]any{"body": "done"}, 200)
	do("POST", fmt.Sprintf("%s/pulls/1/comments/%d/replies", r, review), map[string]any{"body": "```suggestion\nc\n```"}, 201)
	do("POST", fmt.Sprintf("%s/pulls/1/comments/%d/replies", r, review+99), map[string]any{"body": "x"}, 404)
	do("GET", fmt.Sprintf("%s/pulls/comments/%d", r, review), nil, 200)
	rsID := s.AddRuleset("acme", "infra", Ruleset{Branch: "main", Approvals: 2, Checks: []string{"ci/test"}, Types: []string{"deletion"}, Bypass: "always"})
	do("GET", r+"/rules/branches/main", nil, 200)
	do("GET", fmt.Sprintf("%s/rulesets/%d", r, rsID), nil, 200)
	ci := s.AddCheckRun("acme", "infra", CheckRun{Name: "ci/terraform", HeadSHA: head, Conclusion: "failure", App: "ci-app",
		Output: CheckRunOutput{Title: "2 errors", Summary: "terraform validate failed", Annotations: []Annotation{
			{Path: "main.tf", StartLine: 3, EndLine: 3, AnnotationLevel: "failure", Message: "Unsupported argument", Title: "validate"}}}})
	do("GET", fmt.Sprintf("%s/check-runs/%d", r, ci), nil, 200)
	do("GET", fmt.Sprintf("%s/check-runs/%d/annotations", r, ci), nil, 200)
	do("GET", fmt.Sprintf("%s/check-suites/%d/check-runs", r, s.CheckSuiteID("acme", "infra", "ci-app", head)), nil, 200)
	do("POST", fmt.Sprintf("%s/pulls/comments/%d/reactions", r, review), map[string]any{"content": "eyes"}, 201)
	do("POST", fmt.Sprintf("%s/pulls/comments/%d/reactions", r, review), map[string]any{"content": "eyes"}, 200)
}
