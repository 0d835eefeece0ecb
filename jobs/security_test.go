package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// TestReconcileRunRefusesRunsItDidNotDispatch: job ids are public, and a
// pull request can edit the workflow to run on its own events with any
// run-name. Only a workflow_dispatch run of the job's workflow, on the job's
// default branch, with code from the job's repository (and the dispatched run
// itself, once known) may end a job. (A fork's pull_request run titled
// "infra-agent job <id>" used to fail the job and bind its run id.)
func TestReconcileRunRefusesRunsItDidNotDispatch(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.callsSince()
	job := h.onlyJob()
	unbound := int64(0)
	if _, err := h.store.UpdateJob(context.Background(), job.ID, nil, store.JobUpdate{RunID: &unbound}); err != nil {
		t.Fatal(err) // as after a 204 from an older GitHub Enterprise Server: matched by title
	}
	genuine := RunEvent{
		InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, RunID: 5150,
		WorkflowPath: ".github/workflows/infra-agent.yml", DisplayTitle: RunTitlePrefix + job.ID,
		HeadBranch: "main", HeadRepoID: 1001, Conclusion: "failure", Event: "workflow_dispatch",
	}
	forged := map[string]func(r *RunEvent){
		"a fork's pull_request run":            func(r *RunEvent) { r.Event, r.HeadBranch, r.HeadRepoID = "pull_request", "patch-1", 666 },
		"a pull_request run in the repository": func(r *RunEvent) { r.Event, r.HeadBranch = "pull_request", "topic" },
		"a dispatch on another branch":         func(r *RunEvent) { r.HeadBranch = "topic" },
		"code from another repository":         func(r *RunEvent) { r.HeadRepoID = 666 },
		"no head repository":                   func(r *RunEvent) { r.HeadRepoID = 0 },
		"a push run":                           func(r *RunEvent) { r.Event = "push" },
	}
	for name, forge := range forged {
		t.Run(name, func(t *testing.T) {
			ev := genuine
			forge(&ev)
			if err := h.svc.ReconcileRun(h.ctx("delivery-forged"), ev); err != nil {
				t.Fatal(err)
			}
			h.expectCalls()
			if j := h.onlyJob(); j.State != store.JobDispatched || j.RunID != 0 {
				t.Errorf("job %s bound to run %d, want still dispatched and unbound", j.State, j.RunID)
			}
		})
	}
	// Once bound, only that run counts, whatever its title says.
	bound := int64(4242)
	if _, err := h.store.UpdateJob(context.Background(), job.ID, nil, store.JobUpdate{RunID: &bound}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.ReconcileRun(h.ctx("delivery-other-dispatch"), genuine); err != nil {
		t.Fatal(err)
	}
	if j := h.onlyJob(); j.State != store.JobDispatched {
		t.Errorf("another dispatched run ended the job bound to run %d", bound)
	}
	genuine.RunID = bound
	if err := h.svc.ReconcileRun(h.ctx("delivery-genuine"), genuine); err != nil {
		t.Fatal(err)
	}
	if j := h.onlyJob(); j.State != store.JobFailed {
		t.Errorf("the job's own run left it %s, want failed", j.State)
	}
}

// TestSubmitRefusesPushesToProtectedHeads: a job that would push to the pull
// request's head branch is refused, with a reply saying why, when that branch
// is the default branch or protected (by branch protection or a ruleset),
// for `/agent fix` and automatic fixes alike. A read-only job is not.
func TestSubmitRefusesPushesToProtectedHeads(t *testing.T) {
	const sha = "4444444444444444444444444444444444444444"
	tests := []struct {
		name    string
		head    string
		protect func(f *fakegithub.Server)
		kind    wire.Kind
		source  Source
		refused string
	}{
		{"fix from the default branch", "main", nil, wire.KindFix, SourceIssueComment, "the repository's default branch"},
		{"fix from a protected branch", "release-1.x", func(f *fakegithub.Server) { f.ProtectBranch(testOwner, testRepo, "release-1.x") },
			wire.KindFix, SourceIssueComment, "protected (branch protection)"},
		{"fix from a branch under a ruleset", "release-2.x", func(f *fakegithub.Server) { f.AddBranchRule(testOwner, testRepo, "release-2.x", "pull_request") },
			wire.KindFix, SourceIssueComment, "protected (a repository ruleset (pull_request))"},
		{"autofix on a protected branch", "release-1.x", func(f *fakegithub.Server) { f.ProtectBranch(testOwner, testRepo, "release-1.x") },
			wire.KindFix, SourceCheckRun, "protected (branch protection)"},
		{"plan on a protected branch", "release-1.x", func(f *fakegithub.Server) { f.ProtectBranch(testOwner, testRepo, "release-1.x") },
			wire.KindPlan, SourceIssueComment, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.setConfig("main", "version: 1\nautofix:\n  checks: [ci/test]\n")
			h.fake.AddPullRequest(testOwner, testRepo, fakegithub.PullRequest{
				Number: 20, User: "alice", HeadSHA: sha, HeadRef: tt.head, BaseRef: "release-0.x", Files: []string{"main.tf"},
			})
			if tt.protect != nil {
				tt.protect(h.fake)
			}
			task := commentTask(ActionRun, tt.kind, "alice", h.fake.AddComment(testOwner, testRepo, 20, fakegithub.Comment{User: "alice", Body: "/agent " + string(tt.kind)}))
			task.Number = 20
			if tt.source == SourceCheckRun {
				task.Source, task.SourceID, task.CheckName, task.IsPR = SourceCheckRun, 777, "ci/test", true
			}
			h.submit(task)
			comments := h.appComments(20)
			if tt.refused == "" {
				if len(h.jobs()) != 1 || len(comments) != 0 {
					t.Errorf("jobs %d, comments %q: a read-only job must run", len(h.jobs()), comments)
				}
				return
			}
			if js := h.jobs(); len(js) != 0 {
				t.Errorf("jobs = %+v, want none", js)
			}
			if len(comments) != 1 || !strings.Contains(comments[0], tt.refused) || !strings.Contains(comments[0], "`"+tt.head+"`") {
				t.Errorf("comments = %q, want one refusal naming %q and the branch", comments, tt.refused)
			}
		})
	}
}

