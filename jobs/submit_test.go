package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

func TestSubmitFixHappyPath(t *testing.T) {
	h := newHarness(t, nil)
	id := h.addComment("alice", "/agent fix pin the provider")
	task := commentTask(ActionRun, wire.KindFix, "alice", id)
	task.Instructions = "pin the provider"
	task.TriggeredAt = time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)
	h.submit(task)

	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules, callCheckRun, callReaction(id), callDispatch)

	job := h.onlyJob()
	if job.State != store.JobDispatched || job.DispatchAttempts != 1 {
		t.Errorf("job state %s after %d dispatch attempts, want dispatched after 1", job.State, job.DispatchAttempts)
	}
	if job.HeadSHA != testHeadSHA || job.HeadRef != "topic" || job.BaseRef != "main" || job.Fork {
		t.Errorf("job head %s %s base %s fork %v: the pull request facts were not filled in", job.HeadSHA, job.HeadRef, job.BaseRef, job.Fork)
	}
	if job.TriggerKey != fmt.Sprintf("issue_comment:%d", id) || job.Workflow != "infra-agent.yml" || job.Instructions != "pin the provider" {
		t.Errorf("job = %+v", job)
	}
	if !job.TriggeredAt.Equal(task.TriggeredAt) {
		// The runner ignores comments created or edited after the trigger.
		t.Errorf("job triggered at %v, want the comment's %v", job.TriggeredAt, task.TriggeredAt)
	}

	cr := h.checkRun(job.CheckRunID)
	if cr.Name != "infra-agent/fix" || cr.Status != "queued" || cr.HeadSHA != testHeadSHA || cr.ExternalID != job.ID {
		t.Errorf("check run = %+v, want infra-agent/fix queued on %s with external id %s", cr, testHeadSHA, job.ID)
	}
	if cr.DetailsURL != "" {
		// Nothing serves a job page yet: a link would be a 404 on GitHub.
		t.Errorf("details_url = %q, want none", cr.DetailsURL)
	}
	if !strings.Contains(cr.Output.Summary, "pin the provider") {
		t.Errorf("check run summary does not show the instructions:\n%s", cr.Output.Summary)
	}
	if got := h.fake.Reactions(testOwner, testRepo, id); len(got) != 1 || got[0] != "eyes" {
		t.Errorf("reactions = %v, want [eyes]", got)
	}
	ds := h.fake.Dispatches(testOwner, testRepo)
	if len(ds) != 1 || ds[0].Workflow != "infra-agent.yml" || ds[0].Ref != "refs/heads/main" ||
		len(ds[0].Inputs) != 1 || ds[0].Inputs[wire.WorkflowInput] != job.ID {
		t.Errorf("dispatches = %+v, want infra-agent.yml on main with {job_id: %s}", ds, job.ID)
	}
	if ds := h.fake.Dispatches(testOwner, testRepo); len(ds) == 1 && ds[0].RunID != 0 && job.RunID != ds[0].RunID {
		t.Errorf("job run id %d, want the dispatched run %d", job.RunID, ds[0].RunID)
	}
	if got := h.appComments(testPR); len(got) != 0 {
		t.Errorf("unexpected comments: %q", got)
	}

	if got := testutil.ToFloat64(h.svc.metrics.created.WithLabelValues("fix")); got != 1 {
		t.Errorf("jobs created metric = %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.svc.metrics.dispatches.WithLabelValues("ok")); got != 1 {
		t.Errorf("dispatch ok metric = %v, want 1", got)
	}
	assertJobLogs(t, h.logs.String(), job.ID, task.DeliveryID)
}

// assertJobLogs checks that every log line about the job carries the job id
// and the delivery ids.
func assertJobLogs(t *testing.T, logs, jobID, delivery string) {
	t.Helper()
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["github_delivery_id"] != delivery {
			t.Errorf("log line without delivery id: %s", line)
		}
		switch m["message"] {
		case "job created", "workflow dispatched":
			seen++
			if m[logKeyJobID] != jobID || m[logKeyTriggerDelivery] != delivery {
				t.Errorf("job log line without job id or trigger delivery: %s", line)
			}
		}
	}
	if seen != 2 {
		t.Errorf("saw %d of the 2 job log lines:\n%s", seen, logs)
	}
}

