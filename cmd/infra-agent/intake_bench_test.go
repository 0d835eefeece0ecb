package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/internal/benchkit"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
)

var (
	benchRate     = flag.Int("intake.rate", 2000, "BenchmarkServeIntake: deliveries per second offered")
	benchDuration = flag.Duration("intake.duration", 8*time.Second, "BenchmarkServeIntake: how long they are offered, after a warm-up")
	benchProfile  = flag.String("intake.cpuprofile", "", "BenchmarkServeIntake: write a CPU profile of the serve process here (runs serve from the test binary)")
)

// benchWarmup runs at the benchmark's rate before the measured run and is not
// counted: connections, caches and the SQLite file are warm, as in a server
// that has been up for a while.
const benchWarmup = time.Second

// benchPayloads are real issue_comment deliveries whose comments hold no
// command: what most of a busy organisation's webhooks are.
var benchPayloads = []string{
	"octokit__issue_comment__00-created.json",
	"octokit__issue_comment__01-created.json",
	"octokit__issue_comment__03-created.json",
}

// BenchmarkServeIntake offers signed issue_comment deliveries at a fixed
// rate from an open-loop generator in this process (requests leave on
// schedule whatever the latency, so queueing shows in the percentiles), over
// loopback HTTP, with random delivery ids as GitHub's, to two server
// processes in turn, and reports both on one line:
//
//   - baseline-*: go-githubapp's dispatcher with its in-memory queue (serve's
//     queue size and workers) and the same handlers, no database, started from
//     the test binary. What it holds when it stops is lost.
//   - serve-*: the infra-agent binary, built from this tree, running serve
//     against the fake GitHub with its SQLite database in a temporary
//     directory: each 200 is sent after the delivery is committed with
//     synchronous=FULL. After the run the server is stopped and every
//     delivery it answered 200 is looked up in its database.
//
// Each server gets a warm-up of benchWarmup at the same rate first, not
// counted. Beside the figures: the fsync latency of the database's directory,
// timed before and after the runs (the benchmark refuses tmpfs), the
// machine's load average when they began, serve's mean group commit, and
// each server's CPU time per delivery (start, warm-up and shutdown
// included), which depends little on what else runs.
//
//	go test ./cmd/infra-agent -run '^$' -bench ServeIntake -benchtime 1x -count 3
//
// -intake.rate and -intake.duration change the load; -intake.cpuprofile
// FILE profiles serve (run from the test binary, with the same code as
// main's) while it takes the load.
func BenchmarkServeIntake(b *testing.B) {
	bodies := make([][]byte, len(benchPayloads))
	for i, name := range benchPayloads {
		raw, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = raw
	}
	fake := fakegithub.New(b)
	serveBin := buildServe(b)
	machine := benchkit.ReadMachine()
	dir := b.TempDir() // serve's
	disk := benchkit.ProbeBenchDisk(b, dir)

	srv := startBenchServer(b, exec.Command(os.Args[0], "-test.run=^$"), fake, b.TempDir(), roleBaseline)
	baseline := attack(b, srv.url, bodies)
	baselineCPU := srv.stop(b)

	cmd, role := exec.Command(serveBin, "serve"), ""
	if *benchProfile != "" {
		cmd, role = exec.Command(os.Args[0], "-test.run=^$"), roleProfiledServe
		cmd.Env = append(os.Environ(), benchProfileEnv+"="+*benchProfile)
	}
	srv = startBenchServer(b, cmd, fake, dir, role)
	serve := attack(b, srv.url, bodies)
	commits := scrapeCommits(b, srv.url)
	serveCPU := srv.stop(b)
	checkRecorded(b, srv.database, serve)

	baseline.Report(b, "baseline-")
	baseline.reportCPU(b, "baseline-", baselineCPU)
	serve.Report(b, "serve-")
	serve.reportCPU(b, "serve-", serveCPU)
	commits.report(b)
	disk.Merge(benchkit.ProbeBenchDisk(b, dir)).Report(b)
	machine.Report(b)
}

// load is the measured part of a server's run: its result, the delivery id
// of each request, and how many deliveries the server was sent in all
// (warm-up included).
type load struct {
	benchkit.Result
	ids  []string
	sent int
}

// reportCPU puts the server's CPU time per delivery sent on b's result line:
// unlike the latencies, it hardly depends on what else the machine runs.
func (l load) reportCPU(b *testing.B, prefix string, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Microseconds())/float64(l.sent), prefix+"cpu-us/delivery")
}

// attack warms the server up, then offers the measured load b.N times.
func attack(b *testing.B, url string, bodies [][]byte) load {
	b.Helper()
	ctx := context.Background()
	sigs := make([]string, len(bodies))
	for i, body := range bodies {
		sigs[i] = testkit.Sign(benchSecret, body)
	}
	client := benchkit.NewClient()
	defer client.CloseIdleConnections()
	offer := func(d time.Duration) (load, error) {
		n := int(d.Seconds() * float64(*benchRate))
		ids := make([]string, n)
		for i := range ids {
			ids[i] = uuid.NewString() // random, as GitHub's: no index is appended to in order
		}
		r, err := benchkit.OpenLoop{Rate: *benchRate, Duration: d, Client: client, Request: func(i int) (*http.Request, error) {
			body, sig := bodies[i%len(bodies)], sigs[i%len(bodies)]
			req, err := http.NewRequest(http.MethodPost, url+githubapp.DefaultWebhookRoute, bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "issue_comment")
			req.Header.Set("X-GitHub-Delivery", ids[i])
			req.Header.Set("X-Hub-Signature-256", sig)
			return req, nil
		}}.Run(ctx)
		return load{Result: r, ids: ids}, err
	}
	warm, err := offer(benchWarmup)
	if err != nil {
		b.Fatalf("warm-up: %v", err)
	}
	total := load{sent: len(warm.Hits)}
	for range b.N {
		r, err := offer(*benchDuration)
		if err != nil {
			b.Fatal(err)
		}
		total.Result = total.Result.Merge(r.Result)
		total.ids = append(total.ids, r.ids...)
		total.sent += len(r.Hits)
	}
	return total
}

