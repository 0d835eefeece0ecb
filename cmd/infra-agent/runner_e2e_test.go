package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/fakeoidc"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// runnerWorld is the server, a fake GitHub whose pull request head holds a
// terraform_data root and a policy that passes everything, whose default
// branch holds the real policy (and a tag named like it, which a bare ref
// would resolve to first, the permissive one), and a fake Actions OIDC
// issuer.
type runnerWorld struct {
	fake *fakegithub.Server
	oidc *fakeoidc.Issuer
	srv  *server
	db   string
	tf   string
}

func newRunnerWorld(t *testing.T) *runnerWorld {
	t.Helper()
	return newRunnerWorldFrom(t, filepath.Join("testdata", "runner", "head"), filepath.Join("testdata", "runner", "main"), nil, nil)
}

// newRunnerWorldFrom seeds the pull request's head from the files under
// head and the default branch from those under main; seed changes the fake
// before the server starts, env adds to the server's settings. A tag named
// like the default branch holds the head's files (a permissive policy, in
// the runner's tests): the runner must take the branch's.
func newRunnerWorldFrom(t *testing.T, head, main string, seed func(*fakegithub.Server), env map[string]string) *runnerWorld {
	t.Helper()
	const tagged = "7777777777777777777777777777777777777777"
	return newRunnerWorldTrees(t, map[string]string{"topic": head, "main": main, tagged: head}, func(f *fakegithub.Server) {
		if seed != nil {
			seed(f)
		}
		f.AddTag(e2eOwner, e2eRepo, "main", tagged)
	}, env)
}

// newRunnerWorldTrees is newRunnerWorld with the files of each ref (a
// branch or a commit) read from a directory, a change to the fake before the
// server starts, and more server settings.
func newRunnerWorldTrees(t *testing.T, trees map[string]string, seed func(*fakegithub.Server), env map[string]string) *runnerWorld {
	t.Helper()
	w := &runnerWorld{fake: world(t), oidc: fakeoidc.New(t), tf: testkit.TerraformBinary(t)}
	for ref, dir := range trees {
		w.fake.SetFiles(e2eOwner, e2eRepo, ref, readTree(t, dir))
	}
	if seed != nil {
		seed(w.fake)
	}
	// A free port, so the public URL (the OIDC audience) is known before the
	// server starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w.db = filepath.Join(t.TempDir(), "infra-agent.db")
	settings := map[string]string{
		"INFRA_AGENT_ADDR":              addr,
		"INFRA_AGENT_PUBLIC_URL":        "http://" + addr,
		"INFRA_AGENT_OIDC_ISSUER":       w.oidc.URL,
		"INFRA_AGENT_HEARTBEAT_TIMEOUT": "3s",
		"INFRA_AGENT_WATCHDOG_INTERVAL": "1s",
	}
	maps.Copy(settings, env)
	w.srv = startServerWith(t, w.fake, w.db, settings)
	return w
}

// readTree reads every file under dir, by slash path.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// triggerPlan comments `/agent plan` and returns the dispatched job and run.
func (w *runnerWorld) triggerPlan(t *testing.T) (string, int64) {
	t.Helper()
	if got := deliver(t, w.srv.url, "issue_comment", "delivery-plan", commentPayload(t, "/agent plan"), e2eSecret); got != 200 {
		t.Fatalf("webhook status %d", got)
	}
	eventually(t, "the workflow dispatch", func() bool { return len(w.fake.Dispatches(e2eOwner, e2eRepo)) == 1 })
	d := w.fake.Dispatches(e2eOwner, e2eRepo)[0]
	if d.Ref != "refs/heads/main" || d.Workflow != "infra-agent.yml" {
		t.Fatalf("dispatch = %+v", d)
	}
	return fmt.Sprint(d.Inputs[wire.WorkflowInput]), d.RunID
}

// actionsEnv is the environment the Actions runtime gives the job of run.
func (w *runnerWorld) actionsEnv(t *testing.T, runID int64) map[string]string {
	c := fakeoidc.ActionsClaims(e2eOwner, w.fake.UserID(e2eOwner), e2eRepo, e2eRepoID, "infra-agent.yml", "main", runID)
	reqURL, reqToken := w.oidc.ActionsRuntime(c)
	return map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqToken,
		"INFRA_AGENT_SERVER_URL": w.srv.url, "RUNNER_TEMP": t.TempDir(),
	}
}

// fakeTerraform writes a terraform that appends its environment to dump and
// runs the real one; with TF_TEST_HANG set it hangs on plan instead.
func fakeTerraform(t *testing.T, real, dump string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "terraform")
	script := fmt.Sprintf(`#!/bin/sh
{ echo "--- $1"; env; } >> %q
if [ "$1" = plan ] && [ -n "$TF_TEST_HANG" ]; then
  echo hanging > %q.hang
  exec sleep 600
fi
exec %q "$@"
`, dump, dump, real)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// runnerTokens returns the tokens minted for runners (limited to repositories).
func runnerTokens(fake *fakegithub.Server) []fakegithub.Token {
	var out []fakegithub.Token
	for _, tok := range fake.Tokens() {
		if len(tok.RepositoryIDs) > 0 {
			out = append(out, tok)
		}
	}
	return out
}

