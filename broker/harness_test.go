package broker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/broker"
	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/fakeoidc"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// The test world: installation 1 of acme holds acme/infra (id 1001), whose
// pull request #12 comes from branch topic; alice may write.
const (
	owner    = "acme"
	repo     = "infra"
	repoID   = 1001
	pr       = 12
	headSHA  = "1111111111111111111111111111111111111111"
	audience = "https://infra-agent.example.com"
)

// clock is the tests' settable time source.
type clock = testkit.Clock

// world is the job service and the broker, over a real SQLite store, a fake
// GitHub and a fake OIDC issuer, all over HTTP.
type world struct {
	t      *testing.T
	fake   *fakegithub.Server
	oidc   *fakeoidc.Issuer
	store  store.Store
	svc    *jobs.Service
	broker *broker.Broker
	url    string
	clock  *clock
	logs   *testkit.LogBuffer
	model  broker.ModelOptions
}

// newWorld builds the world; opt may change the broker's options.
func newWorld(t *testing.T, opt func(*broker.Options)) *world {
	t.Helper()
	w := &world{t: t, fake: fakegithub.New(t), oidc: fakeoidc.New(t), clock: testkit.NewClock(time.Now()), logs: &testkit.LogBuffer{}}
	w.fake.AddInstallation(1, owner)
	w.fake.AddRepo(fakegithub.Repo{ID: repoID, Owner: owner, Name: repo, DefaultBranch: "main", InstallationID: 1})
	w.fake.AddWorkflow(owner, repo, "infra-agent.yml")
	w.fake.SetPermission(owner, repo, "alice", "write")
	w.fake.AddPullRequest(owner, repo, fakegithub.PullRequest{
		Number: pr, Title: "Add a bucket", User: "alice", HeadSHA: headSHA, HeadRef: "topic", BaseRef: "main",
	})
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	w.store = st
	clients := githubapp.NewClientCreator(w.fake.URL, w.fake.URL+"graphql", w.fake.AppID(), w.fake.PrivateKeyPEM())
	var brk *broker.Broker
	w.svc, err = jobs.NewService(jobs.ServiceOptions{
		Store: st, Clients: clients, AppID: w.fake.AppID(), AppSlug: "infra-agent", Now: w.clock.Now,
		DispatchBackoff: []time.Duration{},
		OnJobEnded:      func(ctx context.Context, j store.Job) { brk.JobEnded(ctx, j) },
	})
	if err != nil {
		t.Fatal(err)
	}
	o := broker.Options{
		Store: st, Jobs: w.svc, Clients: clients, APIURL: w.fake.URL, GraphQLURL: w.fake.GraphQLURL(), AppSlug: w.fake.AppSlug(), Issuer: w.oidc.URL, Audience: audience,
		Now: w.clock.Now,
	}
	if opt != nil {
		opt(&o)
	}
	if brk, err = broker.New(o); err != nil {
		t.Fatal(err)
	}
	w.broker = brk
	mux := http.NewServeMux()
	brk.Register(mux)
	logger := zerolog.New(w.logs)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(rw, r.WithContext(logger.WithContext(r.Context())))
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

func (w *world) ctx() context.Context {
	return zerolog.New(w.logs).WithContext(context.Background())
}

// newJob submits `/agent <kind>` by alice on the pull request and returns the
// dispatched job.
func (w *world) newJob(kind wire.Kind) store.Job {
	w.t.Helper()
	return w.submitJob(kind, w.fake.UserID(owner))
}

// newLegacyJob is newJob for a job stored before jobs held the id of their
// repository's owner.
func (w *world) newLegacyJob(kind wire.Kind) store.Job {
	w.t.Helper()
	return w.submitJob(kind, 0)
}

func (w *world) submitJob(kind wire.Kind, ownerID int64) store.Job {
	w.t.Helper()
	id := w.fake.AddComment(owner, repo, pr, fakegithub.Comment{User: "alice", Body: "/agent " + string(kind)})
	err := w.svc.Submit(w.ctx(), jobs.Task{
		Action: jobs.ActionRun, Kind: kind, Command: string(kind), Source: jobs.SourceIssueComment, SourceID: id,
		DeliveryID: fmt.Sprintf("delivery-%d", id), TriggeredAt: time.Now(), InstallationID: 1, RepoID: repoID,
		OwnerID: ownerID, Owner: owner, Repo: repo, DefaultBranch: "main", Number: pr, IsPR: true, Actor: "alice", ActorType: "User",
	})
	if err != nil {
		w.t.Fatalf("submitting /agent %s: %v", kind, err)
	}
	jobs, err := w.store.ListJobs(context.Background(), store.JobFilter{States: store.ActiveStates})
	if err != nil || len(jobs) != 1 || jobs[0].State != store.JobDispatched || jobs[0].RunID == 0 {
		w.t.Fatalf("want one dispatched job with a run id, have %+v (%v)", jobs, err)
	}
	return jobs[0]
}

// claims are valid Actions claims for the run of job j.
func (w *world) claims(j store.Job) fakeoidc.Claims {
	c := fakeoidc.ActionsClaims(owner, w.fake.UserID(owner), repo, repoID, "infra-agent.yml", "main", j.RunID)
	c.Audience = audience
	return c
}

// post sends a runner API message and decodes the answer into out (when not
// nil); it returns the status and the raw body.
func (w *world) post(jobID, route, credential string, msg, out any) (int, []byte) {
	w.t.Helper()
	body, err := json.Marshal(msg)
	if err != nil {
		w.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, wire.JobURL(w.url, jobID, route), bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("POST %s: %v", route, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			w.t.Fatalf("decoding %s answer: %v\n%s", route, err, raw)
		}
	}
	return resp.StatusCode, raw
}

// claim claims job j with token and returns the status and the answer.
func (w *world) claim(jobID, token string) (int, wire.ClaimResponse, []byte) {
	var out wire.ClaimResponse
	status, raw := w.post(jobID, wire.ClaimRoute, token, wire.ClaimRequest{Version: wire.APIVersion}, &out)
	return status, out, raw
}

// runnerTokens returns the tokens minted for runners: those limited to
// repository ids (the server's own installation tokens name none).
func (w *world) runnerTokens() []fakegithub.Token {
	var out []fakegithub.Token
	for _, tok := range w.fake.Tokens() {
		if len(tok.RepositoryIDs) > 0 {
			out = append(out, tok)
		}
	}
	return out
}

// newJobSupersedes creates a newer job on the pull request, superseding the
// active one.
func (w *world) newJobSupersedes(t *testing.T) {
	t.Helper()
	id := w.fake.AddComment(owner, repo, pr, fakegithub.Comment{User: "alice", Body: "/agent plan"})
	if err := w.svc.Submit(w.ctx(), jobs.Task{
		Action: jobs.ActionRun, Kind: wire.KindPlan, Command: "plan", Source: jobs.SourceIssueComment, SourceID: id,
		DeliveryID: fmt.Sprintf("delivery-%d", id), TriggeredAt: time.Now(), InstallationID: 1, RepoID: repoID,
		OwnerID: w.fake.UserID(owner), Owner: owner, Repo: repo, DefaultBranch: "main", Number: pr, IsPR: true, Actor: "alice", ActorType: "User",
	}); err != nil {
		t.Fatal(err)
	}
}

// errorsAs is errors.As, for the SDKs' error types.
func errorsAs(err error, target any) bool { return errors.As(err, target) }
