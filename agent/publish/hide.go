package publish

import (
	"context"
	"fmt"
	"net/http"

	"github.com/shurcooL/githubv4"
)

// GraphQLHider hides comments through GitHub's GraphQL API, the only one
// that can (minimizeComment); the comment stays, collapsed, with the reason.
type GraphQLHider struct {
	client *githubv4.Client
}

// NewGraphQLHider returns a Hider that calls GitHub's GraphQL API at url
// (https://api.github.com/graphql; GitHub Enterprise Server:
// https://HOST/api/graphql) through hc, which authenticates.
func NewGraphQLHider(url string, hc *http.Client) *GraphQLHider {
	return &GraphQLHider{client: githubv4.NewEnterpriseClient(url, hc)}
}

// Minimize hides the comment with GraphQL node id nodeID.
func (h *GraphQLHider) Minimize(ctx context.Context, nodeID, classifier string) error {
	var m struct {
		MinimizeComment struct {
			MinimizedComment struct {
				IsMinimized bool
			}
		} `graphql:"minimizeComment(input: $input)"`
	}
	err := h.client.Mutate(ctx, &m, githubv4.MinimizeCommentInput{
		SubjectID: githubv4.ID(nodeID), Classifier: githubv4.ReportedContentClassifiers(classifier)}, nil)
	if err != nil {
		return fmt.Errorf("hiding comment %s: %w", nodeID, err)
	}
	if !m.MinimizeComment.MinimizedComment.IsMinimized {
		return fmt.Errorf("hiding comment %s: GitHub says it is not hidden", nodeID)
	}
	return nil
}
