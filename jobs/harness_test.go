package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// Fixed names of the test world: installation 1 of account acme has the
// repository acme/infra, whose pull request #12 comes from branch topic.
const (
	testOwner   = "acme"
	testRepo    = "infra"
	testPR      = 12
	testHeadSHA = "1111111111111111111111111111111111111111"
	testConfig  = ".github/infra-agent.yml"
)

// clock is the tests' settable time source.
type clock = testkit.Clock

// harness is a Service wired to a fake GitHub over HTTP, through go-githubapp's
// real client creator, and a real SQLite store.
type harness struct {
	t     *testing.T
	fake  *fakegithub.Server
	store store.Store
	svc   *Service
	clock *clock
	reg   *prometheus.Registry
	logs  *testkit.LogBuffer
	// mark is how many calls the fake had seen at the last callsSince.
	mark int
}

// newHarness seeds the fake with the test world and builds the service; opt
// may adjust the options.
func newHarness(t *testing.T, opt func(*ServiceOptions)) *harness {
	t.Helper()
	fake := fakegithub.New(t)
	fake.AddInstallation(1, testOwner)
	fake.AddRepo(fakegithub.Repo{ID: 1001, Owner: testOwner, Name: testRepo, DefaultBranch: "main", InstallationID: 1})
	fake.AddWorkflow(testOwner, testRepo, "infra-agent.yml")
	fake.SetWorkflowRunName(testOwner, testRepo, "infra-agent.yml", RunTitlePrefix+"${{ inputs.job_id }}")
	fake.SetPermission(testOwner, testRepo, "alice", "write")
	fake.SetPermission(testOwner, testRepo, "bob", "read")
	fake.AddPullRequest(testOwner, testRepo, fakegithub.PullRequest{
		Number: testPR, Title: "Bump instance size", User: "alice",
		HeadSHA: testHeadSHA, HeadRef: "topic", BaseRef: "main", Files: []string{"main.tf"},
	})

	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })

	h := &harness{t: t, fake: fake, store: st, clock: testkit.NewClock(time.Now()), reg: prometheus.NewRegistry(), logs: &testkit.LogBuffer{}}
	o := ServiceOptions{
		Store:           st,
		Clients:         githubapp.NewClientCreator(fake.URL, fake.URL+"graphql", fake.AppID(), fake.PrivateKeyPEM()),
		AppID:           fake.AppID(),
		AppSlug:         "infra-agent",
		Registerer:      h.reg,
		Now:             h.clock.Now,
		DispatchBackoff: []time.Duration{0, 0, 0},
	}
	if opt != nil {
		opt(&o)
	}
	svc, err := NewService(o)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	t.Cleanup(svc.Wait)
	h.svc = svc
	return h
}

// ctx returns a context whose logger writes JSON lines to h.logs, as the
// webhook dispatcher's would, with the delivery id set.
func (h *harness) ctx(delivery string) context.Context {
	l := zerolog.New(h.logs).With().Str(githubapp.LogKeyDeliveryID, delivery).Logger()
	return l.WithContext(context.Background())
}

// setConfig stores the repository configuration on a branch.
func (h *harness) setConfig(ref, yaml string) {
	h.t.Helper()
	h.fake.SetFile(testOwner, testRepo, ref, testConfig, []byte(yaml))
}

// addComment adds a comment to the pull request and returns its id.
func (h *harness) addComment(user, body string) int64 {
	return h.fake.AddComment(testOwner, testRepo, testPR, fakegithub.Comment{User: user, Body: body})
}

// submit submits t and fails the test on error.
func (h *harness) submit(t Task) {
	h.t.Helper()
	if err := h.svc.Submit(h.ctx(t.DeliveryID), t); err != nil {
		h.t.Fatalf("Submit(%s %s by %s): %v", t.Action, t.Kind, t.Actor, err)
	}
}

// callsSince returns the GitHub calls made since the previous callsSince.
func (h *harness) callsSince() []string {
	calls := h.fake.Calls()
	out := calls[h.mark:]
	h.mark = len(calls)
	return out
}

