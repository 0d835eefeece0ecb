package intake_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/internal/benchkit"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
)

// benchClients is how many webhook senders run at once.
const benchClients = 32

// countingHandler does nothing but count, so the benchmark measures intake.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) Handles() []string { return []string{"issue_comment"} }

func (h *countingHandler) Handle(context.Context, string, string, []byte) error {
	h.n.Add(1)
	return nil
}

// signedPayload is a webhook body and its X-Hub-Signature-256.
type signedPayload struct {
	body []byte
	sig  string
}

// BenchmarkIntake sends signed real issue_comment payloads over HTTP through
// the webhook guard, go-githubapp's dispatcher and the Scheduler into a
// SQLite store on disk, from benchClients concurrent senders, each sending
// its next delivery when the previous one was acknowledged. It is a partial
// figure: the handler only counts, and a closed loop of senders slows down
// with the server; see BenchmarkServeIntake in cmd/infra-agent for the server
// as GitHub sees it. Every 200 is sent after the delivery was committed with
// synchronous=FULL (see store/sqlite.go). It reports
// deliveries per second, the p50/p99 time to acknowledgement, the mean group
// commit (deliveries per commit, milliseconds per commit), and beside them the
// fsync latency of the database's directory, timed before and after the run
// (the commit waits for it, so the figures mean little without it), and the
// machine's load average when the run began. It refuses a directory in memory
// (tmpfs).
//
//	go test ./intake -run '^$' -bench Intake -benchtime 20000x
func BenchmarkIntake(b *testing.B) {
	var payloads []signedPayload
	for _, name := range []string{"issue_comment-00-created.json", "issue_comment-01-created.json", "issue_comment-03-created.json"} {
		body := fixture(b, name)
		payloads = append(payloads, signedPayload{body, testkit.Sign(testSecret, body)})
	}
	ctx := context.Background()
	machine := benchkit.ReadMachine()
	dir := b.TempDir()
	disk := benchkit.ProbeBenchDisk(b, dir)
	st, err := store.Open(ctx, filepath.Join(dir, "infra-agent.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	handler := &countingHandler{}
	handlers := []githubapp.EventHandler{handler}
	reg := prometheus.NewRegistry()
	sched, err := intake.Start(ctx, st, handlers, intake.WithRegisterer(reg))
	if err != nil {
		b.Fatal(err)
	}
	// As serve wires it.
	dispatcher := githubapp.NewEventDispatcher(handlers, testSecret, githubapp.WithScheduler(sched))
	srv := httptest.NewServer(guard(b, dispatcher, 0))
	defer srv.Close()

	b.ResetTimer()
	start := time.Now()
	latencies, failures := sendWebhooks(srv.URL+githubapp.DefaultWebhookRoute, payloads, b.N)
	elapsed := time.Since(start)
	b.StopTimer()

	if failures > 0 {
		b.Fatalf("%d of %d deliveries were not acknowledged with 200", failures, b.N)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	quantile := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(quantile(0.50), "p50-ms")
	b.ReportMetric(quantile(0.99), "p99-ms")
	reportCommits(b, reg)
	disk.Merge(benchkit.ProbeBenchDisk(b, dir)).Report(b)
	machine.Report(b)

	// Every acknowledged delivery runs, including any the queue deferred to
	// the sweeper.
	deadline := time.Now().Add(time.Minute)
	for handler.n.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	shutdownCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := sched.Shutdown(shutdownCtx); err != nil {
		b.Fatal(err)
	}
	if got := handler.n.Load(); got != int64(b.N) {
		b.Fatalf("handler ran %d times for %d acknowledged deliveries", got, b.N)
	}
}

// sendWebhooks posts n deliveries with unique ids from benchClients senders
// and returns each one's time to acknowledgement and how many got no 200.
func sendWebhooks(url string, payloads []signedPayload, n int) ([]time.Duration, int64) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	defer client.CloseIdleConnections()
	var (
		next      atomic.Int64
		failures  atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		wg        sync.WaitGroup
	)
	send := func(i int64) (time.Duration, bool) {
		p := payloads[int(i)%len(payloads)]
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(p.body))
		if err != nil {
			return 0, false
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "issue_comment")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", n, i))
		req.Header.Set("X-Hub-Signature-256", p.sig)
		sent := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return time.Since(sent), resp.StatusCode == http.StatusOK
	}
	for c := 0; c < benchClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				took, ok := send(i)
				if !ok {
					failures.Add(1)
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return latencies, failures.Load()
}

// reportCommits reports the mean group commit from the intake's histograms.
func reportCommits(b *testing.B, reg *prometheus.Registry) {
	b.Helper()
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		switch f.GetName() {
		case "infra_agent_delivery_batch_size":
			b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "deliveries/commit")
		case "infra_agent_delivery_commit_seconds":
			b.ReportMetric(1000*h.GetSampleSum()/float64(h.GetSampleCount()), "commit-ms")
		}
	}
}
