package fakegithub

import (
	"bytes"
	"compress/gzip"
	_ "embed" // GitHub's GraphQL schema
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

// GitHub's public GraphQL schema (github/docs' schema.docs.graphql as published by octokit/graphql-schema; see
// testdata/README.md). Every document the fake receives is validated against it, and its variables against the
// operation's definitions, before anything runs.
//
//go:embed testdata/github-schema.graphql.gz
var graphqlSchemaGz []byte

// graphqlSchema parses the schema once per test binary (about 80 ms); the parsed schema is never modified.
var graphqlSchema = sync.OnceValues(func() (*ast.Schema, error) {
	zr, err := gzip.NewReader(bytes.NewReader(graphqlSchemaGz))
	if err != nil {
		return nil, err
	}
	sdl, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	return gqlparser.LoadSchema(&ast.Source{Name: "github-schema.graphql", Input: string(sdl)})
})

// graphqlPath is where GitHub serves its GraphQL API (api.github.com/graphql).
const graphqlPath = "/graphql"

// GraphQLURL returns the URL of the fake GraphQL API: use it as the GitHub v4 API URL.
func (s *Server) GraphQLURL() string { return s.apiURL(graphqlPath) }

// graphqlMutation is a mutation the fake implements: the permissions GitHub requires of a GitHub App installation
// token for the subject it acts on (recorded with the request, as for REST operations), and what it does.
type graphqlMutation struct {
	perms []string
	run   func(s *Server, c *call, args map[string]any) (any, *graphqlError)
}

var graphqlMutations = map[string]graphqlMutation{
	"minimizeComment": {perms: []string{"pull_requests:write"}, run: (*Server).minimizeComment},
}

// graphqlError is one entry of a GraphQL answer's errors.
type graphqlError struct {
	Type    string `json:"type,omitempty"`
	Path    []any  `json:"path,omitempty"`
	Message string `json:"message"`
	// violation, when set, is recorded: GitHub would refuse the request too.
	violation string
}

// serveGraphQL answers POST /graphql as GitHub does: authenticated like the REST API (an installation token),
// the document validated against GitHub's schema (errors answered 200 with an errors list, as GitHub does), then
// each top-level field run with the token's installation, repository scope and permissions checked on the
// object it acts on.
func (s *Server) serveGraphQL(c *call) (reply, string) {
	if c.r.Method != http.MethodPost {
		r := notFound()
		r.violation = "GitHub's GraphQL API answers POST only"
		return r, ""
	}
	c.op = &operation{method: http.MethodPost, path: graphqlPath, auth: authInstallation}
	rateKey, rep := s.authenticate(c)
	if rep != nil {
		return *rep, rateKey
	}
	schema, err := graphqlSchema()
	if err != nil {
		return ghError(http.StatusInternalServerError, "fakegithub: loading GitHub's GraphQL schema: "+err.Error(), ""), rateKey
	}
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Query == "" {
		r := ghError(http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/graphql")
		r.violation = "a GraphQL request is a JSON object with a query"
		return r, rateKey
	}
	doc, errs := gqlparser.LoadQuery(schema, req.Query)
	if len(errs) > 0 {
		return graphqlRefusal(fmt.Sprintf("the document does not validate against GitHub's schema: %v", errs), errs.Error()), rateKey
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		return graphqlRefusal("no operation named "+strconv.Quote(req.OperationName), "Operation not found"), rateKey
	}
	vars, err := validator.VariableValues(schema, op, req.Variables)
	if err != nil {
		return graphqlRefusal("variables: "+err.Error(), err.Error()), rateKey
	}
	return s.execute(c, schema, op, vars), rateKey
}

// graphqlRefusal is GitHub's answer to a document it cannot run: 200 with errors only; it is a violation.
func graphqlRefusal(violation, message string) reply {
	r := ok(http.StatusOK, map[string]any{"errors": []graphqlError{{Message: message}}})
	r.violation = violation
	return r
}

// execute runs the operation's top-level fields. Only the mutations the fake implements run; anything else is
// answered 501, so a test never passes against a field the fake only pretends to have.
func (s *Server) execute(c *call, schema *ast.Schema, op *ast.OperationDefinition, vars map[string]any) reply {
	if op.Operation != ast.Mutation {
		r := ghError(http.StatusNotImplemented, "not implemented by the fake", "https://docs.github.com/graphql")
		r.violation = "the fake implements no GraphQL queries"
		return r
	}
	data := map[string]any{}
	var errs []graphqlError
	for _, sel := range op.SelectionSet {
		f, isField := sel.(*ast.Field)
		m, known := graphqlMutations[fieldName(sel)]
		if !isField || !known {
			r := ghError(http.StatusNotImplemented, "not implemented by the fake", "https://docs.github.com/graphql")
			r.violation = fmt.Sprintf("GraphQL mutation %s is not implemented by the fake", fieldName(sel))
			return r
		}
		key := cmpOr(f.Alias, f.Name)
		c.op.perms = append(c.op.perms, m.perms...)
		obj, gerr := m.run(s, c, f.ArgumentMap(vars))
		if gerr != nil {
			gerr.Path = []any{key}
			errs = append(errs, *gerr)
			data[key] = nil
			continue
		}
		shaped, missing := project(schema, obj, f.SelectionSet)
		if len(missing) > 0 {
			r := ghError(http.StatusNotImplemented, "not implemented by the fake", "https://docs.github.com/graphql")
			r.violation = fmt.Sprintf("GraphQL fields the fake does not model: %v", missing)
			return r
		}
		data[key] = shaped
	}
	body := map[string]any{"data": data}
	r := ok(http.StatusOK, body)
	if len(errs) > 0 {
		body["errors"] = errs
		var vs []string
		for _, e := range errs {
			if e.violation != "" {
				vs = append(vs, e.violation)
			}
		}
		r.violation = strings.Join(vs, "; ")
	}
	return r
}

func fieldName(sel ast.Selection) string {
	if f, ok := sel.(*ast.Field); ok {
		return f.Name
	}
	return fmt.Sprintf("%T", sel)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// project shapes a resolved object (field name → value, with "__typename") by a selection set: aliases,
// inline fragments and fragment spreads on the object's type or an interface it implements. It returns the
// selected fields the object does not have.
func project(schema *ast.Schema, obj any, set ast.SelectionSet) (any, []string) {
	m, isObj := obj.(map[string]any)
	if !isObj || len(set) == 0 {
		return obj, nil
	}
	out := map[string]any{}
	var missing []string
	typename, _ := m["__typename"].(string)
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				v, has := m[sel.Name]
				if !has {
					missing = append(missing, typename+"."+sel.Name)
					continue
				}
				shaped, more := project(schema, v, sel.SelectionSet)
				missing = append(missing, more...)
				out[cmpOr(sel.Alias, sel.Name)] = shaped
			case *ast.InlineFragment:
				if applies(schema, sel.TypeCondition, typename) {
					walk(sel.SelectionSet)
				}
			case *ast.FragmentSpread:
				if sel.Definition != nil && applies(schema, sel.Definition.TypeCondition, typename) {
					walk(sel.Definition.SelectionSet)
				}
			}
		}
	}
	walk(set)
	return out, missing
}