func TestSubmitSameTriggerTwice(t *testing.T) {
	h := newHarness(t, nil)
	id := h.addComment("alice", "/agent plan")
	task := commentTask(ActionRun, wire.KindPlan, "alice", id)
	h.submit(task)
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callCheckRun, callReaction(id), callDispatch)

	h.submit(task) // a redelivery of the same comment
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull)
	h.onlyJob()
	if n := len(h.fake.CheckRuns(testOwner, testRepo)); n != 1 {
		t.Errorf("%d check runs, want 1", n)
	}
	if n := len(h.fake.Dispatches(testOwner, testRepo)); n != 1 {
		t.Errorf("%d dispatches, want 1", n)
	}
}

func TestSubmitSupersedes(t *testing.T) {
	h := newHarness(t, nil)
	first := h.addComment("alice", "/agent fix")
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", first))
	h.callsSince()
	older := h.onlyJob()

	second := h.addComment("alice", "/agent fix use t3.small")
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", second))
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callPull, callHeadBranch, callHeadRules,
		callCancelRun(older.RunID), callPatchCheckRun(older.CheckRunID), callCheckRun, callReaction(second), callDispatch)
	if status, conclusion, _ := h.fake.RunStatus(testOwner, testRepo, older.RunID); status != "completed" || conclusion != "cancelled" {
		t.Errorf("the superseded job's workflow run is %s/%s, want completed/cancelled", status, conclusion)
	}

	js := h.jobs()
	if len(js) != 2 {
		t.Fatalf("%d jobs, want 2", len(js))
	}
	old, newer := js[0], js[1]
	if old.State != store.JobSuperseded || old.SupersededBy != newer.ID {
		t.Errorf("older job is %s superseded by %q, want superseded by %s", old.State, old.SupersededBy, newer.ID)
	}
	if newer.State != store.JobDispatched {
		t.Errorf("newer job is %s, want dispatched", newer.State)
	}
	cr := h.checkRun(old.CheckRunID)
	if cr.Status != "completed" || cr.Conclusion != "cancelled" || !strings.Contains(cr.Output.Summary, "superseded by job `"+newer.ID+"`") {
		t.Errorf("older check run = %s/%s %q, want completed/cancelled with a note naming %s", cr.Status, cr.Conclusion, cr.Output.Summary, newer.ID)
	}
	if cr := h.checkRun(newer.CheckRunID); cr.Status != "queued" {
		t.Errorf("newer check run is %s, want queued", cr.Status)
	}
}

func TestSubmitBrokenConfig(t *testing.T) {
	tests := []struct {
		name, yaml, where, problem string
	}{
		{name: "unknown key", yaml: "version: 1\nforks: static\nforkz: deny\n", where: "`.github/infra-agent.yml` line 3", problem: "forkz"},
		{name: "bad value", yaml: "version: 1\ncommands:\n  min_permission: sudo\n", where: "`.github/infra-agent.yml` line 3", problem: "commands.min_permission"},
		// A remote reference could move the configuration off the default
		// branch; it is refused like any unknown key.
		{name: "remote reference", yaml: "remote: acme/other\nref: topic\n", where: "`.github/infra-agent.yml` line 1", problem: "remote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.setConfig("main", tt.yaml)
			id := h.addComment("alice", "/agent fix")
			h.submit(commentTask(ActionRun, wire.KindFix, "alice", id))

			h.expectCalls(callConfig, callCommentPR)
			got := h.appComments(testPR)
			if len(got) != 1 || !strings.Contains(got[0], tt.where) || !strings.Contains(got[0], tt.problem) {
				t.Errorf("comments = %q, want one naming %s and %q", got, tt.where, tt.problem)
			}
			if js := h.jobs(); len(js) != 0 {
				t.Errorf("jobs = %+v, want none", js)
			}
			if n := len(h.fake.Dispatches(testOwner, testRepo)); n != 0 {
				t.Errorf("%d dispatches, want none", n)
			}
		})
	}
}

