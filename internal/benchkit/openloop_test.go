package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestOpenLoopSendsWhateverTheLatency: the server answers nothing until every
// scheduled request has arrived. A closed loop of N senders stops at N
// requests in flight and never gets there; the open loop sends them all.
func TestOpenLoopSendsWhateverTheLatency(t *testing.T) {
	const rate, n = 1000, 50
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		<-all
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := OpenLoop{
		Rate:     rate,
		Duration: n * time.Second / rate,
		Request: func(i int) (*http.Request, error) {
			return http.NewRequest(http.MethodPost, fmt.Sprintf("%s/?i=%d", srv.URL, i), nil)
		},
	}.Run(ctx)
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%v (%d of %d requests arrived: the generator waited for answers)", err, arrived, n)
	}
	if len(r.Hits) != n || r.OK() != n || r.Failed() != 0 || r.FirstError() != nil {
		t.Fatalf("%d hits, %d ok, %d failed (%v); want %d answered 200", len(r.Hits), r.OK(), r.Failed(), r.FirstError(), n)
	}
	if r.Throughput() <= 0 || r.Elapsed <= 0 {
		t.Errorf("throughput %v over %s", r.Throughput(), r.Elapsed)
	}
	// The first request waited for the last to be sent, 49 intervals later.
	if first := r.Hits[0].Latency; first < (n-1)*time.Second/rate {
		t.Errorf("the first request was answered after %s, before the last one was due", first)
	}
}

func TestOpenLoopCountsFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("i") == "1" {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	r, err := OpenLoop{Rate: 100, Duration: 40 * time.Millisecond, Request: func(i int) (*http.Request, error) {
		if i == 2 {
			return nil, errors.New("cannot build")
		}
		return http.NewRequest(http.MethodGet, fmt.Sprintf("%s/?i=%d", srv.URL, i), nil)
	}}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hits) != 4 || r.OK() != 2 || r.Failed() != 2 || len(r.Latencies()) != 2 || len(r.Lags()) != 4 {
		t.Fatalf("%d hits, %d ok, %d failed, %d latencies; want 4, 2, 2, 2", len(r.Hits), r.OK(), r.Failed(), len(r.Latencies()))
	}
	if err := r.FirstError(); err == nil || err.Error() != "request 1: status 503" {
		t.Errorf("first error %v, want request 1's 503", err)
	}
	if m := r.Merge(r); len(m.Hits) != 8 || m.OK() != 4 || m.Elapsed != 2*r.Elapsed {
		t.Errorf("merged: %d hits, %d ok over %s", len(m.Hits), m.OK(), m.Elapsed)
	}
}

func TestOpenLoopRefusesNoRate(t *testing.T) {
	if _, err := (OpenLoop{Duration: time.Second, Request: func(int) (*http.Request, error) { return nil, nil }}).Run(context.Background()); err == nil {
		t.Error("ran at rate 0")
	}
}