func checkRunsNamed(fake *fakegithub.Server, name string) []fakegithub.CheckRun {
	var out []fakegithub.CheckRun
	for _, cr := range fake.CheckRuns(e2eOwner, e2eRepo) {
		if cr.Name == name {
			out = append(out, cr)
		}
	}
	return out
}

// jobState reads the job from the server's database.
func jobState(t *testing.T, db, id string) (store.Job, []store.AuditEvent) {
	t.Helper()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, err := st.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	events, err := st.ListAuditEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j, events
}

// TestRunnerEndToEnd: a signed `/agent plan` comment → dispatch → `infra-agent
// run` with the Actions runtime's OIDC token → the real terraform on the pull
// request's head → the plan and policy check runs, the default branch's policy
// applied → complete → job concluded, token revoked. No terraform process saw
// the token.
func TestRunnerEndToEnd(t *testing.T) {
	w := newRunnerWorld(t)
	jobID, runID := w.triggerPlan(t)
	env := w.actionsEnv(t, runID)
	dump := filepath.Join(t.TempDir(), "env.dump")
	t.Setenv("GITHUB_TOKEN", "canary-github-token-in-the-runner-env")

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"run", "--job", jobID, "--terraform", fakeTerraform(t, w.tf, dump)},
		func(k string) string { return env[k] }, stdio{out: &out, err: &errOut})
	if code := exitCode(err, &errOut); code != 0 {
		t.Fatalf("infra-agent run exited %d\nstdout:\n%s\nstderr:\n%s\nserver:\n%s", code, out.String(), errOut.String(), w.srv.logs)
	}
	if !strings.Contains(out.String(), "succeeded (failure), 6 GitHub calls") {
		t.Errorf("stdout = %q", out.String())
	}

	plans, policies := checkRunsNamed(w.fake, wire.CheckPlan), checkRunsNamed(w.fake, wire.CheckPolicy)
	if len(plans) != 1 || plans[0].ExternalID != jobID || plans[0].Status != "completed" || plans[0].Conclusion != "success" {
		t.Errorf("infra-agent/plan runs = %+v, want the job's own, completed success", plans)
	}
	if len(policies) != 1 || policies[0].Conclusion != "failure" || !strings.Contains(fmt.Sprint(policies[0].Output), "terraform_data.bucket is public") {
		t.Errorf("infra-agent/policy runs = %+v, want one failure from the default branch's policy", policies)
	}
	toks := runnerTokens(w.fake)
	if len(toks) != 1 || !slices.Equal(toks[0].RepositoryIDs, []int64{e2eRepoID}) ||
		!maps.Equal(toks[0].Permissions, wire.KindPlan.TokenPermissions()) || !toks[0].Revoked {
		t.Fatalf("runner tokens = %+v, want one for the repository with plan permissions, revoked", toks)
	}
	if aud := w.oidc.Audiences(); len(aud) != 1 || aud[0] != w.srv.url {
		t.Errorf("OIDC token audiences = %v, want the server's URL", aud)
	}

	data, err := os.ReadFile(dump)
	if err != nil || !strings.Contains(string(data), "--- plan") || !strings.Contains(string(data), "PATH=") {
		t.Fatalf("the fake terraform did not record its environment: %v\n%s", err, data)
	}
	for _, secret := range []string{toks[0].Token, env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], wire.SessionPrefix, "canary-github-token", "ghs_"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("a terraform process saw %q in its environment", secret)
		}
	}

	checkManifest(t, w.fake)
	// The REST calls of a plan job, server and runner together, from the
	// webhook to the revocation (the README quotes the count).
	var calls []string
	for _, c := range w.fake.Calls() {
		if c != "GET /app" && c != "GET /app/hook/deliveries" {
			calls = append(calls, c)
		}
	}
	repoPath := "/repos/" + e2eOwner + "/" + e2eRepo
	wantCalls := []string{
		// server, the webhook: configuration, permission, pull request, check run, reaction, dispatch
		"GET " + repoPath + "/contents/.github/infra-agent.yml", "GET /repos/" + e2eOwner + "/.github",
		"GET " + repoPath + "/collaborators/" + e2eOwner + "/permission", "GET " + repoPath + "/pulls/1",
		"POST " + repoPath + "/check-runs", "POST " + repoPath + "/issues/comments/396926483/reactions",
		"POST " + repoPath + "/actions/workflows/infra-agent.yml/dispatches",
		// server, the claim: configuration (the repository's ids came with the webhook)
		"GET " + repoPath + "/contents/.github/infra-agent.yml", "GET /repos/" + e2eOwner + "/.github",
	}
	// runner: source, policies, check runs
	runnerCalls := []string{
		"GET " + repoPath + "/tarball/" + plans[0].HeadSHA, "GET " + repoPath + "/tarball/refs/heads/main",
		"PATCH " + repoPath + "/check-runs/" + fmt.Sprint(plans[0].ID), "POST " + repoPath + "/check-runs",
		"PATCH " + repoPath + "/check-runs/" + fmt.Sprint(plans[0].ID), "PATCH " + repoPath + "/check-runs/" + fmt.Sprint(policies[0].ID),
	}
	// server, the complete: revocation
	wantCalls = append(append(wantCalls, runnerCalls...), "DELETE /installation/token")
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("REST calls of a plan job (%d):\n  %s\nwant (%d):\n  %s", len(calls), strings.Join(calls, "\n  "), len(wantCalls), strings.Join(wantCalls, "\n  "))
	}
	mints := 0
	for _, r := range w.fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/access_tokens") {
			mints++
		}
	}
	if mints != 2 {
		t.Errorf("%d installation tokens minted, want 2 (the server's, cached for an hour, and the runner's)", mints)
	}
	if err := w.srv.stop(); err != nil {
		t.Fatal(err)
	}
	job, events := jobState(t, w.db, jobID)
	if job.State != store.JobSucceeded || job.RunID != runID || !job.CheckRunDone {
		t.Errorf("job = %s run %d done %v", job.State, job.RunID, job.CheckRunDone)
	}
	var audited []string
	for _, e := range events {
		if e.Type == "github_call" {
			audited = append(audited, fmt.Sprint(e.Data["method"], " ", e.Data["path"]))
		}
	}
	// Every call the runner made with the token is in the job's audit trail.
	if !slices.Equal(audited, runnerCalls) {
		t.Errorf("the audit trail's GitHub calls = %v, want %v", audited, runnerCalls)
	}
	if first, last := events[0].Type, events[len(events)-1].Type; first != "credential_issued" || last != "credential_revoked" {
		t.Errorf("audit trail from %s to %s", first, last)
	}
}

