package broker_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/fakeoidc"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// TestClaimRefusals is the negative matrix: every forged, misdirected or late
// claim is refused with its status, and no runner token is minted.
func TestClaimRefusals(t *testing.T) {
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		token  func(w *world, j store.Job) string
		jobID  func(j store.Job) string
		setup  func(w *world, j store.Job)
		status int
		reason string
		// legacy: the job was stored before jobs held their owner's id, so
		// the claim reads the repository from GitHub.
		legacy bool
	}{
		{name: "no token", token: func(*world, store.Job) string { return "" }, status: 401, reason: "no Actions OIDC token"},
		{name: "not a JWT", token: func(*world, store.Job) string { return "garbage" }, status: 401, reason: "malformed"},
		{name: "wrong key", status: 401, reason: "signature", token: func(w *world, j store.Job) string {
			return w.oidc.MintWithKey(w.claims(j), forger)
		}},
		{name: "alg none", status: 401, reason: "malformed", token: func(w *world, j store.Job) string {
			return w.oidc.MintUnsigned(w.claims(j))
		}},
		{name: "expired", status: 401, reason: "expired", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.IssuedAt, c.Expiry = time.Now().Add(-time.Hour), time.Now().Add(-time.Minute)
			return w.oidc.Mint(c)
		}},
		{name: "not yet valid", status: 401, reason: "nbf", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.NotBefore, c.Expiry = time.Now().Add(10*time.Minute), time.Now().Add(20*time.Minute)
			return w.oidc.Mint(c)
		}},
		{name: "wrong audience", status: 401, reason: "audience", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.Audience = "https://someone-else.example.com"
			return w.oidc.Mint(c)
		}},
		{name: "wrong issuer", status: 401, reason: "issued by a different provider", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.Extra = map[string]any{"iss": "https://token.actions.example.com"}
			return w.oidc.Mint(c)
		}},
		{name: "another issuer's key", status: 401, reason: "signature", token: func(w *world, j store.Job) string {
			return fakeoidc.New(t).Mint(w.claims(j))
		}},
		{name: "other repository id", status: 403, reason: "is not a job of repository", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.Repository, c.RepositoryID = "acme/other", "2002"
			return w.oidc.Mint(c)
		}},
		{name: "other owner id", status: 403, reason: "owner id", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.RepositoryOwnerID = "999"
			return w.oidc.Mint(c)
		}},
		{name: "same name, re-created repository", status: 403, reason: "is not a job of repository", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.RepositoryID = "3003" // acme/infra deleted and created again
			return w.oidc.Mint(c)
		}},
		{name: "repository renamed since the job", status: 403, reason: "is not acme/infra/.github/workflows/infra-agent.yml@refs/heads/main",
			token: func(w *world, j store.Job) string {
				c := w.claims(j)
				c.Repository = "acme/renamed"
				c.WorkflowRef = "acme/renamed/.github/workflows/infra-agent.yml@refs/heads/main"
				c.JobWorkflowRef = c.WorkflowRef
				return w.oidc.Mint(c)
			}},
		{name: "other owner id, job stored without its owner's", status: 403, reason: "owner id", legacy: true,
			token: func(w *world, j store.Job) string {
				c := w.claims(j)
				c.RepositoryOwnerID = "999"
				return w.oidc.Mint(c)
			}},
		{name: "repository re-created since the job", status: 503, reason: "not accessible to the parent installation (1001)",
			setup: func(w *world, j store.Job) {
				// The token is scoped to the job's repository id, which
				// nothing has any more: GitHub refuses to mint it.
				w.fake.ExpectViolations()
				w.fake.AddRepo(fakegithub.Repo{ID: 3003, Owner: owner, Name: repo, DefaultBranch: "main", InstallationID: 1})
			},
			token: func(w *world, j store.Job) string { return w.oidc.Mint(w.claims(j)) }},
		{name: "repository re-created since the job, job stored without its owner's id", status: 403, reason: "now has id 3003",
			legacy: true,
			setup: func(w *world, j store.Job) {
				w.fake.AddRepo(fakegithub.Repo{ID: 3003, Owner: owner, Name: repo, DefaultBranch: "main", InstallationID: 1})
			},
			token: func(w *world, j store.Job) string { return w.oidc.Mint(w.claims(j)) }},
		{name: "workflow from a pull request branch", status: 403, reason: "not acme/infra/.github/workflows/infra-agent.yml@refs/heads/main",
			token: func(w *world, j store.Job) string {
				c := w.claims(j)
				c.WorkflowRef = "acme/infra/.github/workflows/infra-agent.yml@refs/heads/topic"
				c.JobWorkflowRef, c.Ref = c.WorkflowRef, "refs/heads/topic"
				return w.oidc.Mint(c)
			}},
		{name: "another workflow file", status: 403, reason: "is not", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.WorkflowRef = "acme/infra/.github/workflows/deploy.yml@refs/heads/main"
			c.JobWorkflowRef = c.WorkflowRef
			return w.oidc.Mint(c)
		}},
		{name: "reusable workflow elsewhere", status: 403, reason: "is not", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.JobWorkflowRef = "evil/tools/.github/workflows/steal.yml@refs/heads/main"
			return w.oidc.Mint(c)
		}},
		{name: "not workflow_dispatch", status: 403, reason: "pull_request_target", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.EventName = "pull_request_target"
			return w.oidc.Mint(c)
		}},
		{name: "self-hosted runner", status: 403, reason: "self-hosted", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.RunnerEnvironment = "self-hosted"
			return w.oidc.Mint(c)
		}},
		{name: "unknown job", status: 403, reason: "is not a job of repository", jobID: func(store.Job) string { return "01900000-0000-7000-8000-000000000000" },
			token: func(w *world, j store.Job) string { return w.oidc.Mint(w.claims(j)) }},
		{name: "ended job", status: 409, reason: "ended (cancelled)",
			setup: func(w *world, j store.Job) {
				state := store.JobCancelled
				if _, err := w.store.UpdateJob(context.Background(), j.ID, nil, store.JobUpdate{State: &state}); err != nil {
					t.Fatal(err)
				}
			},
			token: func(w *world, j store.Job) string { return w.oidc.Mint(w.claims(j)) }},
		{name: "another run than the dispatched one", status: 409, reason: "belongs to workflow run", token: func(w *world, j store.Job) string {
			c := w.claims(j)
			c.RunID = "123456789"
			return w.oidc.Mint(c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			newJob := w.newJob
			if tt.legacy {
				newJob = w.newLegacyJob
			}
			job := newJob(wire.KindPlan)
			if tt.setup != nil {
				tt.setup(w, job)
			}
			id := job.ID
			if tt.jobID != nil {
				id = tt.jobID(job)
			}
			status, _, raw := w.claim(id, tt.token(w, job))
			if status != tt.status {
				t.Fatalf("status = %d, want %d: %s", status, tt.status, raw)
			}
			var body wire.ErrorBody
			if err := json.Unmarshal(raw, &body); err != nil || !strings.Contains(body.Error.Message, tt.reason) {
				t.Errorf("body = %s, want a reason containing %q", raw, tt.reason)
			}
			if toks := w.runnerTokens(); len(toks) != 0 {
				t.Errorf("a refused claim minted %d runner token(s)", len(toks))
			}
			if got, _ := w.store.GetJob(context.Background(), job.ID); got.State == store.JobRunning {
				t.Errorf("a refused claim made the job running")
			}
		})
	}
}

