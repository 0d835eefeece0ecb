package fakegithub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
	ghv88 "github.com/google/go-github/v88/github"
	"github.com/shurcooL/githubv4"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

// bearer adds an installation token to every request.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// minimize is the mutation as githubv4 builds it from a struct.
type minimize struct {
	MinimizeComment struct {
		MinimizedComment struct {
			IsMinimized     bool
			MinimizedReason string
		}
	} `graphql:"minimizeComment(input: $input)"`
}

// reviewed seeds a pull request with one review comment of the App and returns the comment.
func reviewed(t *testing.T) (*fakegithub.Server, *github.PullRequestComment) {
	t.Helper()
	s, gh := reviewWorld(t)
	ctx := context.Background()
	_, _, err := gh.PullRequests.CreateReview(ctx, owner, repoName, 3, &github.PullRequestReviewRequest{
		Event: github.String("COMMENT"), Body: github.String("b"),
		Comments: []*github.DraftReviewComment{{Path: github.String("main.tf"), Line: github.Int(2), Body: github.String("c")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, _, err := gh.PullRequests.ListComments(ctx, owner, repoName, 3, nil)
	if err != nil || len(cs) != 1 {
		t.Fatalf("comments %v, %v", cs, err)
	}
	return s, cs[0]
}

func TestMinimizeComment(t *testing.T) {
	s, cm := reviewed(t)
	tok := mint(t, s, installationID, &ghv88.InstallationTokenOptions{RepositoryIDs: []int64{10},
		Permissions: &ghv88.InstallationPermissions{PullRequests: ghv88.Ptr("write")}})
	gql := githubv4.NewEnterpriseClient(s.GraphQLURL(), &http.Client{Transport: bearer(tok)})
	var m minimize
	err := gql.Mutate(context.Background(), &m, githubv4.MinimizeCommentInput{
		SubjectID: githubv4.ID(cm.GetNodeID()), Classifier: githubv4.ReportedContentClassifiersResolved}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.MinimizeComment.MinimizedComment.IsMinimized || m.MinimizeComment.MinimizedComment.MinimizedReason != "resolved" {
		t.Errorf("answer = %+v", m)
	}
	got := s.ReviewComments(owner, repoName, 3)
	if !got[0].Minimized || got[0].MinimizedReason != "resolved" {
		t.Errorf("comment = %+v, want minimized as resolved", got[0])
	}
	var perms []string
	for _, r := range s.Requests() {
		if r.Path == "/graphql" {
			perms = r.Permissions
		}
	}
	if len(perms) != 1 || perms[0] != "pull_requests:write" {
		t.Errorf("the request's permissions = %v", perms)
	}
}

// TestGraphQLFragmentsAndAliases: what the fake answers follows the document's shape.
func TestGraphQLFragmentsAndAliases(t *testing.T) {
	s, cm := reviewed(t)
	tok := mint(t, s, installationID, nil)
	doc := `mutation Hide($id: ID!) { hidden: minimizeComment(input: {subjectId: $id, classifier: OUTDATED}) {
		minimizedComment { ... on PullRequestReviewComment { databaseId } ...Min } } }
		fragment Min on Minimizable { why: minimizedReason }`
	resp, body := call(t, s, "POST", "/graphql", "bearer "+tok, map[string]any{"query": doc, "variables": map[string]any{"id": cm.GetNodeID()}}, nil)
	var out struct {
		Data struct {
			Hidden struct {
				MinimizedComment map[string]any `json:"minimizedComment"`
			} `json:"hidden"`
		} `json:"data"`
		Errors []any `json:"errors"`
	}
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 || len(out.Errors) > 0 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	mc := out.Data.Hidden.MinimizedComment
	if mc["why"] != "outdated" || mc["databaseId"] != float64(cm.GetID()) || len(mc) != 2 {
		t.Errorf("minimizedComment = %v", mc)
	}
}

// TestGraphQLRefusals: documents GitHub's schema does not allow, variables of the wrong type, missing or bad
// credentials, comments the token cannot see or change, and operations the fake does not implement.
func TestGraphQLRefusals(t *testing.T) {
	s, cm := reviewed(t)
	s.ExpectViolations()
	s.AddRepo(fakegithub.Repo{Owner: owner, Name: "docs", InstallationID: installationID})
	tok := mint(t, s, installationID, nil)
	otherRepo := mint(t, s, installationID, &ghv88.InstallationTokenOptions{Repositories: []string{"docs"}})
	readOnly := mint(t, s, installationID, &ghv88.InstallationTokenOptions{
		Permissions: &ghv88.InstallationPermissions{PullRequests: ghv88.Ptr("read")}})
	const mutation = `mutation($input: MinimizeCommentInput!) { minimizeComment(input: $input) { minimizedComment { isMinimized } } }`
	input := func(id, classifier string) map[string]any {
		return map[string]any{"input": map[string]any{"subjectId": id, "classifier": classifier}}
	}
	for _, c := range []struct {
		name, auth, query string
		vars              map[string]any
		status            int
		answer            string
	}{
		{"unknown field", "bearer " + tok, `mutation { minimizeComment(input: {subjectId: "x", classifier: RESOLVED}) { nope } }`, nil, 200, `Cannot query field \"nope\"`},
		{"unknown enum value", "bearer " + tok, mutation, input(cm.GetNodeID(), "FIXED"), 200, "FIXED"},
		{"missing variable", "bearer " + tok, mutation, nil, 200, "must be defined"},
		{"not a node id", "bearer " + tok, mutation, input("nope", "RESOLVED"), 200, "NOT_FOUND"},
		{"no credentials", "", mutation, input(cm.GetNodeID(), "RESOLVED"), 401, "Requires authentication"},
		{"not a token of the fake", "bearer ghs_forged", mutation, input(cm.GetNodeID(), "RESOLVED"), 401, "Bad credentials"},
		{"token of another repository", "bearer " + otherRepo, mutation, input(cm.GetNodeID(), "RESOLVED"), 200, "NOT_FOUND"},
		{"read-only token", "bearer " + readOnly, mutation, input(cm.GetNodeID(), "RESOLVED"), 200, "Resource not accessible by integration"},
		{"a query", "bearer " + tok, `query { viewer { login } }`, nil, 501, "not implemented"},
		{"another mutation", "bearer " + tok, `mutation { unminimizeComment(input: {subjectId: "x"}) { clientMutationId } }`, nil, 501, "not implemented"},
	} {
		resp, body := call(t, s, "POST", "/graphql", c.auth, map[string]any{"query": c.query, "variables": c.vars}, nil)
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.answer) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, resp.StatusCode, body, c.status, c.answer)
		}
	}
	if got := s.ReviewComments(owner, repoName, 3); got[0].Minimized {
		t.Errorf("a refused request minimized the comment")
	}
	if n := len(s.Violations()); n != 10 {
		t.Errorf("%d violations, want 10:\n%s", n, strings.Join(s.Violations(), "\n"))
	}
}
