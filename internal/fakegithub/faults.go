package fakegithub

import (
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Fault is a kind of failure the fake can inject, as GitHub produces them on a bad day.
type Fault string

// The faults InjectFaults chooses from.
const (
	// Fault500 and Fault502 answer a server error without doing anything.
	Fault500 Fault = "500"
	Fault502 Fault = "502"
	// FaultSecondaryRateLimit answers 403 with Retry-After and GitHub's secondary-rate-limit message.
	FaultSecondaryRateLimit Fault = "secondary-rate-limit"
	// Fault429 answers 429 Too Many Requests with Retry-After.
	Fault429 Fault = "429"
	// FaultAppliedThen502 performs the operation, keeps its effect, and answers 502: what a proxy in front of
	// GitHub does when it gives up waiting for an answer GitHub was about to send. A client that retries a
	// non-idempotent request after it makes a duplicate.
	FaultAppliedThen502 Fault = "applied-then-502"
)

// Faults configures InjectFaults.
type Faults struct {
	// Rate is the share of requests that fail, between 0 and 1.
	Rate float64
	// Seed makes the choice of requests and faults reproducible.
	Seed uint64
	// Kinds are the faults to choose from, uniformly (default: all five).
	Kinds []Fault
	// RetryAfter is what rate-limit faults ask the client to wait (default 1 s; whole seconds, as GitHub sends).
	RetryAfter time.Duration
	// Only, when set, limits the faults to requests whose path matches it.
	Only string
}

// InjectedFault is one fault the fake injected.
type InjectedFault struct {
	Method, Path string
	Fault        Fault
}

// chaos is the state of InjectFaults.
type chaos struct {
	Faults
	only *regexp.Regexp
	rnd  *rand.Rand
}

// InjectFaults makes a share of all later requests fail with faults chosen at random (reproducibly, from the
// seed), until StopFaults. Requests that FailNext or FailNextAfterApplying target are not also chosen. Injected
// faults are not violations; InjectedFaults lists them, so a test can check that what it meant to exercise
// happened.
func (s *Server) InjectFaults(f Faults) {
	s.t.Helper()
	if f.Rate < 0 || f.Rate > 1 {
		s.t.Fatalf("fakegithub: InjectFaults rate %v is not between 0 and 1", f.Rate)
	}
	if len(f.Kinds) == 0 {
		f.Kinds = []Fault{Fault500, Fault502, FaultSecondaryRateLimit, Fault429, FaultAppliedThen502}
	}
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	c := &chaos{Faults: f, rnd: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))}
	if f.Only != "" {
		re, err := regexp.Compile(f.Only)
		if err != nil {
			s.t.Fatalf("fakegithub: InjectFaults Only: %v", err)
		}
		c.only = re
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.chaos = c
}

// StopFaults ends InjectFaults.
func (s *Server) StopFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.chaos = nil
}

// InjectedFaults returns the faults injected so far, in order (FailNext's included).
func (s *Server) InjectedFaults() []InjectedFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]InjectedFault(nil), s.st.injected...)
}

// FailNextAfterApplying makes the next n requests whose method and path match perform their operation (its
// effect stays) and then answer status with a GitHub error body, as FaultAppliedThen502 does.
func (s *Server) FailNextAfterApplying(method, pathPattern string, n int, status int) {
	s.t.Helper()
	re, err := regexp.Compile(pathPattern)
	if err != nil {
		s.t.Fatalf("fakegithub: FailNextAfterApplying path pattern: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.failures = append(s.st.failures, &failure{
		method: strings.ToUpper(method), path: re, left: n, status: status, afterApplying: true,
	})
}

// pickFault returns the fault to inject into r, if any: the first FailNext rule that matches, else a random
// fault of InjectFaults.
func (s *Server) pickFault(r *http.Request) (*failure, bool) {
	for i, f := range s.st.failures {
		if f.method != "" && f.method != "*" && f.method != r.Method || !f.path.MatchString(r.URL.Path) {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.st.failures = append(s.st.failures[:i], s.st.failures[i+1:]...)
		}
		return f, true
	}
	c := s.st.chaos
	if c == nil || c.only != nil && !c.only.MatchString(r.URL.Path) || c.rnd.Float64() >= c.Rate {
		return nil, false
	}
	kind := c.Kinds[c.rnd.IntN(len(c.Kinds))]
	retryAfter := http.Header{"Retry-After": {strconv.Itoa(max(int(c.RetryAfter/time.Second), 0))}}
	switch kind {
	case Fault500:
		return &failure{status: http.StatusInternalServerError, kind: kind}, true
	case FaultSecondaryRateLimit:
		return &failure{status: http.StatusForbidden, header: retryAfter, kind: kind}, true
	case Fault429:
		return &failure{status: http.StatusTooManyRequests, header: retryAfter, kind: kind}, true
	case FaultAppliedThen502:
		return &failure{status: http.StatusBadGateway, afterApplying: true, kind: kind}, true
	}
	return &failure{status: http.StatusBadGateway, kind: Fault502}, true
}

// faultReply is the answer of an injected fault, with GitHub's error bodies: a secondary-rate-limit body for 403
// with Retry-After and for 429, a primary one for 403 with X-RateLimit-Remaining: 0.
func faultReply(f *failure) reply {
	var rep reply
	switch {
	case f.status == http.StatusTooManyRequests ||
		f.status == http.StatusForbidden && f.header.Get("Retry-After") != "":
		rep = ghError(f.status,
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	case f.status == http.StatusForbidden && f.header.Get("X-RateLimit-Remaining") == "0":
		rep = ghError(f.status, "API rate limit exceeded for installation.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
	default:
		rep = ghError(f.status, http.StatusText(f.status), "https://docs.github.com/rest")
	}
	rep.header = f.header.Clone()
	return rep
}

// recordFault notes an injected fault for InjectedFaults.
func (s *Server) recordFault(r *http.Request, f *failure) {
	kind := f.kind
	if kind == "" {
		kind = Fault(strconv.Itoa(f.status))
		if f.afterApplying {
			kind = Fault(strconv.Itoa(f.status) + "-after-applying")
		}
	}
	s.st.injected = append(s.st.injected, InjectedFault{Method: r.Method, Path: r.URL.Path, Fault: kind})
}
