package ghclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// scripted answers each request with the next response of a script and
// records how many requests it saw and with which bodies.
type scripted struct {
	mu     sync.Mutex
	script []func(w http.ResponseWriter)
	bodies []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := len(s.bodies)
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	if i >= len(s.script) {
		w.WriteHeader(http.StatusTeapot)
		return
	}
	s.script[i](w)
}

func status(code int, header map[string]string, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func TestRetry(t *testing.T) {
	ok := status(200, nil, `{"ok":true}`)
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name     string
		script   []func(w http.ResponseWriter)
		wantCode int
		wantReqs int
		wantBody string
	}{
		{"success first time", []func(http.ResponseWriter){ok}, 200, 1, `{"ok":true}`},
		{"502 twice then success", []func(http.ResponseWriter){status(502, nil, ""), status(502, nil, ""), ok}, 200, 3, `{"ok":true}`},
		{"503 with Retry-After", []func(http.ResponseWriter){status(503, map[string]string{"Retry-After": "0"}, ""), ok}, 200, 2, `{"ok":true}`},
		{"429 then success", []func(http.ResponseWriter){status(429, map[string]string{"Retry-After": "0"}, ""), ok}, 200, 2, `{"ok":true}`},
		{"secondary rate limit with Retry-After", []func(http.ResponseWriter){status(403, map[string]string{"Retry-After": "0"}, `{"message":"You have exceeded a secondary rate limit"}`), ok}, 200, 2, `{"ok":true}`},
		{"secondary rate limit named only in the body", []func(http.ResponseWriter){status(403, nil, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes"}`), ok}, 200, 2, `{"ok":true}`},
		{"primary limit exhausted, reset soon", []func(http.ResponseWriter){status(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000"}, `{"message":"API rate limit exceeded"}`), ok}, 200, 2, `{"ok":true}`},
		{"primary limit exhausted, reset in an hour: returned, not waited on", []func(http.ResponseWriter){status(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700003600"}, `{"message":"API rate limit exceeded"}`), ok}, 403, 1, `{"message":"API rate limit exceeded"}`},
		{"Retry-After beyond the cap is returned", []func(http.ResponseWriter){status(429, map[string]string{"Retry-After": "3600"}, `{"message":"slow down"}`), ok}, 429, 1, `{"message":"slow down"}`},
		{"permission 403 is not retried and keeps its body", []func(http.ResponseWriter){status(403, nil, `{"message":"Resource not accessible by integration"}`), ok}, 403, 1, `{"message":"Resource not accessible by integration"}`},
		{"404 is not retried", []func(http.ResponseWriter){status(404, nil, `{"message":"Not Found"}`)}, 404, 1, `{"message":"Not Found"}`},
		{"422 is not retried", []func(http.ResponseWriter){status(422, nil, `{"message":"Validation Failed"}`)}, 422, 1, `{"message":"Validation Failed"}`},
		{"5xx until retries run out returns GitHub's last answer", []func(http.ResponseWriter){status(502, nil, "a"), status(502, nil, "b"), status(502, nil, "c"), status(500, nil, "d"), status(504, nil, `{"message":"last"}`)}, 504, 5, `{"message":"last"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &scripted{script: tt.script}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			mw := Retry(RetryOptions{MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond, SecondaryWait: time.Millisecond, Now: func() time.Time { return now }})
			client := &http.Client{Transport: mw(http.DefaultTransport)}
			// PATCH: it has a body, and an update is safe to repeat.
			req, err := http.NewRequest(http.MethodPatch, ts.URL+"/repos/o/r/check-runs/1", strings.NewReader(`{"name":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if len(srv.bodies) != tt.wantReqs {
				t.Errorf("server saw %d requests, want %d", len(srv.bodies), tt.wantReqs)
			}
			for i, b := range srv.bodies {
				if b != `{"name":"x"}` {
					t.Errorf("attempt %d sent body %q; a retry must resend the whole body", i+1, b)
				}
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	srv := &scripted{script: []func(http.ResponseWriter){status(502, nil, ""), status(502, nil, ""), status(502, nil, "")}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	mw := Retry(RetryOptions{MinWait: time.Hour, MaxWait: time.Hour})
	client := &http.Client{Transport: mw(http.DefaultTransport)}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL, nil)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("want an error once the context ends during the backoff")
	}
	if len(srv.bodies) != 1 {
		t.Errorf("server saw %d requests, want 1", len(srv.bodies))
	}
}
