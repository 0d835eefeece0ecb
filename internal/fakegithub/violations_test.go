package fakegithub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

// TestOperationsOutsideTheFakeAreViolations covers the two ways a request can miss the implemented operations:
// GitHub does not have it at all (404), or GitHub has it and the fake does not (501).
func TestOperationsOutsideTheFakeAreViolations(t *testing.T) {
	tests := []struct {
		name          string
		method, path  string
		wantStatus    int
		wantViolation string
	}{
		{"unknown path", "POST", "/repos/acme/infra/merge-everything", 404, "not an operation of GitHub's REST API"},
		{"known path, wrong method", "DELETE", "/repos/acme/infra/check-runs/1", 404,
			"GitHub has this path but not the DELETE method"},
		{"real but unimplemented", "PUT", "/repos/acme/infra/pulls/1/merge", 501,
			"GitHub operation PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge is not implemented by the fake"},
		{"unimplemented with a slash in ref", "GET", "/repos/acme/infra/commits/feature/x/status", 501,
			"GitHub operation GET /repos/{owner}/{repo}/commits/{ref}/status is not implemented by the fake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			s.ExpectViolations()
			tok := mint(t, s, installationID, nil)
			resp, body := call(t, s, tt.method, tt.path, "token "+tok, map[string]any{"title": "x"}, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, body)
			}
			var e struct{ Message, DocumentationURL string }
			if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
				t.Errorf("body %s is not a GitHub error (%v)", body, err)
			}
			want := tt.method + " " + tt.path + ": " + tt.wantViolation
			if got := s.Violations(); len(got) != 1 || got[0] != want {
				t.Errorf("violations = %q, want [%q]", got, want)
			}
		})
	}
}

func TestUnimplementedOperationThroughGoGitHub(t *testing.T) {
	s := seeded(t)
	s.ExpectViolations()
	gh := s.Client(t, installationID)
	_, _, err := gh.PullRequests.Merge(context.Background(), owner, repoName, 1, "", nil)
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusNotImplemented {
		t.Fatalf("err = %v, want a 501 ErrorResponse", err)
	}
	if got := s.Violations(); len(got) != 1 || !strings.Contains(got[0], "not implemented by the fake") {
		t.Errorf("violations = %q", got)
	}
}

func TestCleanupReportsViolations(t *testing.T) {
	rec := &recorder{TB: t}
	s := fakegithub.New(rec)
	s.AddInstallation(installationID, owner)
	tok := mint(t, s, installationID, nil)
	call(t, s, "POST", "/repos/acme/infra/merge-everything", "token "+tok, nil, nil)
	errs := rec.finish()
	if len(errs) != 1 || !strings.Contains(errs[0], "1 request(s) violated GitHub's API") ||
		!strings.Contains(errs[0], "POST /repos/acme/infra/merge-everything: not an operation") {
		t.Errorf("cleanup reported %q", errs)
	}
}

func TestCleanupFailsNegativeTestWithoutViolation(t *testing.T) {
	rec := &recorder{TB: t}
	s := fakegithub.New(rec)
	s.ExpectViolations()
	errs := rec.finish()
	if len(errs) != 1 || !strings.Contains(errs[0], "expected requests that violate") {
		t.Errorf("cleanup reported %q", errs)
	}
}

func TestCleanupQuietWhenClean(t *testing.T) {
	rec := &recorder{TB: t}
	s := fakegithub.New(rec)
	s.AddInstallation(installationID, owner)
	s.AddRepo(fakegithub.Repo{Owner: owner, Name: repoName, InstallationID: installationID})
	if _, _, err := s.Client(t, installationID).Repositories.Get(context.Background(), owner, repoName); err != nil {
		t.Fatalf("get repo: %v", err)
	}
	if errs := rec.finish(); len(errs) != 0 {
		t.Errorf("cleanup reported %q", errs)
	}
}

// TestRequestValidation checks parameters and bodies of implemented operations against GitHub's schemas.
func TestRequestValidation(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantInBody string
	}{
		{"missing required field", "POST", "/repos/acme/infra/check-runs", map[string]any{"name": "x"}, 422,
			"head_sha"},
		{"wrong type", "POST", "/repos/acme/infra/issues/1/comments", map[string]any{"body": 5}, 422, "body"},
		{"enum", "POST", "/repos/acme/infra/issues/comments/5/reactions", map[string]any{"content": "clap"}, 422,
			"content"},
		{"non-integer path parameter", "GET", "/repos/acme/infra/pulls/abc", nil, 404, "Not Found"},
		{"non-integer query parameter", "GET", "/repos/acme/infra/pulls/1/files?per_page=many", nil, 422,
			"per_page"},
		{"maxProperties", "POST", "/repos/acme/infra/actions/workflows/a.yml/dispatches",
			map[string]any{"ref": "main", "inputs": manyInputs(26)}, 422, "inputs"},
		{"required body missing", "POST", "/repos/acme/infra/actions/workflows/a.yml/dispatches", nil, 422,
			"Invalid request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			s.ExpectViolations()
			s.AddWorkflow(owner, repoName, "a.yml")
			s.AddPullRequest(owner, repoName, fakegithub.PullRequest{Number: 1, HeadRef: "f", HeadSHA: headSHA})
			tok := mint(t, s, installationID, nil)
			resp, body := call(t, s, tt.method, tt.path, "token "+tok, tt.body, nil)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantInBody) {
				t.Errorf("got %d %s, want %d containing %q", resp.StatusCode, body, tt.wantStatus, tt.wantInBody)
			}
			if len(s.Violations()) != 1 {
				t.Errorf("violations = %q, want one", s.Violations())
			}
		})
	}
}

func TestMalformedJSONIs400(t *testing.T) {
	s := seeded(t)
	s.ExpectViolations()
	tok := mint(t, s, installationID, nil)
	resp, body := call(t, s, "POST", "/repos/acme/infra/check-runs", "token "+tok, []byte(`{`), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Problems parsing JSON") {
		t.Errorf("got %d %s, want 400 Problems parsing JSON", resp.StatusCode, body)
	}
}

func manyInputs(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m["k"+strings.Repeat("x", i)] = "v"
	}
	return m
}