// TestSubmitBrokenConfigQuietTriggers: labels are added and checks fail all
// day; with a broken configuration only labels that look like infra-agent's
// are answered, and failing checks are not.
func TestSubmitBrokenConfigQuietTriggers(t *testing.T) {
	h := newHarness(t, nil)
	h.setConfig("main", "version: 2\n")
	h.fake.AddIssue(testOwner, testRepo, fakegithub.Issue{Number: 30, Title: "typo", User: "alice"})
	label := Task{
		Action: ActionRun, Kind: wire.KindRemediate, Source: SourceIssues, DeliveryID: "delivery-label",
		InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
		Number: 30, Actor: "alice", ActorType: "User", Label: "bug",
	}
	h.submit(label)
	h.expectCalls(callConfig)
	label.Label, label.DeliveryID = "infra-agent:remediate", "delivery-label-2"
	h.submit(label)
	h.expectCalls(callConfig, "POST /repos/acme/infra/issues/30/comments")

	check := Task{
		Action: ActionRun, Kind: wire.KindFix, Source: SourceCheckRun, SourceID: 501, DeliveryID: "delivery-check",
		CheckName: "ci/test", InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
		Number: testPR, HeadSHA: testHeadSHA, Actor: "alice", ActorType: "User",
	}
	h.submit(check)
	h.expectCalls(callConfig)
}

func TestSubmitOrgConfig(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.AddRepo(fakegithub.Repo{ID: 1002, Owner: testOwner, Name: ".github", DefaultBranch: "trunk", InstallationID: 1})
	h.fake.SetFile(testOwner, ".github", "trunk", "infra-agent.yml", []byte("version: 1\ncommands:\n  min_permission: admin\n"))
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.expectCalls(callConfig, callOrgRepo, "GET /repos/acme/.github/contents/infra-agent.yml", callPermission("alice"), callPull, callCommentPR)
	if got := h.appComments(testPR); len(got) != 1 || !strings.Contains(got[0], "needs admin or higher") {
		t.Errorf("comments = %q, want a denial by the organisation's configuration", got)
	}
}

// TestSubmitConfigFromDefaultBranch: a pull request that loosens the
// configuration on its own branch, or a tag named like the default branch
// (which a bare ref would resolve to first), is still judged by the default
// branch's configuration.
func TestSubmitConfigFromDefaultBranch(t *testing.T) {
	h := newHarness(t, nil)
	const tagged = "5555555555555555555555555555555555555555"
	h.setConfig("topic", "version: 1\ncommands:\n  min_permission: read\n")
	h.setConfig(testHeadSHA, "version: 1\ncommands:\n  min_permission: read\n")
	h.setConfig(tagged, "version: 1\ncommands:\n  min_permission: read\n")
	h.fake.AddTag(testOwner, testRepo, "main", tagged)
	h.setConfig("main", "version: 1\ncommands:\n  min_permission: admin\n")
	id := h.addComment("alice", "/agent fix")
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", id))

	h.expectCalls(callConfig, callPermission("alice"), callPull, callCommentPR)
	for _, r := range h.fake.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/contents/"+testConfig) && r.Query.Get("ref") != "refs/heads/main" {
			t.Errorf("configuration read at ref %q, want refs/heads/main", r.Query.Get("ref"))
		}
	}
	got := h.appComments(testPR)
	if len(got) != 1 || !strings.Contains(got[0], "needs admin or higher") {
		t.Errorf("comments = %q, want a denial naming admin", got)
	}
	if js := h.jobs(); len(js) != 0 {
		t.Errorf("jobs = %+v, want none", js)
	}
}

