package fakegithub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// rateLimit is GitHub's primary rate limit for an installation (requests per hour).
const rateLimit = 5000

// call is one request on its way through the fake.
type call struct {
	r      *http.Request
	op     *operation
	params map[string]string
	query  url.Values
	body   []byte
	token  *Token     // the installation token, for installation-authenticated operations
	repo   *repoState // the repository of /repos/{owner}/{repo}/... operations
}

// reply is what a handler answers; serveHTTP encodes it.
type reply struct {
	status int
	body   any // JSON-encoded unless it is []byte; nil means no body
	header http.Header
	// violation, when set, is recorded: the request broke GitHub's rules rather than asking for something absent.
	violation string
}

func ok(status int, body any) reply { return reply{status: status, body: body} }

// ghError is GitHub's error body.
func ghError(status int, message, docURL string) reply {
	return reply{status: status, body: map[string]any{
		"message": message, "documentation_url": docURL, "status": strconv.Itoa(status),
	}}
}

func notFound() reply {
	return ghError(http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
}

// invalid is GitHub's 422 "Validation Failed" for a rule outside the schema; it is a violation.
func invalid(c *call, resource, field, message string) reply {
	r := reply{status: http.StatusUnprocessableEntity, body: map[string]any{
		"message": "Validation Failed",
		"errors": []any{map[string]any{
			"resource": resource, "field": field, "code": "custom", "message": message,
		}},
		"documentation_url": c.op.desc.DocURL,
		"status":            "422",
	}}
	r.violation = message
	return r
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.st.requests = append(s.st.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
	})
	c := &call{r: r, query: r.URL.Query(), body: body}
	rep, rateKey := s.handle(c)
	if c.op != nil && c.op.auth == authInstallation {
		s.st.requests[len(s.st.requests)-1].Permissions = append([]string{}, c.op.perms...)
	}
	if rep.violation != "" {
		s.st.violations = append(s.st.violations, fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, rep.violation))
	}
	out, header := s.encode(r, rep, rateKey)
	s.st.requests[len(s.st.requests)-1].Status = out.status
	s.mu.Unlock()

	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(out.status)
	if data, ok := out.body.([]byte); ok && r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// handle runs the checks GitHub runs, in GitHub's order, then the operation. It returns the reply and the key of
// the rate-limit bucket the request counts against ("" when it did not authenticate).
func (s *Server) handle(c *call) (reply, string) {
	if c.r.URL.Path == graphqlPath {
		return s.handleGraphQL(c)
	}
	m, found, pathExists := s.api.Match(c.r.Method, c.r.URL.EscapedPath())
	if !found {
		r := notFound()
		r.violation = "not an operation of GitHub's REST API"
		if pathExists {
			r.violation = fmt.Sprintf("GitHub has this path but not the %s method", c.r.Method)
		}
		return r, ""
	}
	fault, injected := s.pickFault(c.r)
	if injected {
		s.recordFault(c.r, fault)
		if !fault.afterApplying {
			return faultReply(fault), ""
		}
	}
	op := s.ops[m.Template.Key()]
	if op == nil {
		r := ghError(http.StatusNotImplemented, "not implemented by the fake", "https://docs.github.com/rest")
		r.violation = fmt.Sprintf("GitHub operation %s is not implemented by the fake", m.Template.Key())
		return r, ""
	}
	c.op, c.params = op, m.Params
	rateKey, rep := s.authenticate(c)
	if rep != nil {
		return *rep, rateKey
	}
	if s.st.rateUsed[rateKey] >= rateLimit {
		r := ghError(http.StatusForbidden, "API rate limit exceeded for installation.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
		r.violation = "primary rate limit exceeded"
		return r, rateKey
	}
	if rep := s.authorizeRepo(c); rep != nil {
		return *rep, rateKey
	}
	if rep := validateRequest(c); rep != nil {
		return *rep, rateKey
	}
	out := op.handle(s, c)
	if injected && out.status/100 == 2 {
		// Applied, and then the answer was lost on its way back.
		return faultReply(fault), rateKey
	}
	return out, rateKey
}

// handleGraphQL answers a GraphQL request, with the faults injected as for REST.
func (s *Server) handleGraphQL(c *call) (reply, string) {
	fault, injected := s.pickFault(c.r)
	if injected {
		s.recordFault(c.r, fault)
		if !fault.afterApplying {
			return faultReply(fault), ""
		}
	}
	out, rateKey := s.serveGraphQL(c)
	if injected && out.status/100 == 2 && out.violation == "" {
		return faultReply(fault), rateKey
	}
	return out, rateKey
}

// encode turns a reply into the bytes and headers GitHub would send: JSON, rate-limit headers, an ETag on GETs,
// and 304 Not Modified (not counted against the rate limit) when If-None-Match matches.
func (s *Server) encode(r *http.Request, rep reply, rateKey string) (reply, http.Header) {
	h := http.Header{}
	var data []byte
	switch b := rep.body.(type) {
	case nil:
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			data = []byte(`{"message":"fakegithub: encoding response"}`)
			rep.status = http.StatusInternalServerError
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%04X", len(s.st.requests)))
	h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding")
	notModified := false
	if r.Method == http.MethodGet && rep.status == http.StatusOK {
		sum := sha256.Sum256(data)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		notModified = etagMatches(r.Header.Get("If-None-Match"), etag)
	}
	// Requests that never reached authentication (unknown paths, injected failures) are not counted, so a test
	// injecting many failures does not drive go-github's client-side rate limiting.
	if rateKey != "" && !notModified {
		s.st.rateUsed[rateKey]++
	}
	used := s.st.rateUsed[rateKey]
	h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(rateLimit-used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.st.created.Unix()+3600, 10))
	h.Set("X-RateLimit-Resource", "core")
	for k, v := range rep.header {
		h[k] = v
	}
	if notModified {
		h.Del("Content-Type")
		return reply{status: http.StatusNotModified}, h
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	return reply{status: rep.status, body: data}, h
}

func etagMatches(ifNoneMatch, etag string) bool {
	for _, candidate := range strings.Split(ifNoneMatch, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}