// expectCalls asserts that exactly want were the GitHub calls since the
// previous check, in order.
func (h *harness) expectCalls(want ...string) {
	h.t.Helper()
	got := h.callsSince()
	if !slices.Equal(got, want) {
		h.t.Errorf("GitHub calls:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
	}
}

// jobs returns every job in the store, oldest first.
func (h *harness) jobs() []store.Job {
	h.t.Helper()
	js, err := h.store.ListJobs(context.Background(), store.JobFilter{})
	if err != nil {
		h.t.Fatalf("listing jobs: %v", err)
	}
	return js
}

// onlyJob returns the single job in the store.
func (h *harness) onlyJob() store.Job {
	h.t.Helper()
	js := h.jobs()
	if len(js) != 1 {
		h.t.Fatalf("want 1 job, have %d: %+v", len(js), js)
	}
	return js[0]
}

// checkRun returns the check run with the given id.
func (h *harness) checkRun(id int64) fakegithub.CheckRun {
	h.t.Helper()
	for _, cr := range h.fake.CheckRuns(testOwner, testRepo) {
		if cr.ID == id {
			return cr
		}
	}
	h.t.Fatalf("no check run %d", id)
	return fakegithub.CheckRun{}
}

// comments returns the bodies of the comments on the pull request (or issue) n
// made by this App.
func (h *harness) appComments(n int) []string {
	var out []string
	for _, c := range h.fake.Comments(testOwner, testRepo, n) {
		if c.User == "infra-agent[bot]" {
			out = append(out, c.Body)
		}
	}
	return out
}

// commentTask is the task a `/agent <cmd>` comment by actor on the pull
// request yields, as the issue_comment handler builds it.
func commentTask(action Action, kind wire.Kind, actor string, commentID int64) Task {
	return Task{
		Action: action, Kind: kind, Command: string(kind),
		Source: SourceIssueComment, SourceID: commentID, DeliveryID: fmt.Sprintf("delivery-comment-%d", commentID),
		TriggeredAt:    time.Now(),
		InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
		Number: testPR, IsPR: true, Actor: actor, ActorType: "User",
	}
}

// checkTask is the fix task a failing ci/test check run (id) on the pull
// request yields, as the check_run handler builds it.
func checkTask(id int64, actor string) Task {
	actorType := "User"
	if strings.HasSuffix(actor, "[bot]") {
		actorType = "Bot"
	}
	return Task{
		Action: ActionRun, Kind: wire.KindFix, Source: SourceCheckRun, SourceID: id,
		DeliveryID: fmt.Sprintf("delivery-check-%d", id), CheckName: "ci/test",
		InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
		Number: testPR, HeadSHA: testHeadSHA, Actor: actor, ActorType: actorType,
	}
}

// Paths of the calls the service makes.
const (
	callConfig      = "GET /repos/acme/infra/contents/.github/infra-agent.yml"
	callOrgRepo     = "GET /repos/acme/.github"
	callPull        = "GET /repos/acme/infra/pulls/12"
	callPullFiles   = "GET /repos/acme/infra/pulls/12/files"
	callPullCommits = "GET /repos/acme/infra/pulls/12/commits"
	callCheckRun    = "POST /repos/acme/infra/check-runs"
	callDispatch    = "POST /repos/acme/infra/actions/workflows/infra-agent.yml/dispatches"
	callCommentPR   = "POST /repos/acme/infra/issues/12/comments"
	callComments    = "GET /repos/acme/infra/issues/12/comments"
	callHeadBranch  = "GET /repos/acme/infra/branches/topic"
	callHeadRules   = "GET /repos/acme/infra/rules/branches/topic"
	callRuns        = "GET /repos/acme/infra/actions/workflows/infra-agent.yml/runs"
	callListChecks  = "GET /repos/acme/infra/commits/" + testHeadSHA + "/check-runs"
	callPermissionF = "GET /repos/acme/infra/collaborators/%s/permission"
)

func callPermission(login string) string { return fmt.Sprintf(callPermissionF, login) }

func callReaction(commentID int64) string {
	return fmt.Sprintf("POST /repos/acme/infra/issues/comments/%d/reactions", commentID)
}

func callCancelRun(runID int64) string {
	return fmt.Sprintf("POST /repos/acme/infra/actions/runs/%d/cancel", runID)
}

func callPatchCheckRun(id int64) string {
	return fmt.Sprintf("PATCH /repos/acme/infra/check-runs/%d", id)
}

// pushAsApp pushes a commit with message to the pull request's branch as
// this App, through the Git Data API.
func (h *harness) pushAsApp(message string) {
	h.t.Helper()
	ctx := context.Background()
	gh := h.fake.Client(h.t, 1)
	b, _, err := gh.Repositories.GetBranch(ctx, testOwner, testRepo, "topic", 0)
	if err != nil {
		h.t.Fatal(err)
	}
	tree, _, err := gh.Git.CreateTree(ctx, testOwner, testRepo, b.GetCommit().GetCommit().GetTree().GetSHA(), []*github.TreeEntry{
		{Path: github.String("main.tf"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String(message)}})
	if err != nil {
		h.t.Fatal(err)
	}
	c, _, err := gh.Git.CreateCommit(ctx, testOwner, testRepo, &github.Commit{Message: github.String(message), Tree: tree,
		Parents: []*github.Commit{{SHA: b.GetCommit().SHA}}}, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, _, err := gh.Git.UpdateRef(ctx, testOwner, testRepo, &github.Reference{Ref: github.String("refs/heads/topic"),
		Object: &github.GitObject{SHA: c.SHA}}, false); err != nil {
		h.t.Fatal(err)
	}
}