func TestSubmitDenials(t *testing.T) {
	tests := []struct {
		name    string
		seed    func(h *harness)
		task    func(h *harness) Task
		calls   []string
		comment string // substring of the one reply; empty: no reply
	}{
		{
			name: "reader",
			task: func(h *harness) Task {
				return commentTask(ActionRun, wire.KindFix, "bob", h.addComment("bob", "/agent fix"))
			},
			calls:   []string{callConfig, callOrgRepo, callPermission("bob"), callPull, callCommentPR},
			comment: "@bob has read permission on acme/infra; `/agent fix` needs write or higher",
		},
		{
			name: "stranger",
			seed: func(h *harness) { h.fake.SetPermission(testOwner, testRepo, "eve", "none") },
			task: func(h *harness) Task {
				return commentTask(ActionRun, wire.KindPlan, "eve", h.addComment("eve", "/agent plan"))
			},
			calls:   []string{callConfig, callOrgRepo, callPermission("eve"), callPull, callCommentPR},
			comment: "@eve has no permission on acme/infra",
		},
		{
			name: "fork fix, forks deny",
			seed: func(h *harness) {
				h.fake.SetFile(testOwner, testRepo, "main", ".github/infra-agent.yml", []byte("version: 1\nforks: deny\n"))
				h.fake.AddPullRequest(testOwner, testRepo, fakegithub.PullRequest{
					Number: 13, User: "mallory", HeadSHA: "2222222222222222222222222222222222222222", HeadRef: "evil",
					HeadOwner: "mallory", HeadRepo: "infra", BaseRef: "main", Files: []string{"main.tf"},
				})
			},
			task: func(h *harness) Task {
				t := commentTask(ActionRun, wire.KindFix, "alice", h.fake.AddComment(testOwner, testRepo, 13, fakegithub.Comment{User: "alice", Body: "/agent fix"}))
				t.Number = 13
				return t
			},
			calls:   []string{callConfig, callPermission("alice"), "GET /repos/acme/infra/pulls/13", "POST /repos/acme/infra/issues/13/comments"},
			comment: "pull requests from forks are not handled in this repository (forks: deny)",
		},
		{
			name: "bot",
			task: func(h *harness) Task {
				t := commentTask(ActionRun, wire.KindFix, "renovate[bot]", h.addComment("renovate[bot]", "/agent fix"))
				t.ActorType = "Bot"
				return t
			},
		},
		{
			name: "this App",
			task: func(h *harness) Task {
				t := commentTask(ActionHelp, "", "someone", h.addComment("someone", "/agent help"))
				t.ViaApp = h.fake.AppID()
				return t
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			if tt.seed != nil {
				tt.seed(h)
			}
			task := tt.task(h)
			h.submit(task)
			h.expectCalls(tt.calls...)
			if js := h.jobs(); len(js) != 0 {
				t.Errorf("jobs = %+v, want none", js)
			}
			got := h.appComments(task.Number)
			switch {
			case tt.comment == "" && len(got) != 0:
				t.Errorf("comments = %q, want none", got)
			case tt.comment != "" && (len(got) != 1 || !strings.Contains(got[0], tt.comment)):
				t.Errorf("comments = %q, want one containing %q", got, tt.comment)
			}
		})
	}
}

func TestSubmitForkPlanIsStatic(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.AddPullRequest(testOwner, testRepo, fakegithub.PullRequest{
		Number: 13, User: "mallory", HeadSHA: "2222222222222222222222222222222222222222", HeadRef: "main",
		HeadOwner: "mallory", HeadRepo: "infra", BaseRef: "main", Files: []string{"main.tf"},
	})
	id := h.fake.AddComment(testOwner, testRepo, 13, fakegithub.Comment{User: "alice", Body: "/agent plan"})
	task := commentTask(ActionRun, wire.KindPlan, "alice", id)
	task.Number = 13
	h.submit(task)
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), "GET /repos/acme/infra/pulls/13",
		callCheckRun, callReaction(id), callDispatch)
	job := h.onlyJob()
	if !job.Fork || job.HeadSHA != "2222222222222222222222222222222222222222" {
		t.Errorf("job fork=%v head %s, want a fork job on the fork's head", job.Fork, job.HeadSHA)
	}
	if cr := h.checkRun(job.CheckRunID); !strings.Contains(cr.Output.Summary, "static checks only") {
		t.Errorf("check run does not say the job is static:\n%s", cr.Output.Summary)
	}
}

