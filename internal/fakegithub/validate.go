package fakegithub

import (
	"fmt"
	"net/http"

	"github.com/infra-agent/infra-agent/internal/fakegithub/apidesc"
)

// operation is one implemented GitHub operation.
type operation struct {
	method, path string
	auth         authKind
	// perms lists installation-token permissions, "name:level", any one of which allows the operation (GitHub
	// accepts, for example, issues:write or pull_requests:write to comment on a pull request).
	perms  []string
	handle func(*Server, *call) reply

	desc *apidesc.Operation // bound to the embedded description
}

func (op *operation) key() string { return op.method + " " + op.path }

// bindOperations pairs the handler table with the embedded description, failing when they disagree: a handler for
// an operation that was not extracted, or an extracted operation without a handler.
func bindOperations(api *apidesc.Description) (map[string]*operation, error) {
	table := operations()
	ops := make(map[string]*operation, len(table))
	for i := range table {
		op := &table[i]
		desc, err := api.Operation(op.method, op.path)
		if err != nil {
			return nil, fmt.Errorf("binding handlers: %w", err)
		}
		op.desc = desc
		ops[op.key()] = op
	}
	for _, t := range api.Implemented {
		if ops[t.Key()] == nil {
			return nil, fmt.Errorf("operation %s is in implemented.txt but has no handler", t.Key())
		}
	}
	return ops, nil
}

// validateRequest checks the request's parameters and body against GitHub's description of the operation, and
// answers as GitHub does: 404 for a malformed path parameter, 400 for a body that is not JSON, 422 otherwise.
func validateRequest(c *call) *reply {
	verr := c.op.desc.Validate(c.r, c.body, c.params)
	if verr == nil {
		return nil
	}
	var r reply
	switch verr.Problem {
	case apidesc.BadPathParameter:
		r = notFound()
	case apidesc.MalformedJSON:
		r = ghError(http.StatusBadRequest, "Problems parsing JSON", c.op.desc.DocURL)
	default:
		r = ghError(http.StatusUnprocessableEntity, "Invalid request.\n\n"+verr.Detail, c.op.desc.DocURL)
	}
	r.violation = "does not match GitHub's OpenAPI description: " + verr.Detail
	return &r
}