// checkRecorded fails b unless every delivery answered 200 is in the
// database: the figures are for durable acknowledgements only.
func checkRecorded(b *testing.B, database string, r load) {
	b.Helper()
	var acked []string
	for i, h := range r.Hits {
		if h.Err == nil && h.Status == http.StatusOK {
			acked = append(acked, r.ids[i])
		}
	}
	ctx := context.Background()
	st, err := store.Open(ctx, database)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	known, err := st.HandledDeliveries(ctx, acked)
	if err != nil {
		b.Fatal(err)
	}
	if len(known) != len(acked) {
		b.Fatalf("%d deliveries were answered 200, %d of them are in the database", len(acked), len(known))
	}
}

const benchSecret = "bench-webhook-secret"

// buildServe builds the infra-agent binary from this tree as the Makefile
// does.
func buildServe(b *testing.B) string {
	b.Helper()
	gotool, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("the go command is needed to build the server: %v", err)
	}
	out := filepath.Join(b.TempDir(), "infra-agent")
	cmd := exec.Command(gotool, "build", "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building infra-agent: %v\n%s", err, msg)
	}
	return out
}

// benchServer is a server process under load.
type benchServer struct {
	url      string
	database string
	logPath  string
	cmd      *exec.Cmd
	exited   chan error
}

// startBenchServer starts cmd as a server configured like serve (the fake
// GitHub, a SQLite file in dir, a free loopback port), with role set for the
// test binary's server roles, its log in dir, and waits until it listens.
func startBenchServer(b *testing.B, cmd *exec.Cmd, fake *fakegithub.Server, dir, role string) *benchServer {
	b.Helper()
	s := &benchServer{database: filepath.Join(dir, "data", "infra-agent.db"), logPath: filepath.Join(dir, "server.log"), cmd: cmd}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = logFile.Close() }()
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(withoutSettings(env),
		benchRoleEnv+"="+role,
		"GITHUB_V3_API_URL="+fake.URL,
		"GITHUB_V4_API_URL="+fake.URL+"graphql",
		"GITHUB_APP_INTEGRATION_ID="+strconv.FormatInt(fake.AppID(), 10),
		"GITHUB_APP_WEBHOOK_SECRET="+benchSecret,
		"GITHUB_APP_PRIVATE_KEY="+string(fake.PrivateKeyPEM()),
		"INFRA_AGENT_ADDR=127.0.0.1:0",
		"INFRA_AGENT_DATABASE="+s.database,
		"INFRA_AGENT_PUBLIC_URL=https://agent.example.com",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting the server: %v", err)
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- cmd.Wait() }()
	b.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.exited
		}
	})
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if addr := listeningAddr(s.logPath); addr != "" {
			s.url = "http://" + addr
			return s
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			b.Fatalf("the server exited before listening: %v\n%s", err, s.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	b.Fatalf("the server did not listen within a minute\n%s", s.log())
	return nil
}

// stop sends SIGTERM, as a process manager does, waits for a clean exit and
// returns the CPU time the process used in all.
func (s *benchServer) stop(b *testing.B) time.Duration {
	b.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatalf("stopping the server: %v", err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			b.Fatalf("the server exited with %v\n%s", err, s.log())
		}
	case <-time.After(2 * time.Minute):
		b.Fatalf("the server did not stop within 2 minutes\n%s", s.log())
	}
	return s.cmd.ProcessState.UserTime() + s.cmd.ProcessState.SystemTime()
}

// log returns the end of the server's log, for a failure message.
func (s *benchServer) log() string {
	raw, _ := os.ReadFile(s.logPath)
	if len(raw) > 4000 {
		raw = raw[len(raw)-4000:]
	}
	return string(raw)
}

// listeningAddr returns the address of the "listening" line in the JSON log
// at path, "" until there is one.
func listeningAddr(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct{ Message, Addr string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "listening" {
			return l.Addr
		}
	}
	return ""
}

// withoutSettings drops the server's own variables from env, so a developer's
// environment does not configure the server under test.
func withoutSettings(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GITHUB_") && !strings.HasPrefix(kv, "INFRA_AGENT_") || strings.HasPrefix(kv, benchProfileEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// commitStats is serve's group commit over the run, from its /metrics.
type commitStats struct{ batches, deliveries, seconds float64 }

// scrapeCommits reads the intake's group-commit histograms from /metrics.
func scrapeCommits(b *testing.B, url string) commitStats {
	b.Helper()
	var c commitStats
	for _, line := range strings.Split(scrape(b, url), "\n") {
		name, value, _ := strings.Cut(line, " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "infra_agent_delivery_batch_size_count":
			c.batches = v
		case "infra_agent_delivery_batch_size_sum":
			c.deliveries = v
		case "infra_agent_delivery_commit_seconds_sum":
			c.seconds = v
		}
	}
	if c.batches == 0 {
		b.Fatal("/metrics shows no group commit")
	}
	return c
}

func (c commitStats) report(b *testing.B) {
	b.ReportMetric(c.deliveries/c.batches, "deliveries/commit")
	b.ReportMetric(1000*c.seconds/c.batches, "commit-ms")
}