// TestSubmitLabelReplayMakesOneJob: the signature covers the body only, so a
// captured `issues.labeled` body can be resent under any delivery id. It is
// the same trigger (issue id, label, the issue's updated_at), and makes one
// job; labelling the issue again later is a new trigger.
func TestSubmitLabelReplayMakesOneJob(t *testing.T) {
	h := newHarness(t, nil)
	h.setConfig("main", "version: 1\nremediate:\n  enabled: true\n")
	h.fake.AddIssue(testOwner, testRepo, fakegithub.Issue{Number: 30, Title: "S3 bucket is public", User: "alice"})
	labelled := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	task := Task{
		Action: ActionRun, Kind: wire.KindRemediate, Source: SourceIssues, SourceID: 7030, TriggeredAt: labelled,
		InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
		Number: 30, Actor: "alice", ActorType: "User", Label: "infra-agent:remediate",
	}
	for i, delivery := range []string{"captured", "replay-1", "replay-2"} {
		task.DeliveryID = delivery
		h.submit(task)
		if n := len(h.jobs()); n != 1 {
			t.Fatalf("after delivery %d (%s): %d jobs, want 1", i+1, delivery, n)
		}
	}
	if n := len(h.fake.Dispatches(testOwner, testRepo)); n != 1 {
		t.Errorf("%d dispatches, want 1", n)
	}
	task.DeliveryID, task.TriggeredAt = "labelled-again", labelled.Add(time.Hour)
	h.submit(task)
	if js := h.jobs(); len(js) != 2 || js[0].State != store.JobSuperseded {
		t.Errorf("jobs = %+v, want the relabelling to supersede the first", js)
	}
}

// TestConfigEditNoteOncePerPullRequest: a pull request that edits
// .github/infra-agent.yml is told once that its changes take effect only once
// merged: not again on every push, and not again when GitHub redelivers.
func TestConfigEditNoteOncePerPullRequest(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.AddPullRequest(testOwner, testRepo, fakegithub.PullRequest{
		Number: 15, User: "alice", HeadSHA: "6666666666666666666666666666666666666666", HeadRef: "loosen",
		Files: []string{"main.tf", testConfig},
	})
	event := func(action, sha, delivery string) Task {
		return Task{
			Action: ActionRun, Kind: wire.KindReview, Source: SourcePullRequest, Event: action, SourceID: 9015, DeliveryID: delivery,
			InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
			Number: 15, IsPR: true, HeadSHA: sha, HeadRef: "loosen", HeadRepo: "acme/infra", BaseRef: "main",
			Actor: "alice", ActorType: "User",
		}
	}
	h.submit(event("opened", "6666666666666666666666666666666666666666", "d-open"))
	h.submit(event("opened", "6666666666666666666666666666666666666666", "d-open")) // redelivered
	h.submit(event("synchronize", "7777777777777777777777777777777777777777", "d-push"))
	got := h.appComments(15)
	if len(got) != 1 || !strings.Contains(got[0], "take effect once they are merged") || !strings.Contains(got[0], "`main`") {
		t.Fatalf("comments = %q, want one note naming the default branch", got)
	}
	if other := h.appComments(testPR); len(other) != 0 {
		t.Errorf("a pull request that does not edit the configuration got %q", other)
	}
}

// TestHelpListsTheAlwaysDeniedPaths: a configuration that leaves .github out
// of agent.deny_paths does not make it writable, and the help says so.
func TestHelpListsTheAlwaysDeniedPaths(t *testing.T) {
	h := newHarness(t, nil)
	h.setConfig("main", "version: 1\nagent:\n  deny_paths: []\n")
	h.submit(commentTask(ActionHelp, "", "alice", h.addComment("alice", "/agent help")))
	got := h.appComments(testPR)
	if len(got) != 1 {
		t.Fatalf("comments = %q", got)
	}
	for _, want := range []string{"`.github/**`", "`**/CODEOWNERS`", "`**/*.tfstate`"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("help does not list %s as denied:\n%s", want, got[0])
		}
	}
}