// TestClaimAnotherRunAfterTheFirst: once a run claimed a job, another run's
// claim is 409 and mints nothing; a replay of the same run gets the same job
// and a fresh token, the first one revoked, never two live tokens.
func TestClaimAnotherRunAfterTheFirst(t *testing.T) {
	w := newWorld(t, nil)
	job := w.newJob(wire.KindPlan)
	// A run id unknown at dispatch (an older GitHub Enterprise Server).
	zero := int64(0)
	if _, err := w.store.UpdateJob(context.Background(), job.ID, nil, store.JobUpdate{RunID: &zero}); err != nil {
		t.Fatal(err)
	}
	first := w.claims(job)
	status, got, raw := w.claim(job.ID, w.oidc.Mint(first))
	if status != 200 {
		t.Fatalf("first claim = %d %s", status, raw)
	}
	other := first
	other.RunID = "555"
	if status, _, raw := w.claim(job.ID, w.oidc.Mint(other)); status != 409 || !strings.Contains(string(raw), "belongs to workflow run") {
		t.Errorf("claim by another run = %d %s, want 409", status, raw)
	}
	retry := first
	retry.RunAttempt = "2"
	if status, _, raw := w.claim(job.ID, w.oidc.Mint(retry)); status != 409 {
		t.Errorf("claim by another attempt of the run = %d %s, want 409", status, raw)
	}
	if n := len(w.runnerTokens()); n != 1 {
		t.Fatalf("%d runner tokens minted, want 1", n)
	}

	status, again, raw := w.claim(job.ID, w.oidc.Mint(first))
	if status != 200 || again.Job.ID != job.ID || again.Token.Value == got.Token.Value || again.Session == got.Session {
		t.Fatalf("replay = %d %s", status, raw)
	}
	toks := w.runnerTokens()
	if len(toks) != 2 || !toks[0].Revoked || toks[1].Revoked {
		t.Errorf("after a replay: tokens %+v, want the first revoked and the second live", toks)
	}
	if code, _ := w.post(job.ID, wire.HeartbeatRoute, got.Session, wire.Heartbeat{Version: wire.APIVersion}, nil); code != 401 {
		t.Errorf("the first session after a replay = %d, want 401", code)
	}
	w.claim(job.ID, w.oidc.Mint(first))
	if status, _, raw := w.claim(job.ID, w.oidc.Mint(first)); status != 429 {
		t.Errorf("a fourth claim = %d %s, want 429", status, raw)
	}
}

