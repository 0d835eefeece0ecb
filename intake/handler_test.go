package intake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/intake"
	"github.com/infra-agent/infra-agent/store"
)

func TestHandlerOutcomes(t *testing.T) {
	body := fixture(t, "pull_request-12-opened.json")
	cases := []struct {
		name       string
		configure  func(r *recorder)
		window     time.Duration // of the retries: 0 allows none
		wantStatus store.DeliveryStatus
		wantError  string
		metric     string
	}{
		{"success", func(*recorder) {}, 2 * time.Hour, store.DeliveryProcessed, "", "infra_agent_deliveries_processed_total"},
		{"error, retries left", func(r *recorder) { r.fail = errors.New("creating check run: 502 Bad Gateway") }, 2 * time.Hour, store.DeliveryPending, "creating check run: 502 Bad Gateway", "infra_agent_deliveries_retried_total"},
		{"error, last attempt", func(r *recorder) { r.fail = errors.New("creating check run: 502 Bad Gateway") }, 0, store.DeliveryFailed, "creating check run: 502 Bad Gateway", "infra_agent_deliveries_failed_total"},
		{"panic, last attempt", func(r *recorder) { r.panics = true }, 0, store.DeliveryFailed, "handler for pull_request panicked: handler bug", "infra_agent_deliveries_failed_total"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder("pull_request")
			tc.configure(rec)
			h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(time.Hour),
				intake.WithRetries(intake.RetryPolicy{Backoff: time.Hour, MaxBackoff: time.Hour, Window: tc.window}))
			if got := h.postSigned("pull_request", "outcome", body); got != http.StatusOK {
				t.Fatalf("status %d, want 200: the outcome is not GitHub's business", got)
			}
			if err := h.stop(context.Background()); err != nil {
				t.Fatalf("stopping: %v", err)
			}
			status, errText, attempts, _ := deliveryStatus(t, h.path, "outcome")
			if status != string(tc.wantStatus) || errText != tc.wantError || attempts != 1 {
				t.Errorf("delivery = %q %q after %d attempts, want %q %q after 1", status, errText, attempts, tc.wantStatus, tc.wantError)
			}
			if got := counter(t, h.reg, tc.metric, "pull_request"); got != 1 {
				t.Errorf("%s = %v, want 1", tc.metric, got)
			}
		})
	}
}

// TestHandlerContext checks what a handler gets: its own deadline, the request's
// logger with the delivery id, and no cancellation when the request ends.
func TestHandlerContext(t *testing.T) {
	body := fixture(t, "issue_comment-03-created.json")
	type seen struct {
		deadline  time.Duration
		errAfter  error
		responder bool
	}
	results := make(chan seen, 1)
	responded := make(chan struct{})
	rec := newRecorder("issue_comment")
	rec.inspect = func(ctx context.Context, _ string) {
		<-responded // the HTTP exchange is over
		var s seen
		if dl, ok := ctx.Deadline(); ok {
			s.deadline = time.Until(dl)
		}
		zerolog.Ctx(ctx).Info().Msg("handler says hello")
		s.errAfter = ctx.Err()
		func() {
			defer func() { s.responder = recover() == nil }()
			githubapp.SetResponder(ctx, func(http.ResponseWriter, *http.Request) {})
		}()
		results <- s
	}
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithHandlerTimeout(time.Minute))
	if got := h.postSigned("issue_comment", "ctx-delivery", body); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	close(responded)
	got := <-results
	if got.deadline <= 0 || got.deadline > time.Minute {
		t.Errorf("handler deadline in %v, want within the 1m handler timeout", got.deadline)
	}
	if got.errAfter != nil {
		t.Errorf("handler context cancelled after the response: %v", got.errAfter)
	}
	if !got.responder {
		t.Errorf("SetResponder panicked: the handler context is not initialised for it")
	}
	var line string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, "handler says hello") {
			line = l
		}
	}
	for _, want := range []string{`"github_delivery_id":"ctx-delivery"`, `"github_event_type":"issue_comment"`} {
		if !strings.Contains(line, want) {
			t.Errorf("handler log line %q lacks %s", line, want)
		}
	}
}

func TestStartValidation(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir()+"/db.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	handlers := []githubapp.EventHandler{newRecorder("issue_comment")}
	reg := prometheus.NewRegistry()
	first, err := intake.Start(context.Background(), st, handlers, intake.WithRegisterer(reg))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = first.Shutdown(context.Background()) })

	cases := []struct {
		name string
		st   store.Store
		opts []intake.Option
	}{
		{"no store", nil, nil},
		{"no workers", st, []intake.Option{intake.WithWorkers(0)}},
		{"no queue", st, []intake.Option{intake.WithQueueSize(0)}},
		{"no batch", st, []intake.Option{intake.WithMaxBatch(0)}},
		{"no handler timeout", st, []intake.Option{intake.WithHandlerTimeout(0)}},
		{"metrics registered twice", st, []intake.Option{intake.WithRegisterer(reg)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := intake.Start(context.Background(), tc.st, handlers, tc.opts...)
			if err == nil {
				_ = s.Shutdown(context.Background())
				t.Fatalf("Start succeeded, want an error")
			}
		})
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, want := range []string{"infra_agent_delivery_queue_depth", "infra_agent_delivery_batch_size", "infra_agent_delivery_commit_seconds"} {
		if !names[want] {
			t.Errorf("metric %s not registered", want)
		}
	}
}

