package runner

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/tools"
	"github.com/infra-agent/infra-agent/checks/review"
	"github.com/infra-agent/infra-agent/wire"
)

// TestGraphQLURL: the server's GraphQL URL when the spec has one, else the
// one beside the REST API, for github.com and GitHub Enterprise Server.
func TestGraphQLURL(t *testing.T) {
	for _, c := range []struct{ rest, gql, want string }{
		{"https://api.github.com/", "", "https://api.github.com/graphql"},
		{"https://ghe.example.com/api/v3/", "", "https://ghe.example.com/api/graphql"},
		{"https://ghe.example.com/api/v3", "", "https://ghe.example.com/api/graphql"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:9090/graphql", "http://127.0.0.1:9090/graphql"},
	} {
		j := &job{spec: wire.JobSpec{GitHubAPIURL: c.rest, GitHubGraphQLURL: c.gql}}
		if got := j.graphQLURL(); got != c.want {
			t.Errorf("graphQLURL(%q, %q) = %q, want %q", c.rest, c.gql, got, c.want)
		}
	}
}

// TestModelPart: the review model's result in the review: its comments with
// their paths made the diff's (slash, cleaned), its name and tokens; a
// result that needs review, or an error, is the model's part failing, said
// with the reasons, secrets redacted, and the comments made before kept.
func TestModelPart(t *testing.T) {
	comments := []tools.ReviewComment{{Path: "./envs/prod/main.tf", Line: 7, Body: "Scope this role."}, {Path: "main.tf", Line: 2, Body: "Why public?"}}
	var ok review.Input
	modelPart(&ok, "anthropic/claude", loop.Result{Status: loop.StatusReviewed, ReviewComments: comments,
		Tokens: model.Usage{Input: 1200, Output: 300}}, nil)
	want := []review.ModelComment{{Path: "envs/prod/main.tf", Line: 7, Body: "Scope this role."}, {Path: "main.tf", Line: 2, Body: "Why public?"}}
	if !slices.Equal(ok.Model, want) || ok.ModelName != "anthropic/claude" || ok.ModelTokens != 1500 || ok.ModelFailed != "" || ok.ModelNote != "" {
		t.Errorf("a finished review: %+v", ok)
	}

	var limited review.Input
	modelPart(&limited, "openai/gpt", loop.Result{Status: loop.StatusReviewed, ReviewComments: comments[:1], Limit: "tokens",
		NeedsReview: []string{"budget reached: tokens 9000 of 8000: the work so far is kept"}}, nil)
	if len(limited.Model) != 1 || limited.ModelFailed != "budget reached: tokens 9000 of 8000: the work so far is kept" {
		t.Errorf("a review that hit its budget: %+v", limited)
	}

	var broken review.Input
	modelPart(&broken, "openai/gpt", loop.Result{NeedsReview: []string{"the model call failed: 500"}},
		errors.New("validating: token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB refused"))
	if !strings.HasPrefix(broken.ModelFailed, "validating: token ") || strings.Contains(broken.ModelFailed, "ghp_0123") ||
		!strings.HasSuffix(broken.ModelFailed, "; the model call failed: 500") {
		t.Errorf("a review whose run failed: %q", broken.ModelFailed)
	}
}