// TestClaimIssuesScopedToken: the token is for the job's repository only,
// with exactly the kind's permissions, and the issuance is audited.
func TestClaimIssuesScopedToken(t *testing.T) {
	for _, kind := range []wire.Kind{wire.KindPlan, wire.KindReview, wire.KindFix} {
		t.Run(string(kind), func(t *testing.T) {
			w := newWorld(t, nil)
			job := w.newJob(kind)
			status, resp, raw := w.claim(job.ID, w.oidc.Mint(w.claims(job)))
			if status != 200 {
				t.Fatalf("claim = %d %s", status, raw)
			}
			toks := w.runnerTokens()
			if len(toks) != 1 {
				t.Fatalf("%d runner tokens, want 1", len(toks))
			}
			tok := toks[0]
			if !slices.Equal(tok.RepositoryIDs, []int64{repoID}) || !maps.Equal(tok.Permissions, kind.TokenPermissions()) {
				t.Errorf("token request: repository ids %v permissions %v; want [%d] %v", tok.RepositoryIDs, tok.Permissions, repoID, kind.TokenPermissions())
			}
			for _, p := range wire.ForbiddenPermissions {
				if _, ok := tok.Permissions[p]; ok {
					t.Errorf("the token has %s", p)
				}
			}
			if resp.Token.Value != tok.Token || !maps.Equal(resp.Token.Permissions, kind.TokenPermissions()) || resp.Token.ExpiresAt.IsZero() {
				t.Errorf("answered token %v, minted %s", resp.Token, tok.Token)
			}
			spec := resp.Job
			if spec.ID != job.ID || spec.Kind != kind || spec.HeadSHA != headSHA || spec.Repository.ID != repoID ||
				spec.Repository.DefaultBranch != "main" || spec.CheckRunID != job.CheckRunID || spec.RunID != job.RunID ||
				spec.Budgets.DeadlineSeconds != int(kind.DefaultDeadline()/time.Second) || spec.GitHubAPIURL != w.fake.URL ||
				spec.GitHubGraphQLURL != w.fake.GraphQLURL() || spec.AppSlug != w.fake.AppSlug() ||
				!strings.HasPrefix(resp.Session, wire.SessionPrefix) || resp.HeartbeatSeconds != 30 {
				t.Errorf("claim answer = %+v", resp)
			}
			cfg, err := config.ParseRepoConfig([]byte(spec.Config))
			if err != nil || cfg.Workflow != "infra-agent.yml" {
				t.Errorf("the spec's config does not parse back: %v\n%s", err, spec.Config)
			}
			run, err := w.store.GetRun(context.Background(), job.ID)
			if err != nil || run.SessionHash == "" || strings.Contains(run.SessionHash, resp.Session) {
				t.Errorf("run = %+v, %v", run, err)
			}
			events, _ := w.store.ListAuditEvents(context.Background(), job.ID)
			if len(events) != 1 || events[0].Type != "credential_issued" || events[0].Data["repository"] != "acme/infra" ||
				events[0].Data["expires_at"] == "" || events[0].Data["run_id"] != float64(job.RunID) {
				t.Errorf("audit = %+v", events)
			}
			if !strings.Contains(w.logs.String(), `"audit_event":"credential_issued"`) || strings.Contains(w.logs.String(), resp.Token.Value) || strings.Contains(w.logs.String(), resp.Session) {
				t.Errorf("the log should hold the issuance and neither secret:\n%s", w.logs)
			}
			// A plan job's check run is the runner's to start.
			want := "in_progress"
			if kind == wire.KindPlan {
				want = "queued"
			}
			if cr := checkRun(t, w, job.CheckRunID); cr.Status != want {
				t.Errorf("check run is %s after the claim, want %s", cr.Status, want)
			}
		})
	}
}

