package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// TestFaultInjection runs `infra-agent serve` as real processes against a
// fake GitHub that fails 20 % of the calls (500, 502, secondary rate limits,
// 429, and requests it applies before answering 502). A dozen commands arrive
// on one pull request; halfway a server is killed with SIGKILL and started
// again on the same database; GitHub redelivers what could not be delivered
// (when the server's redelivery sweep asks) and some deliveries that were.
// At the end every trigger has exactly one job and one check run, no job was
// dispatched twice, every superseded job's check run is concluded, and
// nothing but the last job stays open. On SQLite with one server, and on
// PostgreSQL with two.
func TestFaultInjection(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "infra-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("sqlite", func(t *testing.T) {
		runFaults(t, bin, filepath.Join(t.TempDir(), "infra-agent.db"), 1)
	})
	t.Run("postgres, two replicas", func(t *testing.T) {
		runFaults(t, bin, testkit.PostgresSchema(t), 2)
	})
}

// faultCommands are the dozen commands, each of which makes a job.
var faultCommands = []string{
	"/agent plan", "/agent review", "/agent fix", "/agent plan", "/agent fix pin the provider", "/agent review",
	"/agent plan", "/agent fix", "/agent review", "/agent plan", "/agent fix use t3.small", "/agent review",
}

func runFaults(t *testing.T, bin, db string, replicas int) {
	fake := world(t)
	fake.SetWorkflowRunName(e2eOwner, e2eRepo, "infra-agent.yml", "infra-agent job ${{ inputs.job_id }}")
	fake.InjectFaults(fakegithub.Faults{Rate: 0.2, Seed: 20, RetryAfter: time.Second})
	gh := &gitHub{t: t, fake: fake, payloads: map[string][]byte{}, sent: map[int64]bool{}}
	env := serverEnv(fake, db)
	maps.Copy(env, map[string]string{
		"INFRA_AGENT_LEASE":                  "2s",
		"INFRA_AGENT_DELIVERY_RETRY_BACKOFF": "1s",
		"INFRA_AGENT_WORKERS":                "4",
		// A conclusion GitHub refused is the watchdog's to retry, a minute
		// after the job ended: the test waits for it.
		"INFRA_AGENT_WATCHDOG_INTERVAL": "1s",
	})
	servers := make([]*process, replicas)
	for i := range servers {
		servers[i] = startProcess(t, bin, env)
	}
	var triggers []string
	for i, body := range faultCommands {
		switch i {
		case len(faultCommands) / 2:
			servers[0].kill(t)
		case len(faultCommands)/2 + 2:
			servers[0] = startProcess(t, bin, env)
		}
		id := fake.AddComment(e2eOwner, e2eRepo, e2ePR, fakegithub.Comment{User: e2eOwner, Body: body})
		triggers = append(triggers, fmt.Sprintf("issue_comment:%d", id))
		guid := fmt.Sprintf("fault-%02d", i)
		gh.payloads[guid] = payload(t, "atlantis__githubIssueCommentEvent.json", map[string]any{
			"installation.id": 1, "comment.id": id, "comment.body": body, "repository.owner.id": fakegithub.UserID(e2eOwner),
			"comment.created_at": time.Now().UTC().Format(time.RFC3339),
		})
		gh.deliver(servers[i%replicas], guid)
		if i%4 == 3 {
			gh.deliver(servers[(i+1)%replicas], fmt.Sprintf("fault-%02d", i-2)) // GitHub redelivering one
		}
		time.Sleep(150 * time.Millisecond)
	}

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var problems []string
	// Longer than the watchdog's grace for a check run whose conclusion
	// GitHub refused (jobs.DefaultConcludeGrace).
	deadline := time.Now().Add(jobs.DefaultConcludeGrace + 45*time.Second)
	for {
		gh.redeliverAsked(servers)
		problems = settled(t, st, fake, triggers)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, p := range problems {
		t.Error(p)
	}
	checkFaultsHappened(t, fake, gh)
	if t.Failed() {
		for i, s := range servers {
			t.Logf("server %d log:\n%s", i, tail(s.logs.String(), 60))
		}
	}
	for _, s := range servers {
		s.stop(t)
	}
}

// settled checks the end state and returns what does not hold yet.
func settled(t *testing.T, st store.Store, fake *fakegithub.Server, triggers []string) []string {
	t.Helper()
	ctx := context.Background()
	var problems []string
	if pending, err := st.PendingDeliveries(ctx, 100); err != nil || len(pending) > 0 {
		problems = append(problems, fmt.Sprintf("%d deliveries still pending (%v)", len(pending), err))
	}
	jobs, err := st.ListJobs(ctx, store.JobFilter{})
	if err != nil {
		return append(problems, err.Error())
	}
	perTrigger := map[string]int{}
	for _, j := range jobs {
		perTrigger[j.TriggerKey]++
	}
	for _, k := range triggers {
		if perTrigger[k] != 1 {
			problems = append(problems, fmt.Sprintf("trigger %s has %d jobs, want exactly 1", k, perTrigger[k]))
		}
	}
	checkRuns := map[string][]fakegithub.CheckRun{}
	for _, cr := range fake.CheckRuns(e2eOwner, e2eRepo) {
		checkRuns[cr.ExternalID] = append(checkRuns[cr.ExternalID], cr)
	}
	dispatches := map[string]int{}
	for _, d := range fake.Dispatches(e2eOwner, e2eRepo) {
		dispatches[fmt.Sprint(d.Inputs[wire.WorkflowInput])]++
	}
	active := 0
	for i, j := range jobs {
		crs := checkRuns[j.ID]
		switch {
		case len(crs) != 1:
			problems = append(problems, fmt.Sprintf("job %s (%s) has %d check runs, want 1", j.ID, j.State, len(crs)))
		case j.State.Active() && i != len(jobs)-1:
			problems = append(problems, fmt.Sprintf("job %s is %s, but only the last job may stay open", j.ID, j.State))
		case !j.State.Active() && crs[0].Status != "completed":
			problems = append(problems, fmt.Sprintf("job %s ended %s with its check run %s", j.ID, j.State, crs[0].Status))
		case j.State == store.JobSuperseded && crs[0].Conclusion != "cancelled":
			problems = append(problems, fmt.Sprintf("superseded job %s has its check run concluded %q", j.ID, crs[0].Conclusion))
		}
		if j.State.Active() {
			active++
		}
		if j.State == store.JobQueued {
			problems = append(problems, fmt.Sprintf("job %s is still queued", j.ID))
		}
		if dispatches[j.ID] > 1 {
			problems = append(problems, fmt.Sprintf("job %s was dispatched %d times", j.ID, dispatches[j.ID]))
		}
	}
	if len(checkRuns) != len(jobs) {
		problems = append(problems, fmt.Sprintf("%d check runs' external ids for %d jobs", len(checkRuns), len(jobs)))
	}
	if active > 1 {
		problems = append(problems, fmt.Sprintf("%d jobs open", active))
	}
	return problems
}

// checkFaultsHappened fails the test if what it meant to exercise did not
// happen: every kind of fault, a delivery GitHub could not make and then
// redelivered when asked.
func checkFaultsHappened(t *testing.T, fake *fakegithub.Server, gh *gitHub) {
	t.Helper()
	kinds := map[fakegithub.Fault]int{}
	for _, f := range fake.InjectedFaults() {
		kinds[f.Fault]++
	}
	for _, k := range []fakegithub.Fault{fakegithub.Fault500, fakegithub.Fault502, fakegithub.FaultSecondaryRateLimit,
		fakegithub.Fault429, fakegithub.FaultAppliedThen502} {
		if kinds[k] == 0 {
			t.Errorf("no %s fault was injected (%v): the run did not exercise it", k, kinds)
		}
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if gh.failed == 0 || gh.redelivered == 0 {
		t.Errorf("%d deliveries failed while a server was down, %d were redelivered: the crash was not exercised", gh.failed, gh.redelivered)
	}
}

// gitHub plays GitHub's webhook side: it delivers, logs each attempt in the
// fake's delivery log, and redelivers what the server asks for.
type gitHub struct {
	t    *testing.T
	fake *fakegithub.Server

	mu          sync.Mutex
	payloads    map[string][]byte // by delivery GUID
	hooks       map[int64]string  // delivery log id → GUID
	sent        map[int64]bool    // redeliveries already made
	failed      int
	redelivered int
}

// deliver sends the delivery guid to p and logs the attempt as GitHub does.
func (g *gitHub) deliver(p *process, guid string) {
	g.t.Helper()
	status := 0
	if p.url != "" {
		req := testkit.WebhookRequest(g.t, p.url+"/api/github/hook", "issue_comment", guid, g.payloads[guid], e2eSecret)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if resp, err := http.DefaultClient.Do(req.WithContext(ctx)); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
	}
	code := status
	if code == 0 {
		code = 502 // GitHub records a connection it could not make as failed
	}
	id := g.fake.AddHookDelivery(fakegithub.HookDelivery{
		GUID: guid, Event: "issue_comment", Action: "created", StatusCode: code, Status: fmt.Sprint(code), InstallationID: 1,
	})
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hooks == nil {
		g.hooks = map[int64]string{}
	}
	g.hooks[id] = guid
	if code >= 500 {
		g.failed++
	}
}

// redeliverAsked redelivers, to the live servers in turn, every delivery the
// servers asked GitHub to redeliver.
func (g *gitHub) redeliverAsked(servers []*process) {
	for i, id := range g.fake.Redeliveries() {
		g.mu.Lock()
		guid, known := g.hooks[id]
		done := g.sent[id]
		g.sent[id] = true
		if known && !done {
			g.redelivered++
		}
		g.mu.Unlock()
		if known && !done {
			g.deliver(servers[i%len(servers)], guid)
		}
	}
}

// process is `infra-agent serve` running as a child process.
type process struct {
	cmd  *exec.Cmd
	url  string // empty once killed
	logs *testkit.LogBuffer
	done chan error
}

func startProcess(t *testing.T, bin string, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &testkit.LogBuffer{}, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			var l struct{ Message, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Message == "listening" {
				addr <- l.Addr
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
	case err := <-p.done:
		t.Fatalf("serve exited before listening: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start within 30 s\n%s", p.logs)
	}
	return p
}

// kill ends the server with SIGKILL: nothing is drained, nothing released.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-p.done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the server ended with %v, not killed by SIGKILL", err)
	}
	p.url = ""
}

// stop ends the server with SIGTERM, as a deployment would.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.url == "" {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve exited with %v on SIGTERM\n%s", err, tail(p.logs.String(), 20))
		}
	case <-time.After(30 * time.Second):
		t.Errorf("serve did not stop within 30 s of SIGTERM")
	}
	p.url = ""
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(parts[max(0, len(parts)-lines):], "\n")
}
