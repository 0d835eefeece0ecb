package runner

import (
	"testing"

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
