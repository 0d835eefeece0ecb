// Package apidesc is GitHub's REST API description as far as the fake GitHub needs it, extracted by ../gen from
// GitHub's OpenAPI document: the method and path template of every operation GitHub has, and a small
// self-contained OpenAPI document of the operations the fake implements, to validate requests against.
package apidesc

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// GITHUB_OPENAPI_JSON is the path of api.github.com.json (or .json.gz) from npm @octokit/openapi (see README.md).
//go:generate go run ../gen -in $GITHUB_OPENAPI_JSON -out . -implemented implemented.txt -testdata ../testdata

// files holds what ../gen extracted from GitHub's description.
//
//go:embed operations.txt implemented.txt api.github.com.requests.json.gz
var files embed.FS

// MultiSegmentParam reports whether a path parameter's values contain "/" (file paths, branch names,
// "base...head"), so that it may span several path segments.
func MultiSegmentParam(name string) bool {
	return name == "path" || name == "ref" || name == "basehead"
}

// Description is GitHub's REST API as far as the fake needs it.
type Description struct {
	All         []Template  // every operation GitHub has
	Implemented []Template  // the operations the fake implements (implemented.txt)
	Doc         *openapi3.T // the implemented operations, without their responses
}

// Template is an operation's method and path template.
type Template struct {
	Method string // upper case
	Path   string // as in the description: /repos/{owner}/{repo}/contents/{path}
	segs   []segment
}

type segment struct {
	literal string
	param   string // non-empty for {param}
}

// Key is "METHOD /template".
func (t Template) Key() string { return t.Method + " " + t.Path }

// Load reads the embedded description (about 15 ms: see BenchmarkLoad).
func Load() (*Description, error) {
	all, err := readTemplates("operations.txt")
	if err != nil {
		return nil, err
	}
	implemented, err := readTemplates("implemented.txt")
	if err != nil {
		return nil, err
	}
	f, err := files.Open("api.github.com.requests.json.gz")
	if err != nil {
		return nil, fmt.Errorf("opening api description: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("decompressing api description: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decompressing api description: %w", err)
	}
	// Decoding as JSON and then resolving references is several times faster than LoadFromData, which reads any
	// document through a YAML parser.
	doc := &openapi3.T{}
	if err := json.Unmarshal(data, doc); err != nil {
		return nil, fmt.Errorf("decoding api description: %w", err)
	}
	if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
		return nil, fmt.Errorf("resolving api description references: %w", err)
	}
	return &Description{All: all, Implemented: implemented, Doc: doc}, nil
}

func readTemplates(name string) ([]Template, error) {
	data, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	var out []Template
	for i, line := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		method, path, ok := strings.Cut(l, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("%s:%d: want \"METHOD /template\", got %q", name, i+1, l)
		}
		out = append(out, parseTemplate(strings.ToUpper(method), path))
	}
	return out, nil
}

func parseTemplate(method, path string) Template {
	t := Template{Method: method, Path: path}
	for _, part := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			t.segs = append(t.segs, segment{param: part[1 : len(part)-1]})
		} else {
			t.segs = append(t.segs, segment{literal: part})
		}
	}
	return t
}

// Match is a template matched by a request, with its decoded path parameters.
type Match struct {
	Template Template
	Params   map[string]string
}

// Match finds the operation GitHub would route the request to. escapedPath is the request's escaped path: values
// of multi-segment parameters may arrive with literal or %2F-escaped slashes, and both mean the same value. When
// several templates match, the one with the most literal segments wins (/commits/{ref}/check-runs over
// /commits/{ref}). pathExists reports whether any method exists for the path, for a better message.
func (d *Description) Match(method, escapedPath string) (m Match, found, pathExists bool) {
	parts := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	best := -1
	for _, t := range d.All {
		if !couldMatch(t.segs, parts) {
			continue
		}
		params := map[string]string{}
		if !matchSegments(t.segs, parts, params) {
			continue
		}
		pathExists = true
		if t.Method != method {
			continue
		}
		if score := literalCount(t); score > best {
			best = score
			m = Match{Template: t, Params: params}
		}
	}
	return m, best >= 0, pathExists
}

// couldMatch cheaply rejects most templates: literal segments before any multi-segment parameter must be equal,
// and without one the lengths must be.
func couldMatch(segs []segment, parts []string) bool {
	for i, s := range segs {
		if s.param != "" && MultiSegmentParam(s.param) {
			return true
		}
		if i >= len(parts) || s.param == "" && s.literal != parts[i] {
			return false
		}
	}
	return len(segs) == len(parts)
}

func literalCount(t Template) int {
	n := 0
	for _, s := range t.segs {
		if s.param == "" {
			n++
		}
	}
	return n
}

// matchSegments matches template segments against escaped path parts, trying the shortest span first for
// multi-segment parameters.
func matchSegments(segs []segment, parts []string, params map[string]string) bool {
	if len(segs) == 0 {
		return len(parts) == 0
	}
	if len(parts) == 0 {
		return false
	}
	s := segs[0]
	if s.param == "" {
		return parts[0] == s.literal && matchSegments(segs[1:], parts[1:], params)
	}
	if !MultiSegmentParam(s.param) {
		v, err := url.PathUnescape(parts[0])
		if err != nil || v == "" {
			return false
		}
		params[s.param] = v
		return matchSegments(segs[1:], parts[1:], params)
	}
	// The longest span leaves one part per remaining segment.
	for n := 1; n <= len(parts)-len(segs)+1; n++ {
		v, err := url.PathUnescape(strings.Join(parts[:n], "/"))
		if err != nil {
			return false
		}
		// An empty value is only meaningful for a trailing path (the repository root of /contents/).
		if v == "" && len(segs) > 1 {
			continue
		}
		params[s.param] = v
		if matchSegments(segs[1:], parts[n:], params) {
			return true
		}
		delete(params, s.param)
	}
	return false
}