// buildBinary builds infra-agent for the tests that run it as a process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "infra-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startRunner starts `infra-agent run` as a process whose terraform hangs on
// plan, and waits until it hangs there.
func startRunner(t *testing.T, w *runnerWorld, bin, jobID string, runID int64) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	dump := filepath.Join(t.TempDir(), "env.dump")
	cmd := exec.Command(bin, "run", "--job", jobID, "--terraform", fakeTerraform(t, w.tf, dump))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TF_TEST_HANG=1"}
	for k, v := range w.actionsEnv(t, runID) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(dump + ".hang"); err == nil {
			return cmd, &logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the runner never reached plan:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRunnerKilledMidJob: a runner killed without a word stops sending
// heartbeats; the watchdog times the job out and revokes its token.
func TestRunnerKilledMidJob(t *testing.T) {
	bin := buildBinary(t)
	w := newRunnerWorld(t)
	jobID, runID := w.triggerPlan(t)
	cmd, _ := startRunner(t, w, bin, jobID, runID)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	eventually(t, "the watchdog to time the job out", func() bool {
		plans := checkRunsNamed(w.fake, wire.CheckPlan)
		return len(plans) == 1 && plans[0].Conclusion == "timed_out"
	})
	eventually(t, "the token to be revoked", func() bool {
		toks := runnerTokens(w.fake)
		return len(toks) == 1 && toks[0].Revoked
	})
	// The policy check run the runner had started does not hang in progress.
	eventually(t, "the runner's infra-agent/policy run to be concluded timed_out", func() bool {
		pol := checkRunsNamed(w.fake, wire.CheckPolicy)
		return len(pol) == 1 && pol[0].Conclusion == "timed_out"
	})
	if err := w.srv.stop(); err != nil {
		t.Fatal(err)
	}
	if job, _ := jobState(t, w.db, jobID); job.State != store.JobTimedOut {
		t.Errorf("job = %s, want timed_out", job.State)
	}
}

// TestRunnerSIGTERM: a cancelled workflow run (SIGTERM) completes the job as
// cancelled before the runner exits, and the token is revoked.
func TestRunnerSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	w := newRunnerWorld(t)
	jobID, runID := w.triggerPlan(t)
	cmd, logs := startRunner(t, w, bin, jobID, runID)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1\n%s", err, logs.String())
	}
	toks := runnerTokens(w.fake)
	if len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("tokens = %+v, want the job's revoked", toks)
	}
	plans := checkRunsNamed(w.fake, wire.CheckPlan)
	if len(plans) != 1 || plans[0].Conclusion != "cancelled" {
		t.Errorf("infra-agent/plan = %+v, want cancelled", plans)
	}
	if err := w.srv.stop(); err != nil {
		t.Fatal(err)
	}
	if job, _ := jobState(t, w.db, jobID); job.State != store.JobCancelled {
		t.Errorf("job = %s, want cancelled", job.State)
	}
}