// TestHandlerRetries fails a handler twice (as during a GitHub outage) and
// checks the sweeper retries the delivery after its backoff until it succeeds,
// and that a delivery failing every attempt ends failed once its retry window
// is over.
func TestHandlerRetries(t *testing.T) {
	body := fixture(t, "pull_request-12-opened.json")
	// The window holds far more attempts than the test needs: under the race
	// detector on a busy machine an attempt (a run and its commit) has taken
	// over 300 ms, and a 400 ms window then ended after two.
	policy := intake.RetryPolicy{Backoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Window: 2 * time.Second}
	for _, tc := range []struct {
		name       string
		failures   int
		wantStatus store.DeliveryStatus
		minRuns    int
		minTime    time.Duration
	}{
		{"succeeds on the third attempt", 2, store.DeliveryProcessed, 3, 60 * time.Millisecond},
		// 0, 20, 60, 100, ... ms: it fails once the next wait would end past
		// the window, not before the window less one wait.
		{"fails every attempt", 1000, store.DeliveryFailed, 3, 1960 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder("pull_request")
			rec.failFirst = tc.failures
			rec.fail = errors.New("creating check run: 502 Bad Gateway")
			h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(5*time.Millisecond), intake.WithRetries(policy))
			start := time.Now()
			if got := h.postSigned("pull_request", "retried", body); got != http.StatusOK {
				t.Fatalf("status %d", got)
			}
			waitFor(t, "the delivery to end", func() bool {
				status, _, _, _ := deliveryStatus(t, h.path, "retried")
				return status != string(store.DeliveryPending)
			})
			status, _, attempts, _ := deliveryStatus(t, h.path, "retried")
			runs := rec.count("retried")
			if status != string(tc.wantStatus) || attempts != runs || runs < tc.minRuns {
				t.Errorf("delivery %s after %d recorded attempts and %d runs, want %s after at least %d",
					status, attempts, runs, tc.wantStatus, tc.minRuns)
			}
			if tc.wantStatus == store.DeliveryProcessed && runs != tc.failures+1 {
				t.Errorf("%d runs, want %d", runs, tc.failures+1)
			}
			if took := time.Since(start); took < tc.minTime {
				t.Errorf("%d attempts within %s: the backoff was not honoured (want at least %s)", runs, took, tc.minTime)
			}
			if err := h.stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDefaultRetriesOutlastAnHourLongOutage walks the default retry schedule
// of a delivery that arrives when GitHub goes down for an hour: an attempt is
// made after the outage ends. (Four attempts at 1, 2 and 4 minutes used to
// end seven minutes in.)
func TestDefaultRetriesOutlastAnHourLongOutage(t *testing.T) {
	p := intake.DefaultRetryPolicy()
	const outage = time.Hour
	var waits []time.Duration
	for attempts := 1; attempts <= 6; attempts++ {
		wait, _ := p.Next(attempts, 0)
		waits = append(waits, wait)
	}
	if fmt.Sprint(waits) != "[1m0s 2m0s 4m0s 8m0s 10m0s 10m0s]" {
		t.Errorf("waits before the retries = %v, want 1, 2, 4 and 8 minutes, then every 10 (as the README says)", waits)
	}
	var at time.Duration // time since arrival of the attempt being made
	for attempts := 1; ; attempts++ {
		wait, again := p.Next(attempts, at)
		if !again {
			t.Fatalf("retries end after %d attempts, the last %s after arrival: within the outage", attempts, at)
		}
		at += wait
		if at >= outage {
			if wait > 10*time.Minute {
				t.Errorf("the attempt after the outage waited %s; retries should stay at most 10 minutes apart", wait)
			}
			return
		}
	}
}

// TestRedeliveredFailedDeliveryRunsAgain: once its retries are over a
// delivery has failed for good; GitHub delivering it again (a redelivery
// someone asked for keeps its id) runs it again instead of answering
// "duplicate".
func TestRedeliveredFailedDeliveryRunsAgain(t *testing.T) {
	body := fixture(t, "pull_request-12-opened.json")
	rec := newRecorder("pull_request")
	rec.failFirst = 1
	rec.fail = errors.New("GitHub: 503 Service Unavailable")
	h := newHarness(t, "", []githubapp.EventHandler{rec}, intake.WithSweepInterval(time.Hour),
		intake.WithRetries(intake.RetryPolicy{Backoff: time.Hour, MaxBackoff: time.Hour})) // no retry fits
	if got := h.postSigned("pull_request", "outage", body); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	waitFor(t, "the delivery to fail", func() bool {
		status, _, _, _ := deliveryStatus(t, h.path, "outage")
		return status == string(store.DeliveryFailed)
	})
	if got := h.postSigned("pull_request", "outage", body); got != http.StatusOK {
		t.Fatalf("redelivery: status %d", got)
	}
	waitFor(t, "the redelivery to run", func() bool {
		status, _, _, _ := deliveryStatus(t, h.path, "outage")
		return status == string(store.DeliveryProcessed)
	})
	if got := rec.count("outage"); got != 2 {
		t.Errorf("handler ran %d times, want 2: once failing, once for the redelivery", got)
	}
	// Processed: a further redelivery is a duplicate.
	if got := h.postSigned("pull_request", "outage", body); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	if err := h.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rec.count("outage"); got != 2 {
		t.Errorf("handler ran %d times after a duplicate, want 2", got)
	}
}
