package apidesc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Operation is an implemented operation of the description, ready to validate requests.
type Operation struct {
	route *routers.Route
	// DocURL is GitHub's documentation of the operation, which GitHub puts in error bodies.
	DocURL string
}

// Operation returns the implemented operation method path, or an error when the description lacks it.
func (d *Description) Operation(method, path string) (*Operation, error) {
	item := d.Doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		return nil, fmt.Errorf("operation %s %s is not in implemented.txt (add it there and run go generate)",
			method, path)
	}
	o := item.GetOperation(method)
	op := &Operation{
		route:  &routers.Route{Spec: d.Doc, Path: path, PathItem: item, Method: method, Operation: o},
		DocURL: "https://docs.github.com/rest",
	}
	if o.ExternalDocs != nil && o.ExternalDocs.URL != "" {
		op.DocURL = o.ExternalDocs.URL
	}
	return op, nil
}

// Problem is what makes a request invalid, which decides how GitHub answers it.
type Problem int

const (
	// BadPathParameter is a path parameter of the wrong type: GitHub answers 404.
	BadPathParameter Problem = iota + 1
	// MalformedJSON is a body that is not JSON: GitHub answers 400 "Problems parsing JSON".
	MalformedJSON
	// SchemaMismatch is anything else the description rejects: GitHub answers 422.
	SchemaMismatch
)

// ValidationError says why a request does not match the description.
type ValidationError struct {
	Problem Problem
	Detail  string // one "For 'field': reason" line per failure, as GitHub words them
}

func (e *ValidationError) Error() string { return e.Detail }

// Validate checks a request's parameters and body against the operation. params are the decoded path
// parameters (from Match); body replaces the request's body, which the caller has already read.
func (op *Operation) Validate(r *http.Request, body []byte, params map[string]string) *ValidationError {
	// GitHub reads a JSON null body as no parameters; ghinstallation sends one when minting without options.
	if string(bytes.TrimSpace(body)) == "null" {
		body = nil
	}
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	// GitHub parses a body as JSON whatever its Content-Type says; only the shape matters here.
	if len(body) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	err := openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      op.route,
		Options: &openapi3filter.Options{
			MultiError:          true,
			SkipSettingDefaults: true,
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
		},
	})
	if err == nil {
		return nil
	}
	var reasons []string
	problem := SchemaMismatch
	for _, re := range requestErrors(err) {
		p := re.Parameter
		if p != nil && p.In == openapi3.ParameterInPath && MultiSegmentParam(p.Name) && params[p.Name] == "" {
			continue // an empty trailing path (/contents/) is how GitHub addresses the repository root
		}
		var pe *openapi3filter.ParseError
		switch {
		case p != nil && p.In == openapi3.ParameterInPath:
			problem = BadPathParameter
		case re.RequestBody != nil && errors.As(re.Err, &pe) && problem != BadPathParameter:
			problem = MalformedJSON
		}
		reasons = append(reasons, describe(re)...)
	}
	if len(reasons) == 0 {
		return nil
	}
	return &ValidationError{Problem: problem, Detail: strings.Join(reasons, "\n")}
}

// requestErrors flattens kin-openapi's error tree into its request errors.
func requestErrors(err error) []*openapi3filter.RequestError {
	var out []*openapi3filter.RequestError
	var multi openapi3.MultiError
	var re *openapi3filter.RequestError
	switch {
	case errors.As(err, &multi):
		for _, e := range multi {
			out = append(out, requestErrors(e)...)
		}
	case errors.As(err, &re):
		out = append(out, re)
	default:
		out = append(out, &openapi3filter.RequestError{Reason: err.Error()})
	}
	return out
}

// describe renders a request error the way GitHub's messages read: "For 'output/annotations': ...".
func describe(re *openapi3filter.RequestError) []string {
	where := "body"
	if re.Parameter != nil {
		where = fmt.Sprintf("%s parameter %q", re.Parameter.In, re.Parameter.Name)
	}
	var schemaErrs []*openapi3.SchemaError
	collectSchemaErrors(re.Err, &schemaErrs)
	if len(schemaErrs) == 0 {
		return []string{fmt.Sprintf("For %s: %s", where, re.Error())}
	}
	out := make([]string, 0, len(schemaErrs))
	for _, se := range schemaErrs {
		field := strings.Join(se.JSONPointer(), "/")
		if field == "" {
			field = where
		} else if re.Parameter != nil {
			field = where + " " + field
		}
		out = append(out, fmt.Sprintf("For '%s': %s", field, se.Reason))
	}
	return out
}

func collectSchemaErrors(err error, out *[]*openapi3.SchemaError) {
	var multi openapi3.MultiError
	var se *openapi3.SchemaError
	switch {
	case err == nil:
	case errors.As(err, &multi):
		for _, e := range multi {
			collectSchemaErrors(e, out)
		}
	case errors.As(err, &se):
		*out = append(*out, se)
	}
}
