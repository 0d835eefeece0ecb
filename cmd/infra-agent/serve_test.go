package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

const (
	e2eSecret  = "e2e-webhook-secret"
	e2eOwner   = "runatlantis" // the repository Atlantis's real payload names
	e2eRepo    = "atlantis-tests"
	e2eRepoID  = 136474117
	e2ePR      = 1
	e2eComment = 396926483
)

// world is a fake GitHub holding the repository the real payloads name.
func world(t testing.TB) *fakegithub.Server {
	t.Helper()
	fake := fakegithub.New(t)
	fake.AddInstallation(1, e2eOwner)
	fake.AddRepo(fakegithub.Repo{ID: e2eRepoID, Owner: e2eOwner, Name: e2eRepo, DefaultBranch: "main", InstallationID: 1})
	fake.AddWorkflow(e2eOwner, e2eRepo, "infra-agent.yml")
	fake.SetPermission(e2eOwner, e2eRepo, e2eOwner, "write")
	fake.AddPullRequest(e2eOwner, e2eRepo, fakegithub.PullRequest{
		Number: e2ePR, Title: "Add a bucket", User: e2eOwner, HeadRef: "topic", BaseRef: "main", Files: []string{"main.tf"},
	})
	fake.AddComment(e2eOwner, e2eRepo, e2ePR, fakegithub.Comment{ID: e2eComment, User: e2eOwner, Body: "/agent fix"})
	return fake
}

// server is infra-agent serve running in-process on a free port.
type server struct {
	url string
	// metricsURL is the separate metrics listener's, when there is one.
	metricsURL string
	logs       *testkit.LogBuffer
	stop       func() error
}

// startServer runs `infra-agent serve` through run, configured by environment
// variables only, and waits for its "listening" log line.
func startServer(t testing.TB, fake *fakegithub.Server, db string) *server {
	t.Helper()
	return startServerWith(t, fake, db, nil)
}

// serverEnv is the environment of a server for fake on database db.
func serverEnv(fake *fakegithub.Server, db string) map[string]string {
	return map[string]string{
		"GITHUB_V3_API_URL":         fake.URL,
		"GITHUB_V4_API_URL":         fake.URL + "graphql",
		"GITHUB_APP_INTEGRATION_ID": fmt.Sprint(fake.AppID()),
		"GITHUB_APP_WEBHOOK_SECRET": e2eSecret,
		"GITHUB_APP_PRIVATE_KEY":    string(fake.PrivateKeyPEM()),
		"INFRA_AGENT_ADDR":          "127.0.0.1:0",
		"INFRA_AGENT_DATABASE":      db,
	}
}

// startServerWith is startServer with more settings; a "INFRA_AGENT_ADDR"
// among them replaces the default.
func startServerWith(t testing.TB, fake *fakegithub.Server, db string, extra map[string]string) *server {
	t.Helper()
	env := serverEnv(fake, db)
	env["INFRA_AGENT_PUBLIC_URL"] = "https://agent.example.com"
	maps.Copy(env, extra)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &testkit.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, stdio{out: io.Discard, err: pw})
		pw.Close()
		done <- err
	}()
	type listening struct {
		Message, Addr string
		MetricsAddr   string `json:"metrics_addr"`
	}
	addr := make(chan listening, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			var l listening
			if json.Unmarshal([]byte(line), &l) == nil && l.Message == "listening" {
				addr <- l
			}
		}
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("serve did not stop within 30 s")
		}
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case a := <-addr:
		srv := &server{url: "http://" + a.Addr, logs: logs, stop: stop}
		if a.MetricsAddr != "" {
			srv.metricsURL = "http://" + a.MetricsAddr
		}
		return srv
	case err := <-done:
		t.Fatalf("serve ended before listening: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start within 30 s\n%s", logs)
	}
	return nil
}

