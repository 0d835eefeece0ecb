package benchkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitHubTimeout is how long GitHub waits for a webhook's answer before it
// records the delivery as failed; the generator's client gives up then too.
const GitHubTimeout = 10 * time.Second

// OpenLoop sends requests at a fixed rate for a fixed time whatever the
// server's latency: each request leaves at its scheduled time on its own
// connection if need be, never waiting for earlier answers. A server that
// falls behind therefore shows it in the latencies, as it would to GitHub,
// instead of slowing the generator down (which a closed loop of N senders
// does, hiding the queue).
type OpenLoop struct {
	// Rate is the requests per second offered.
	Rate int
	// Duration is how long requests are sent.
	Duration time.Duration
	// Request builds the i-th request (0-based). It is called at the request's
	// scheduled time, from its own goroutine.
	Request func(i int) (*http.Request, error)
	// Client sends the requests; nil is a client with as many connections as
	// the load needs and GitHubTimeout.
	Client *http.Client
}

// Hit is the outcome of one request.
type Hit struct {
	// Lag is how long after its scheduled time the request left: the
	// generator's own delay, which a saturated machine makes visible here.
	Lag time.Duration
	// Latency runs from sending the request to reading the last byte of the
	// answer.
	Latency time.Duration
	Status  int
	Err     error
}

// Result holds the outcome of a run.
type Result struct {
	Rate     int
	Duration time.Duration
	// Elapsed runs from the first scheduled send to the last answer.
	Elapsed time.Duration
	Hits    []Hit
}

// NewClient returns an HTTP client for load generation: no cap on
// connections, idle ones kept for reuse, GitHubTimeout per request.
func NewClient() *http.Client {
	return &http.Client{
		Timeout: GitHubTimeout,
		Transport: &http.Transport{
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 4096,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// Run sends Rate × Duration requests on schedule and waits for every answer.
// Cancelling ctx stops sending and abandons the requests in flight.
func (o OpenLoop) Run(ctx context.Context) (Result, error) {
	if o.Rate < 1 || o.Duration <= 0 || o.Request == nil {
		return Result{}, fmt.Errorf("open loop: rate %d/s for %s with a request builder: want a positive rate and duration", o.Rate, o.Duration)
	}
	client := o.Client
	if client == nil {
		client = NewClient()
		defer client.CloseIdleConnections()
	}
	n := int(o.Duration.Seconds() * float64(o.Rate))
	hits := make([]Hit, n)
	var wg sync.WaitGroup
	start := time.Now()
	sent := 0
	for ; sent < n && ctx.Err() == nil; sent++ {
		due := start.Add(time.Duration(sent) * time.Second / time.Duration(o.Rate))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			hits[i] = hit(ctx, client, o.Request, i, due)
		}(sent)
	}
	wg.Wait()
	r := Result{Rate: o.Rate, Duration: o.Duration, Elapsed: time.Since(start), Hits: hits[:sent]}
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("open loop stopped after %d of %d requests: %w", sent, n, err)
	}
	return r, nil
}

func hit(ctx context.Context, client *http.Client, build func(int) (*http.Request, error), i int, due time.Time) Hit {
	req, err := build(i)
	if err != nil {
		return Hit{Err: fmt.Errorf("building request %d: %w", i, err)}
	}
	start := time.Now()
	h := Hit{Lag: start.Sub(due)}
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		h.Latency, h.Err = time.Since(start), err
		return h
	}
	_, err = io.Copy(io.Discard, resp.Body)
	err = errors.Join(err, resp.Body.Close())
	h.Latency, h.Status, h.Err = time.Since(start), resp.StatusCode, err
	return h
}

// OK counts the requests answered 200.
func (r Result) OK() int {
	n := 0
	for _, h := range r.Hits {
		if h.Err == nil && h.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// Failed counts the requests not answered 200: other statuses, errors and
// time-outs.
func (r Result) Failed() int { return len(r.Hits) - r.OK() }

// Throughput is the requests answered 200 per second, from the first
// scheduled send to the last answer: a server that keeps up matches Rate.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK()) / r.Elapsed.Seconds()
}

// Latencies returns the latency of every request answered 200.
func (r Result) Latencies() []time.Duration {
	ls := make([]time.Duration, 0, len(r.Hits))
	for _, h := range r.Hits {
		if h.Err == nil && h.Status == http.StatusOK {
			ls = append(ls, h.Latency)
		}
	}
	return ls
}

// Lags returns every request's send lag.
func (r Result) Lags() []time.Duration {
	ls := make([]time.Duration, len(r.Hits))
	for i, h := range r.Hits {
		ls[i] = h.Lag
	}
	return ls
}

// Merge returns r with the requests of other added, for a benchmark that runs
// several times.
func (r Result) Merge(other Result) Result {
	if len(r.Hits) == 0 {
		return other
	}
	r.Hits = append(append([]Hit(nil), r.Hits...), other.Hits...)
	r.Duration += other.Duration
	r.Elapsed += other.Elapsed
	return r
}

// FirstError returns the first request error or non-200 status, for a
// benchmark's log; nil when every request got a 200.
func (r Result) FirstError() error {
	for i, h := range r.Hits {
		switch {
		case h.Err != nil:
			return fmt.Errorf("request %d: %w", i, h.Err)
		case h.Status != http.StatusOK:
			return fmt.Errorf("request %d: status %d", i, h.Status)
		}
	}
	return nil
}

// Report puts the run's figures on b's result line, each unit starting with
// prefix (several runs can share a line): the offered and achieved rates,
// latency quantiles of the 200 answers, failures and the generator's own
// send lag. It replaces ns/op, which means nothing for a fixed-rate run.
func (r Result) Report(b *testing.B, prefix string) {
	b.Helper()
	lat := r.Latencies()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(r.Rate), prefix+"offered/s")
	b.ReportMetric(r.Throughput(), prefix+"acked/s")
	b.ReportMetric(millis(Quantile(lat, 0.5)), prefix+"p50-ms")
	b.ReportMetric(millis(Quantile(lat, 0.99)), prefix+"p99-ms")
	b.ReportMetric(millis(Quantile(lat, 1)), prefix+"max-ms")
	b.ReportMetric(float64(r.Failed()), prefix+"failed")
	b.ReportMetric(millis(Quantile(r.Lags(), 0.99)), prefix+"send-lag-p99-ms")
	if err := r.FirstError(); err != nil {
		b.Logf("%s: %d of %d requests got no 200; the first: %v", strings.TrimSuffix(prefix, "-"), r.Failed(), len(r.Hits), err)
	}
}