// applies reports whether a fragment on condition applies to an object of type typename.
func applies(schema *ast.Schema, condition, typename string) bool {
	if condition == "" || condition == typename {
		return true
	}
	def := schema.Types[condition]
	return def != nil && slices.ContainsFunc(schema.GetPossibleTypes(def), func(d *ast.Definition) bool {
		return d.Name == typename
	})
}

var nodeIDPattern = regexp.MustCompile(`^0\d+:([A-Za-z]+)(\d+)$`)

// parseNodeID reverses nodeID: the object's type and database id.
func parseNodeID(id string) (kind string, dbID int64, ok bool) {
	raw, err := base64.RawStdEncoding.DecodeString(id)
	if err != nil {
		return "", 0, false
	}
	m := nodeIDPattern.FindStringSubmatch(string(raw))
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	return m[1], n, err == nil
}

// minimizeComment hides a pull request review comment (minimizeComment(input: {subjectId, classifier})). A
// comment the token cannot see is NOT_FOUND and one it may not change FORBIDDEN, as GitHub answers; both are
// violations. Hiding a hidden comment again succeeds, as on GitHub.
func (s *Server) minimizeComment(c *call, args map[string]any) (any, *graphqlError) {
	input, _ := args["input"].(map[string]any)
	id, _ := input["subjectId"].(string)
	classifier, _ := input["classifier"].(string)
	notFound := &graphqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)}
	kind, dbID, ok := parseNodeID(id)
	if !ok || kind != "PullRequestReviewComment" {
		notFound.violation = "minimizeComment: " + strconv.Quote(id) + " is not a pull request review comment's node id"
		return nil, notFound
	}
	var rs *repoState
	var cm *reviewComment
	for _, r := range s.st.repos {
		if x := r.reviewComment(dbID); x != nil {
			rs, cm = r, x
		}
	}
	switch {
	case cm == nil:
		notFound.violation = "minimizeComment: no review comment " + strconv.FormatInt(dbID, 10)
		return nil, notFound
	case rs.InstallationID != c.token.InstallationID || len(c.token.Repositories) > 0 &&
		!slices.ContainsFunc(c.token.Repositories, func(n string) bool { return strings.EqualFold(n, rs.Name) }):
		notFound.violation = fmt.Sprintf("minimizeComment: the token cannot see %s/%s", rs.Owner, rs.Name)
		return nil, notFound
	case !permits(c.token.Permissions, []string{"pull_requests:write"}):
		return nil, &graphqlError{Type: "FORBIDDEN", Message: "Resource not accessible by integration",
			violation: fmt.Sprintf("minimizeComment: the token's permissions %v do not include pull_requests:write", c.token.Permissions)}
	}
	cm.Minimized = true
	cm.MinimizedReason = strings.ReplaceAll(strings.ToLower(classifier), "_", "-")
	full := rs.Owner + "/" + rs.Name
	return map[string]any{
		"__typename":       "MinimizeCommentPayload",
		"clientMutationId": input["clientMutationId"],
		"minimizedComment": map[string]any{
			"__typename": "PullRequestReviewComment", "id": id, "databaseId": cm.ID, "isMinimized": true,
			"minimizedReason": cm.MinimizedReason, "viewerCanMinimize": true, "body": cm.Body,
			"url": fmt.Sprintf("%s/%s/pull/%d#discussion_r%d", htmlBase, full, cm.number, cm.ID),
		},
	}, nil
}