func TestSubmitReviewPathsAcrossPages(t *testing.T) {
	h := newHarness(t, nil)
	h.setConfig("main", "version: 1\nreview:\n  enabled: true\n  paths: [\"modules/**/*.tf\"]\n")
	files := make([]string, 0, 150)
	for i := range 149 {
		files = append(files, fmt.Sprintf("docs/page-%03d.md", i))
	}
	files = append(files, "modules/vpc/main.tf") // on the second page of 100
	h.fake.AddPullRequest(testOwner, testRepo, fakegithub.PullRequest{
		Number: 14, User: "alice", HeadSHA: "3333333333333333333333333333333333333333", HeadRef: "vpc", BaseRef: "main", Files: files,
	})
	task := Task{
		Action: ActionRun, Kind: wire.KindReview, Source: SourcePullRequest, SourceID: 9014, DeliveryID: "delivery-pr",
		InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
		Number: 14, IsPR: true, HeadSHA: "3333333333333333333333333333333333333333", HeadRef: "vpc",
		HeadRepo: "acme/infra", BaseRef: "main", Actor: "alice", ActorType: "User",
	}
	h.submit(task)
	h.expectCalls(callConfig, "GET /repos/acme/infra/pulls/14/files", "GET /repos/acme/infra/pulls/14/files", callCheckRun, callDispatch)
	var pages []string
	for _, r := range h.fake.Requests() {
		if strings.HasSuffix(r.Path, "/files") {
			pages = append(pages, r.Query.Get("page")+"/"+r.Query.Get("per_page"))
		}
	}
	if strings.Join(pages, " ") != "/100 2/100" {
		t.Errorf("file pages requested (page/per_page): %v, want [/100 2/100]", pages)
	}
	job := h.onlyJob()
	if job.Kind != wire.KindReview || job.TriggerKey != "pull_request:1001#14:3333333333333333333333333333333333333333" {
		t.Errorf("job = %+v", job)
	}

	// The same head again (a reopened pull request) is the same trigger.
	h.submit(task)
	h.expectCalls(callConfig, "GET /repos/acme/infra/pulls/14/files", "GET /repos/acme/infra/pulls/14/files")
	h.onlyJob()
}

func TestSubmitReviewNotEnabledIsQuiet(t *testing.T) {
	h := newHarness(t, nil)
	task := Task{
		Action: ActionRun, Kind: wire.KindReview, Source: SourcePullRequest, DeliveryID: "delivery-pr",
		InstallationID: 1, RepoID: 1001, Owner: testOwner, Repo: testRepo, DefaultBranch: "main",
		Number: testPR, HeadSHA: testHeadSHA, Actor: "alice", ActorType: "User",
	}
	h.submit(task)
	// The files are read anyway: a pull request that edits the configuration
	// gets a note.
	h.expectCalls(callConfig, callOrgRepo, callPullFiles)
	if js := h.jobs(); len(js) != 0 {
		t.Errorf("jobs = %+v, want none", js)
	}
}

func TestSubmitAutofixCapped(t *testing.T) {
	h := newHarness(t, nil)
	h.setConfig("main", "version: 1\nautofix:\n  checks: [ci/test]\n  max_attempts: 1\n")
	check := func(id int64) Task { return checkTask(id, "alice") }
	h.submit(check(501))
	h.expectCalls(callConfig, callPull, callPullCommits, callHeadBranch, callHeadRules, callCheckRun, callDispatch)
	job := h.onlyJob()
	if job.TriggerKey != "check_run:501:12" {
		t.Errorf("trigger key = %q", job.TriggerKey)
	}

	h.submit(check(502))
	h.expectCalls(callConfig, callPull, callPullCommits, callCommentPR)
	h.onlyJob()
	got := h.appComments(testPR)
	if len(got) != 1 || !strings.Contains(got[0], "after 1 fix attempt (`autofix.max_attempts` is 1") {
		t.Errorf("comments = %q, want one explaining the cap", got)
	}

	again := check(504)
	again.CheckName = "ci/test"
	h.submit(again)
	if got := h.appComments(testPR); len(got) != 1 {
		t.Errorf("the cap was announced again for another failing check: %q", got)
	}
	h.callsSince()

	other := check(503)
	other.CheckName = "lint"
	h.submit(other)
	h.expectCalls(callConfig, callPull)
	if got := h.appComments(testPR); len(got) != 1 {
		t.Errorf("a check not in autofix.checks was answered: %q", got)
	}
}