// payload reads a testdata payload and applies edits ("a.b.c" → value).
func payload(t testing.TB, name string, edits map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for path, v := range edits {
		parts := strings.Split(path, ".")
		m := doc
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func commentPayload(t testing.TB, body string) []byte {
	return payload(t, "atlantis__githubIssueCommentEvent.json", map[string]any{
		"installation.id":     1,
		"comment.body":        body,
		"repository.owner.id": fakegithub.UserID(e2eOwner),
	})
}

// deliver posts a payload as GitHub would, signed with secret.
func deliver(t testing.TB, url, event, delivery string, body []byte, secret string) int {
	t.Helper()
	req := testkit.WebhookRequest(t, url+"/api/github/hook", event, delivery, body, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("delivering %s: %v", event, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// scrape returns the server's /metrics.
func scrape(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeEndToEnd(t *testing.T) {
	fake := world(t)
	db := filepath.Join(t.TempDir(), "data", "infra-agent.db")
	srv := startServer(t, fake, db)

	t.Run("health", func(t *testing.T) {
		resp, err := http.Get(srv.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
			t.Errorf("healthz = %d %s", resp.StatusCode, body)
		}
	})

	t.Run("refused deliveries make no job", func(t *testing.T) {
		body := commentPayload(t, "/agent fix")
		for _, tc := range []struct {
			name, event, delivery, secret string
			body                          []byte
			want                          int
		}{
			{"bad signature", "issue_comment", "bad-sig", "not-the-secret", body, 400},
			{"no signature", "issue_comment", "no-sig", "", body, 400},
			{"malformed JSON", "issue_comment", "bad-json", e2eSecret, []byte(`{"action":`), 400},
			{"no delivery id", "issue_comment", "", e2eSecret, body, 400},
			{"unknown event", "sponsorship", "unknown-event", e2eSecret, []byte(`{"action":"created"}`), 202},
		} {
			if got := deliver(t, srv.url, tc.event, tc.delivery, tc.body, tc.secret); got != tc.want {
				t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
			}
		}
		if n := len(fake.CheckRuns(e2eOwner, e2eRepo)); n != 0 {
			t.Errorf("%d check runs after refused deliveries, want 0", n)
		}
	})

	t.Run("a comment without a command is recorded, not run", func(t *testing.T) {
		body := commentPayload(t, "Thanks, looks good to me.")
		for i := 0; i < 2; i++ {
			if got := deliver(t, srv.url, "issue_comment", "delivery-chat-1", body, e2eSecret); got != 200 {
				t.Fatalf("delivery %d: status %d, want 200", i+1, got)
			}
		}
		metrics := scrape(t, srv.url)
		for _, want := range []string{
			`infra_agent_deliveries_filtered_total{event="issue_comment"} 1`,
			`infra_agent_deliveries_duplicate_total{event="issue_comment"} 1`,
		} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(metrics, `infra_agent_deliveries_processed_total{event="issue_comment"}`) {
			t.Error("a comment without a command was queued and run")
		}
	})

	t.Run("a /agent fix comment becomes one job, whatever GitHub redelivers", func(t *testing.T) {
		body := commentPayload(t, "Looks wrong to me.\n/agent fix make the bucket private")
		for i := 0; i < 5; i++ {
			if got := deliver(t, srv.url, "issue_comment", "delivery-fix-1", body, e2eSecret); got != 200 {
				t.Fatalf("delivery %d: status %d, want 200", i+1, got)
			}
		}
		eventually(t, "the workflow dispatch", func() bool { return len(fake.Dispatches(e2eOwner, e2eRepo)) > 0 })
		time.Sleep(200 * time.Millisecond) // room for a wrong second job to show up
		ds := fake.Dispatches(e2eOwner, e2eRepo)
		if len(ds) != 1 {
			t.Fatalf("%d dispatches, want 1: %+v", len(ds), ds)
		}
		if ds[0].Ref != "refs/heads/main" || ds[0].Workflow != "infra-agent.yml" || len(ds[0].Inputs) != 1 || ds[0].Inputs[wire.WorkflowInput] == "" {
			t.Errorf("dispatch = %+v, want infra-agent.yml on refs/heads/main with the single input job_id", ds[0])
		}
		crs := fake.CheckRuns(e2eOwner, e2eRepo)
		if len(crs) != 1 || crs[0].Name != "infra-agent/fix" || crs[0].Status != "queued" || crs[0].ExternalID != ds[0].Inputs[wire.WorkflowInput] {
			t.Fatalf("check runs = %+v, want one queued infra-agent/fix whose external_id is the job id", crs)
		}
		if rs := fake.Reactions(e2eOwner, e2eRepo, e2eComment); len(rs) != 1 || rs[0] != "eyes" {
			t.Errorf("reactions = %v, want [eyes]", rs)
		}
	})

	t.Run("the workflow run failing closes the job on GitHub", func(t *testing.T) {
		ds := fake.Dispatches(e2eOwner, e2eRepo)
		jobID := fmt.Sprint(ds[0].Inputs[wire.WorkflowInput])
		body := payload(t, "octokit__workflow_run__02-completed.json", map[string]any{
			"installation.id":                 1,
			"repository.name":                 e2eRepo,
			"repository.full_name":            e2eOwner + "/" + e2eRepo,
			"repository.owner.login":          e2eOwner,
			"repository.id":                   e2eRepoID,
			"workflow_run.repository.id":      e2eRepoID,
			"workflow_run.head_repository.id": e2eRepoID,
			"workflow_run.head_branch":        "main",
			"workflow_run.id":                 ds[0].RunID,
			"workflow.path":                   ".github/workflows/infra-agent.yml",
			"workflow_run.path":               ".github/workflows/infra-agent.yml",
			"workflow_run.display_title":      "infra-agent job " + jobID,
			"workflow_run.event":              "workflow_dispatch",
			"workflow_run.conclusion":         "failure",
		})
		if got := deliver(t, srv.url, "workflow_run", "delivery-run-1", body, e2eSecret); got != 200 {
			t.Fatalf("status %d", got)
		}
		eventually(t, "the check run to complete", func() bool {
			crs := fake.CheckRuns(e2eOwner, e2eRepo)
			return len(crs) == 1 && crs[0].Status == "completed"
		})
		if c := fake.CheckRuns(e2eOwner, e2eRepo)[0].Conclusion; c != "failure" {
			t.Errorf("conclusion %q, want failure", c)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		body := scrape(t, srv.url)
		for _, want := range []string{
			"infra_agent_github_requests_total", "infra_agent_github_rate_limit_remaining",
			"infra_agent_jobs_created_total", "go_goroutines",
			// The list: deliveries, jobs by kind and state, queue depth.
			"infra_agent_deliveries_received_total", `infra_agent_jobs_active{kind="fix",state="queued"}`,
			"infra_agent_job_transitions_total", "infra_agent_delivery_queue_depth",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	if err := srv.stop(); err != nil {
		t.Fatalf("serve returned %v on shutdown\n%s", err, srv.logs)
	}
	if !strings.Contains(srv.logs.String(), `"stopped"`) {
		t.Errorf("no clean stop in the logs:\n%s", srv.logs)
	}
}

// TestServeProcessesDeliveriesRecordedBeforeARestart records a delivery in the
// database as the intake would have before a crash, then starts the server.
func TestServeProcessesDeliveriesRecordedBeforeARestart(t *testing.T) {
	fake := world(t)
	db := filepath.Join(t.TempDir(), "infra-agent.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertDeliveries(context.Background(), []store.Delivery{{
		ID: "before-crash", Event: "issue_comment", Payload: commentPayload(t, "/agent plan"),
		ReceivedAt: time.Now().Add(-time.Minute), Status: store.DeliveryPending,
	}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// GitHub could not deliver this one at all while the server was down.
	missed := fake.AddHookDelivery(fakegithub.HookDelivery{
		GUID: "missed-while-down", Event: "issue_comment", Action: "created", StatusCode: 502, Status: "502",
		DeliveredAt: time.Now().Add(-10 * time.Minute), InstallationID: 1,
	})

	srv := startServer(t, fake, db)
	eventually(t, "the recovered delivery's dispatch", func() bool { return len(fake.Dispatches(e2eOwner, e2eRepo)) == 1 })
	eventually(t, "the missed delivery's redelivery", func() bool {
		r := fake.Redeliveries()
		return len(r) == 1 && r[0] == missed
	})
	if crs := fake.CheckRuns(e2eOwner, e2eRepo); len(crs) != 1 || crs[0].Name != "infra-agent/plan" {
		t.Errorf("check runs = %+v, want one infra-agent/plan", crs)
	}
	// A redelivery of the same delivery after the restart is not run again.
	if got := deliver(t, srv.url, "issue_comment", "before-crash", commentPayload(t, "/agent plan"), e2eSecret); got != 200 {
		t.Errorf("redelivery status %d", got)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(fake.Dispatches(e2eOwner, e2eRepo)); n != 1 {
		t.Errorf("%d dispatches after a redelivery, want 1", n)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeRefusesBadConfiguration(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve"}, func(k string) string {
		return map[string]string{"GITHUB_APP_INTEGRATION_ID": "1"}[k]
	}, stdio{out: io.Discard, err: &stderr})
	if err == nil {
		t.Fatal("serve started without a webhook secret and a key")
	}
	for _, want := range []string{"GITHUB_APP_WEBHOOK_SECRET", "GITHUB_APP_PRIVATE_KEY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if code := exitCode(err, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
}

// TestHTTPServerFinishesInFlightRequests: shutdown begins when the serve
// context ends; a webhook still being received must keep a live context so it
// can record its delivery while Shutdown waits for it.
func TestHTTPServerFinishesInFlightRequests(t *testing.T) {
	logs := &testkit.LogBuffer{}
	logger := zerolog.New(logs)
	ctx, cancel := context.WithCancel(logger.WithContext(context.Background()))
	defer cancel()
	started, release := make(chan struct{}), make(chan struct{})
	srv := newHTTPServer(ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		zerolog.Ctx(r.Context()).Info().Msg("request logged")
		if err := r.Context().Err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()

	status := make(chan int, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Errorf("request: %v", err)
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-started
	cancel() // the signal arrived
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	close(release)
	if got := <-status; got != http.StatusAccepted {
		t.Errorf("in-flight request answered %d, want 202: its context ended with the serve context", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if !strings.Contains(logs.String(), "request logged") {
		t.Error("the request context lost the server's logger")
	}
}