// TestClaimForkFixCannotWriteContents: a fix on a fork's pull request is
// offered as suggestions, so its token has the review kind's permissions.
func TestClaimForkFixCannotWriteContents(t *testing.T) {
	w := newWorld(t, nil)
	w.fake.AddPullRequest(owner, repo, fakegithub.PullRequest{Number: pr, Title: "Add a bucket", User: "mallory", HeadSHA: headSHA,
		HeadRef: "topic", HeadOwner: "mallory", HeadRepo: "infra", BaseRef: "main"})
	job := w.newJob(wire.KindFix)
	status, resp, raw := w.claim(job.ID, w.oidc.Mint(w.claims(job)))
	if status != 200 {
		t.Fatalf("claim = %d %s", status, raw)
	}
	toks := w.runnerTokens()
	if !resp.Job.Fork || len(toks) != 1 || !maps.Equal(toks[0].Permissions, wire.KindReview.TokenPermissions()) ||
		toks[0].Permissions["contents"] != wire.Read {
		t.Errorf("fork %v, tokens %+v: want one with the review kind's permissions", resp.Job.Fork, toks)
	}
}

// TestClaimAllowsSelfHostedWhenConfigured: runner.self_hosted on the default
// branch lets a self-hosted runner claim.
func TestClaimAllowsSelfHostedWhenConfigured(t *testing.T) {
	w := newWorld(t, nil)
	w.fake.SetFile(owner, repo, "main", config.RepoConfigPath, []byte("version: 1\nrunner:\n  self_hosted: true\n  deadlines: {plan: 7m}\n"))
	job := w.newJob(wire.KindPlan)
	c := w.claims(job)
	c.RunnerEnvironment = "self-hosted"
	status, resp, raw := w.claim(job.ID, w.oidc.Mint(c))
	if status != 200 || resp.Job.Budgets.DeadlineSeconds != 420 {
		t.Fatalf("claim = %d %s", status, raw)
	}
}

// TestClaimKeyRotation: a token signed by a key the issuer rotated in after
// the broker cached the JWKS verifies (the key set is fetched again for an
// unknown key id); once the new set is fetched, a token of the retired key
// does not.
func TestClaimKeyRotation(t *testing.T) {
	w := newWorld(t, nil)
	job := w.newJob(wire.KindPlan)
	old := w.oidc.Mint(w.claims(job))
	if code, _, _ := w.claim("warm-up-unknown-job", old); code != 403 {
		t.Fatalf("warm-up claim = %d, want 403", code)
	}
	fetches := w.oidc.JWKSFetches()
	w.oidc.Rotate(false)
	if code, _, raw := w.claim(job.ID, w.oidc.Mint(w.claims(job))); code != 200 {
		t.Errorf("a token of the new key = %d %s, want 200", code, raw)
	}
	if w.oidc.JWKSFetches() <= fetches {
		t.Errorf("the JWKS was not fetched again after the rotation")
	}
	if code, _, raw := w.claim(job.ID, old); code != 401 {
		t.Errorf("a token of the retired key = %d %s, want 401", code, raw)
	}
}

func checkRun(t *testing.T, w *world, id int64) fakegithub.CheckRun {
	t.Helper()
	for _, cr := range w.fake.CheckRuns(owner, repo) {
		if cr.ID == id {
			return cr
		}
	}
	t.Fatalf("no check run %d", id)
	return fakegithub.CheckRun{}
}

// TestSpecConfigRoundTrip: the configuration in a spec parses back to what
// the server read, defaults and durations included.
func TestSpecConfigRoundTrip(t *testing.T) {
	cfg, err := config.ParseRepoConfig([]byte("version: 1\nagent: {timeout: 20m, max_tokens: 5000}\nrunner: {deadlines: {fix: 45m}}\nterraform: {roots: [a, b]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.ParseRepoConfig(doc)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if back.Agent.Timeout != 20*time.Minute || back.Agent.MaxTokens != 5000 || back.Deadline(wire.KindFix) != 45*time.Minute ||
		!slices.Equal(back.Terraform.Roots.Dirs, []string{"a", "b"}) {
		t.Errorf("round trip lost settings:\n%s", doc)
	}
}