// TestSubmitAutofixCountsTheAppsPushes: a commit this App pushed for a
// `/agent fix` counts as an attempt (CI runs again on it); one pushed by an
// automatic fix is counted once, as its job.
func TestSubmitAutofixCountsTheAppsPushes(t *testing.T) {
	h := newHarness(t, nil)
	h.setConfig("main", "version: 1\nautofix:\n  checks: [ci/test]\n  max_attempts: 2\n")
	check := func(id int64) Task { return checkTask(id, "alice") }
	h.submit(check(601))
	auto := h.onlyJob()
	h.pushAsApp("fix: by the automatic fix\n\nInfra-Agent-Job: " + auto.ID + "\n")
	h.pushAsApp("fix: asked for\n\nInfra-Agent-Job: 01a23640-0000-7000-8000-000000000000\nRequested-by: @alice\n")
	h.callsSince()
	h.submit(check(602))
	h.expectCalls(callConfig, callPull, callPullCommits, callCommentPR)
	if got := h.appComments(testPR); len(got) != 1 || !strings.Contains(got[0], "after 2 fix attempts") {
		t.Errorf("comments = %q, want the cap: one automatic fix and one push by the App", got)
	}
}

func TestSubmitHelpAndUnknown(t *testing.T) {
	h := newHarness(t, nil)
	h.setConfig("main", "version: 1\nreview:\n  enabled: true\nforks: deny\n")
	h.submit(commentTask(ActionHelp, "", "bob", h.addComment("bob", "/agent help")))
	h.expectCalls(callConfig, callCommentPR)
	unknown := commentTask(ActionUnknown, "", "bob", h.addComment("bob", "/agent deploy"))
	unknown.Command = "deploy"
	h.submit(unknown)
	h.expectCalls(callConfig, callCommentPR)

	got := h.appComments(testPR)
	if len(got) != 2 {
		t.Fatalf("comments = %q, want 2", got)
	}
	for _, want := range []string{"`/agent fix [instructions]`", "automatic review: on", "not handled (`forks: deny`)",
		"from `acme/infra@main:.github/infra-agent.yml`"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("help does not say %q:\n%s", want, got[0])
		}
	}
	if !strings.Contains(got[1], "`/agent deploy` is not an infra-agent command") {
		t.Errorf("unknown command reply:\n%s", got[1])
	}
	if js := h.jobs(); len(js) != 0 {
		t.Errorf("jobs = %+v, want none", js)
	}
}

func TestSubmitCancel(t *testing.T) {
	h := newHarness(t, nil)
	h.submit(commentTask(ActionRun, wire.KindFix, "alice", h.addComment("alice", "/agent fix")))
	h.callsSince()
	job := h.onlyJob()

	h.submit(commentTask(ActionCancel, "", "alice", h.addComment("alice", "/agent cancel")))
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callCancelRun(job.RunID), callPatchCheckRun(job.CheckRunID), callCommentPR)
	if status, conclusion, _ := h.fake.RunStatus(testOwner, testRepo, job.RunID); status != "completed" || conclusion != "cancelled" {
		t.Errorf("the cancelled job's workflow run is %s/%s, want completed/cancelled", status, conclusion)
	}
	if j := h.onlyJob(); j.State != store.JobCancelled {
		t.Errorf("job is %s, want cancelled", j.State)
	}
	cr := h.checkRun(job.CheckRunID)
	if cr.Conclusion != "cancelled" || !strings.Contains(cr.Output.Summary, "cancelled by @alice") {
		t.Errorf("check run = %s %q", cr.Conclusion, cr.Output.Summary)
	}
	if got := h.appComments(testPR); len(got) != 1 || !strings.Contains(got[0], "cancelled job `"+job.ID+"`") {
		t.Errorf("comments = %q", got)
	}

	// Nothing left to cancel.
	h.submit(commentTask(ActionCancel, "", "alice", h.addComment("alice", "/agent cancel")))
	h.expectCalls(callConfig, callOrgRepo, callPermission("alice"), callCommentPR)
	if got := h.appComments(testPR); len(got) != 2 || !strings.Contains(got[1], "no active infra-agent job") {
		t.Errorf("comments = %q", got)
	}
}

func TestSubmitRejectsBadTask(t *testing.T) {
	h := newHarness(t, nil)
	bad := commentTask(ActionRun, wire.KindFix, "alice", 1)
	bad.Number = 0
	if err := h.svc.Submit(context.Background(), bad); err == nil {
		t.Error("Submit accepted a task without a number")
	}
	h.expectCalls()
}
