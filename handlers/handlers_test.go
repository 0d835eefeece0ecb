package handlers

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
	"github.com/infra-agent/infra-agent/wire"
)

// deliveryCase is one real payload (with derived edits) sent through the
// dispatcher, and everything the handlers must hand over for it.
type deliveryCase struct {
	name    string
	event   string
	payload string
	edits   []edit
	appID   int64 // default testAppID

	status    int // default 200
	tasks     []jobs.Task
	runs      []jobs.RunEvent
	installs  []store.Installation
	logSubstr string // must appear in the log output
}

// helloWorld is the repository of the octokit payloads that carry installation 1.
func helloWorld(src jobs.Source) jobs.Task {
	return jobs.Task{Source: src, InstallationID: 1, RepoID: 186853002, OwnerID: 21031067, Owner: "Codertocat", Repo: "Hello-World", DefaultBranch: "master"}
}

// atlantisTests is the repository of the Atlantis payloads (installation added).
func atlantisTests(src jobs.Source) jobs.Task {
	return jobs.Task{Source: src, InstallationID: testInstallation, RepoID: 136474117, OwnerID: 1034429, Owner: "runatlantis", Repo: "atlantis-tests", DefaultBranch: "main"}
}

// prComment is a comment by runatlantis on runatlantis/atlantis-tests#1.
func prComment(action jobs.Action, kind wire.Kind, cmd, instructions string) jobs.Task {
	t := atlantisTests(jobs.SourceIssueComment)
	t.Action, t.Kind, t.Command, t.Instructions = action, kind, cmd, instructions
	t.SourceID = 396926483
	t.TriggeredAt = time.Date(2018, 6, 13, 12, 53, 40, 0, time.UTC)
	t.Number, t.IsPR = 1, true
	t.Actor, t.ActorType = "runatlantis", "User"
	return t
}

// helloReview is the review task of Codertocat/Hello-World#2.
func helloReview() jobs.Task {
	t := helloWorld(jobs.SourcePullRequest)
	t.Action, t.Kind, t.Event = jobs.ActionRun, wire.KindReview, "opened"
	t.SourceID = 279147437
	t.TriggeredAt = time.Date(2019, 5, 15, 15, 20, 33, 0, time.UTC)
	t.Number, t.IsPR = 2, true
	t.HeadSHA, t.HeadRef, t.HeadRepo, t.BaseRef = "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "changes", "Codertocat/Hello-World", "master"
	t.Actor, t.ActorType = "Codertocat", "User"
	return t
}

// onEvent returns t as triggered by another action of the same event.
func onEvent(t jobs.Task, action string) jobs.Task {
	t.Event = action
	return t
}

// forkReview is the review task of the cross-repository pull request listendev/lstn#217.
func forkReview() jobs.Task {
	return jobs.Task{
		Action: jobs.ActionRun, Kind: wire.KindReview, Source: jobs.SourcePullRequest, Event: "opened", SourceID: 1435068971,
		TriggeredAt:    time.Date(2023, 7, 14, 17, 4, 29, 0, time.UTC),
		InstallationID: testInstallation, RepoID: 564251933, OwnerID: 103680976, Owner: "listendev", Repo: "lstn", DefaultBranch: "main",
		Number: 217, IsPR: true,
		HeadSHA: "5864e328f129b98726813940b5bfa44707963bdc", HeadRef: "build/pkg", HeadRepo: "leodido/lstn", BaseRef: "main", Fork: true,
		Actor: "leodido", ActorType: "User",
	}
}

// helloFix is the fix task for Codertocat/Hello-World#2 from a failing check.
func helloFix(src jobs.Source, id int64, check string, at time.Time) jobs.Task {
	t := helloWorld(src)
	t.InstallationID = testInstallation
	t.Action, t.Kind = jobs.ActionRun, wire.KindFix
	t.SourceID, t.CheckName, t.TriggeredAt = id, check, at
	t.Number, t.IsPR = 2, true
	t.HeadSHA, t.HeadRef, t.HeadRepo, t.BaseRef = "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "changes", "Codertocat/Hello-World", "master"
	t.Actor, t.ActorType = "Codertocat", "User"
	return t
}

var checkRunDone = time.Date(2019, 5, 15, 15, 21, 12, 0, time.UTC)

func issueCommentCases() []deliveryCase {
	const issue, pr = "octokit/issue_comment/03-created.json", "extra/atlantis__githubIssueCommentEvent.json"
	helpOnIssue := helloWorld(jobs.SourceIssueComment)
	helpOnIssue.Action, helpOnIssue.Command = jobs.ActionHelp, "help"
	helpOnIssue.SourceID, helpOnIssue.TriggeredAt = 492700400, time.Date(2019, 5, 15, 15, 20, 21, 0, time.UTC)
	helpOnIssue.Number, helpOnIssue.Actor, helpOnIssue.ActorType = 1, "Codertocat", "User"
	fixOnIssue := helpOnIssue
	fixOnIssue.Action, fixOnIssue.Kind, fixOnIssue.Command, fixOnIssue.Instructions = jobs.ActionRun, wire.KindFix, "fix", "the typo"
	body := func(s string) edit { return set("comment.body", s) }
	return []deliveryCase{
		{name: "comment without command", event: "issue_comment", payload: issue},
		{name: "help on an issue", event: "issue_comment", payload: issue, edits: []edit{body("/agent")}, tasks: []jobs.Task{helpOnIssue}},
		{name: "fix on an issue", event: "issue_comment", payload: issue, edits: []edit{body("/agent fix the typo")}, tasks: []jobs.Task{fixOnIssue}},
		{name: "fix on a pull request", event: "issue_comment", payload: pr,
			edits: []edit{withInstallation(), body("Please have a look.\r\n/agent fix  bump the instance type to t3.small \r\n")},
			tasks: []jobs.Task{prComment(jobs.ActionRun, wire.KindFix, "fix", "bump the instance type to t3.small")}},
		{name: "plan on a pull request", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("/agent plan")},
			tasks: []jobs.Task{prComment(jobs.ActionRun, wire.KindPlan, "plan", "")}},
		{name: "review ignores args", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("/Agent REVIEW now please")},
			tasks: []jobs.Task{prComment(jobs.ActionRun, wire.KindReview, "review", "")}},
		{name: "cancel", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("/agent cancel")},
			tasks: []jobs.Task{prComment(jobs.ActionCancel, "", "cancel", "")}},
		{name: "unknown subcommand", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("/agent deploy prod")},
			tasks: []jobs.Task{prComment(jobs.ActionUnknown, "", "deploy", "")}},
		{name: "first command wins", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("/agent plan\n/agent fix everything")},
			tasks: []jobs.Task{prComment(jobs.ActionRun, wire.KindPlan, "plan", "")}},
		{name: "hidden characters stripped", event: "issue_comment", payload: pr,
			edits: []edit{withInstallation(), body("/ag\u200bent f\u200dix the \u202etags\u202c")},
			tasks: []jobs.Task{prComment(jobs.ActionRun, wire.KindFix, "fix", "the tags")}},
		{name: "quoted command", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("> /agent fix\n\nI disagree.")}},
		{name: "command in a fence", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("Try:\n\n```\n/agent fix\n```")}},
		{name: "command in an html comment", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("<!--\n/agent fix\n-->")}},
		{name: "command mid-line", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("you could say /agent fix")}},
		{name: "edited comment", event: "issue_comment", payload: "octokit/issue_comment/07-edited.json", edits: []edit{withInstallation(), body("/agent fix")},
			logSubstr: `"reason":"comment edited"`},
		{name: "deleted comment", event: "issue_comment", payload: "octokit/issue_comment/05-deleted.json", edits: []edit{withInstallation(), body("/agent fix")}},
		{name: "bot author", event: "issue_comment", payload: pr,
			edits:     []edit{withInstallation(), body("/agent fix"), set("comment.user.type", "Bot"), set("comment.user.login", "renovate[bot]")},
			logSubstr: `"reason":"comment by a bot"`},
		{name: "bot login without the type", event: "issue_comment", payload: pr,
			edits: []edit{withInstallation(), body("/agent fix"), set("comment.user.login", "infra-agent[bot]")}},
		{name: "bot sender", event: "issue_comment", payload: pr, edits: []edit{withInstallation(), body("/agent fix"), set("sender.type", "Bot")}},
		{name: "performed via an app", event: "issue_comment", payload: pr,
			edits: []edit{withInstallation(), body("/agent fix"), set("comment.performed_via_github_app", map[string]any{"id": 99, "slug": "other-app"})}},
		{name: "other bot's command on a real pull request comment", event: "issue_comment", payload: "extra/go-playground__pull-request-issue-comment.json"},
		{name: "no installation", event: "issue_comment", payload: pr, edits: []edit{body("/agent fix")}, status: http.StatusInternalServerError},
	}
}

func reviewCommentCases() []deliveryCase {
	const created = "octokit/pull_request_review_comment/01-created.json"
	fix := helloWorld(jobs.SourceReviewComment)
	fix.Action, fix.Kind, fix.Command, fix.Instructions = jobs.ActionRun, wire.KindFix, "fix", "use a variable here"
	fix.SourceID, fix.TriggeredAt = 284312630, time.Date(2019, 5, 15, 15, 20, 37, 0, time.UTC)
	fix.Number, fix.IsPR = 2, true
	fix.HeadSHA, fix.HeadRef, fix.HeadRepo, fix.BaseRef = "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "changes", "Codertocat/Hello-World", "master"
	fix.Actor, fix.ActorType = "Codertocat", "User"
	forkFix := fix
	forkFix.Fork = true
	body := func(s string) edit { return set("comment.body", s) }
	return []deliveryCase{
		{name: "comment without command", event: "pull_request_review_comment", payload: created},
		{name: "fix on a line", event: "pull_request_review_comment", payload: created, edits: []edit{body("/agent fix use a variable here")},
			tasks: []jobs.Task{fix}},
		{name: "fix on a fork's line", event: "pull_request_review_comment", payload: created,
			edits: []edit{body("/agent fix use a variable here"), set("pull_request.head.repo.id", 999)}, tasks: []jobs.Task{forkFix}},
		{name: "edited", event: "pull_request_review_comment", payload: "octokit/pull_request_review_comment/04-edited.json",
			edits: []edit{body("/agent fix")}, logSubstr: `"reason":"review comment edited"`},
		{name: "bot author", event: "pull_request_review_comment", payload: created,
			edits:     []edit{body("/agent fix"), set("comment.user.type", "Bot"), set("comment.user.login", "renovate[bot]")},
			logSubstr: `"reason":"review comment by a bot"`},
		{name: "performed via an app", event: "pull_request_review_comment", payload: created,
			edits: []edit{body("/agent fix"), set("comment.performed_via_github_app", map[string]any{"id": 99, "slug": "other-app"})}},
		{name: "quoted command", event: "pull_request_review_comment", payload: created, edits: []edit{body("> /agent fix\n\nno")}},
		{name: "no installation", event: "pull_request_review_comment", payload: created,
			edits: []edit{body("/agent fix"), set("installation", nil)}, status: http.StatusInternalServerError},
	}
}

func issuesCases() []deliveryCase {
	const labeled = "octokit/issues/09-labeled.json"
	remediate := func(label string) jobs.Task {
		t := helloWorld(jobs.SourceIssues)
		t.InstallationID = testInstallation
		t.Action, t.Kind, t.Label = jobs.ActionRun, wire.KindRemediate, label
		t.Instructions = "Spelling error in the README file\n\nIt looks like you accidently spelled 'commit' with two 't's."
		t.SourceID, t.TriggeredAt = 444500041, time.Date(2019, 5, 15, 15, 20, 18, 0, time.UTC)
		t.Number, t.Actor, t.ActorType = 1, "Codertocat", "User"
		return t
	}
	return []deliveryCase{
		{name: "labeled", event: "issues", payload: labeled, edits: []edit{withInstallation()}, tasks: []jobs.Task{remediate("bug")}},
		{name: "remediation label", event: "issues", payload: labeled,
			edits: []edit{withInstallation(), set("label.name", "infra-agent:remediate")}, tasks: []jobs.Task{remediate("infra-agent:remediate")}},
		{name: "hidden text in the issue body is stripped", event: "issues", payload: labeled,
			edits: []edit{withInstallation(), set("issue.body", "It looks like you accidently spelled 'commit' with two 't's.\u200b\u2066\u2069")},
			tasks: []jobs.Task{remediate("bug")}},
		{name: "opened", event: "issues", payload: "octokit/issues/15-opened.json", edits: []edit{withInstallation()}},
		{name: "unlabeled", event: "issues", payload: "octokit/issues/24-unlabeled.json", edits: []edit{withInstallation()}},
		{name: "labeled without installation", event: "issues", payload: labeled, status: http.StatusInternalServerError},
	}
}

func pullRequestCases() []deliveryCase {
	draft := helloReview()
	viaApp := helloReview()
	viaApp.ViaApp = 99
	forkSync := forkReview()
	forkSync.HeadSHA, forkSync.Event = "1f9f4a6c7d2b2a3e4f5a6b7c8d9e0f1a2b3c4d5e", "synchronize"
	atlantis := atlantisTests(jobs.SourcePullRequest)
	atlantis.Action, atlantis.Kind, atlantis.Event, atlantis.SourceID = jobs.ActionRun, wire.KindReview, "opened", 194034250
	atlantis.TriggeredAt = time.Date(2018, 6, 11, 16, 22, 16, 0, time.UTC)
	atlantis.Number, atlantis.IsPR = 2, true
	atlantis.HeadSHA, atlantis.HeadRef, atlantis.HeadRepo, atlantis.BaseRef = "c31fd9ea6f557ad2ea659944c3844a059b83bc5d", "branch", "runatlantis/atlantis-tests", "main"
	atlantis.Actor, atlantis.ActorType = "runatlantis", "User"
	const fork = "extra/lstn__github_event_pull_request_from_fork.json"
	return []deliveryCase{
		{name: "opened", event: "pull_request", payload: "octokit/pull_request/12-opened.json", tasks: []jobs.Task{helloReview()}},
		{name: "synchronize", event: "pull_request", payload: "octokit/pull_request/22-synchronize.json", tasks: []jobs.Task{onEvent(helloReview(), "synchronize")}},
		{name: "reopened", event: "pull_request", payload: "octokit/pull_request/18-reopened.json", tasks: []jobs.Task{onEvent(helloReview(), "reopened")}},
		{name: "closed", event: "pull_request", payload: "octokit/pull_request/03-closed.json"},
		{name: "draft still reviewed", event: "pull_request", payload: "octokit/pull_request/12-opened.json",
			edits: []edit{set("pull_request.draft", true)}, tasks: []jobs.Task{draft}},
		{name: "performed via an app", event: "pull_request", payload: "octokit/pull_request/12-opened.json",
			edits: []edit{set("performed_via_github_app", map[string]any{"id": 99, "slug": "other-app"})}, tasks: []jobs.Task{viaApp}},
		{name: "fork opened", event: "pull_request", payload: fork, edits: []edit{withInstallation()}, tasks: []jobs.Task{forkReview()}},
		{name: "fork synchronize", event: "pull_request", payload: fork,
			edits: []edit{withInstallation(), set("action", "synchronize"), set("before", "5864e328f129b98726813940b5bfa44707963bdc"),
				set("after", forkSync.HeadSHA), set("pull_request.head.sha", forkSync.HeadSHA)},
			tasks: []jobs.Task{forkSync}},
		{name: "fork whose head repository was deleted", event: "pull_request", payload: fork,
			edits: []edit{withInstallation(), set("pull_request.head.repo", nil)},
			tasks: []jobs.Task{func() jobs.Task { t := forkReview(); t.HeadRepo = ""; return t }()}},
		{name: "head repo marked fork but same repository", event: "pull_request", payload: "extra/atlantis__githubPullRequestOpenedEvent.json",
			edits: []edit{withInstallation()}, tasks: []jobs.Task{atlantis}},
	}
}

func checkCases() []deliveryCase {
	const failed = "octokit/check_run/01-completed.json"
	other := map[string]any{
		"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/3", "id": 279147499, "number": 3,
		"head": map[string]any{"ref": "more", "sha": "0123456789abcdef0123456789abcdef01234567", "repo": map[string]any{"id": 186853002, "name": "Hello-World"}},
		"base": map[string]any{"ref": "master", "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "repo": map[string]any{"id": 186853002, "name": "Hello-World"}},
	}
	second := helloFix(jobs.SourceCheckRun, 128620228, "Octocoders-linter", checkRunDone)
	second.Number, second.HeadRef, second.HeadSHA = 3, "more", "0123456789abcdef0123456789abcdef01234567"
	forkFix := helloFix(jobs.SourceCheckRun, 128620228, "Octocoders-linter", checkRunDone)
	forkFix.Fork, forkFix.HeadRepo = true, ""
	suiteFix := helloFix(jobs.SourceCheckSuite, 118578147, "octocoders-linter", time.Date(2019, 5, 15, 15, 21, 14, 0, time.UTC))
	const suite = "octokit/check_suite/00-completed.json"
	return []deliveryCase{
		{name: "check run failed", event: "check_run", payload: failed, edits: []edit{withInstallation()},
			tasks: []jobs.Task{helloFix(jobs.SourceCheckRun, 128620228, "Octocoders-linter", checkRunDone)}},
		{name: "check run timed out", event: "check_run", payload: failed, edits: []edit{withInstallation(), set("check_run.conclusion", "timed_out")},
			tasks: []jobs.Task{helloFix(jobs.SourceCheckRun, 128620228, "Octocoders-linter", checkRunDone)}},
		{name: "check run failed on two pull requests", event: "check_run", payload: failed,
			edits: []edit{withInstallation(), set("check_run.pull_requests.1", other)},
			tasks: []jobs.Task{helloFix(jobs.SourceCheckRun, 128620228, "Octocoders-linter", checkRunDone), second}},
		{name: "check run failed on a fork's pull request", event: "check_run", payload: failed,
			edits: []edit{withInstallation(), set("check_run.pull_requests.0.head.repo.id", 999)}, tasks: []jobs.Task{forkFix}},
		{name: "check run of this app", event: "check_run", payload: failed, edits: []edit{withInstallation()}, appID: 29310,
			logSubstr: `"reason":"check run of this app"`},
		{name: "check run named like ours", event: "check_run", payload: failed, edits: []edit{withInstallation(), set("check_run.name", "infra-agent/fix")}},
		{name: "check run named like our plan", event: "check_run", payload: failed, edits: []edit{withInstallation(), set("check_run.name", "infra-agent/plan")}},
		{name: "check run succeeded", event: "check_run", payload: "octokit/check_run/02-completed.json", edits: []edit{withInstallation()}},
		{name: "check run cancelled", event: "check_run", payload: failed, edits: []edit{withInstallation(), set("check_run.conclusion", "cancelled")}},
		{name: "check run action required", event: "check_run", payload: failed, edits: []edit{withInstallation(), set("check_run.conclusion", "action_required")}},
		{name: "check run created", event: "check_run", payload: "octokit/check_run/00-created.json", edits: []edit{withInstallation()}},
		{name: "check run without pull request", event: "check_run", payload: failed, edits: []edit{withInstallation(), set("check_run.pull_requests", []any{})}},
		{name: "check run with an unparsable timestamp", event: "check_run", payload: "octokit/check_run/07-rerequested.json", status: http.StatusInternalServerError},
		{name: "check run failed without installation", event: "check_run", payload: failed, status: http.StatusInternalServerError},
		{name: "check suite failed", event: "check_suite", payload: suite,
			edits: []edit{withInstallation(), set("check_suite.conclusion", "failure")}, tasks: []jobs.Task{suiteFix}},
		{name: "check suite of this app", event: "check_suite", payload: suite,
			edits: []edit{withInstallation(), set("check_suite.conclusion", "failure")}, appID: 29310},
		{name: "check suite succeeded", event: "check_suite", payload: suite, edits: []edit{withInstallation()}},
	}
}

func workflowAndInstallationCases() []deliveryCase {
	const done = "octokit/workflow_run/02-completed.json"
	run := jobs.RunEvent{InstallationID: testInstallation, RepoID: 300029405, Owner: "octo-org", Repo: "octo-repo", RunID: 289782451,
		WorkflowPath: ".github/workflows/test.yml", DisplayTitle: "ci(action): update actions/setup-node digest to 8c91899",
		HeadBranch: "master", HeadRepoID: 300029405, Conclusion: "success", Event: "repository_dispatch"}
	fork := run
	fork.HeadRepoID, fork.Event, fork.HeadBranch = 666, "pull_request", "patch-1"
	ours := run
	ours.WorkflowPath, ours.DisplayTitle, ours.Conclusion, ours.Event = ".github/workflows/infra-agent.yml", "infra-agent job 01J0ABC", "failure", "workflow_dispatch"
	return []deliveryCase{
		{name: "workflow run completed", event: "workflow_run", payload: done, edits: []edit{withInstallation()}, runs: []jobs.RunEvent{run}},
		{name: "agent workflow run failed", event: "workflow_run", payload: done,
			edits: []edit{withInstallation(), set("workflow_run.display_title", ours.DisplayTitle), set("workflow_run.conclusion", "failure"),
				set("workflow_run.event", "workflow_dispatch"), set("workflow.path", ours.WorkflowPath)},
			runs: []jobs.RunEvent{ours}},
		// The reconciler needs where the run's code came from to refuse runs it
		// did not start.
		{name: "a fork's pull request run", event: "workflow_run", payload: done,
			edits: []edit{withInstallation(), set("workflow_run.head_repository.id", 666), set("workflow_run.event", "pull_request"),
				set("workflow_run.head_branch", "patch-1")}, runs: []jobs.RunEvent{fork}},
		{name: "workflow path from the run when the workflow lacks it", event: "workflow_run", payload: done,
			edits: []edit{withInstallation(), set("workflow.path", nil), set("workflow_run.path", ".github/workflows/test.yml")}, runs: []jobs.RunEvent{run}},
		{name: "workflow run completed but still queued", event: "workflow_run", payload: "octokit/workflow_run/00-completed.json", edits: []edit{withInstallation()}},
		{name: "workflow run requested", event: "workflow_run", payload: "octokit/workflow_run/03-requested.json", edits: []edit{withInstallation()}},
		{name: "workflow run without installation", event: "workflow_run", payload: done, status: http.StatusInternalServerError},

		{name: "installation created", event: "installation", payload: "octokit/installation/01-created.json",
			installs: []store.Installation{{ID: 957387, Account: "Codertocat", Action: "created", Repos: []string{"Codertocat/Hello-World"}}}},
		{name: "installation deleted", event: "installation", payload: "octokit/installation/00-deleted.json",
			installs: []store.Installation{{ID: 2, Account: "octocat", Action: "deleted", Repos: []string{"octocat/Hello-World"}}}},
		{name: "installation suspended", event: "installation", payload: "octokit/installation/05-suspend.json",
			installs: []store.Installation{{ID: 16598467, Account: "Codertocat", Action: "suspend"}}},
		{name: "repositories added", event: "installation_repositories", payload: "octokit/installation_repositories/00-added.json",
			installs: []store.Installation{{ID: 957387, Account: "Codertocat", Action: "added", Repos: []string{"Codertocat/Space"}}}},
		{name: "repositories removed", event: "installation_repositories", payload: "octokit/installation_repositories/02-removed.json",
			installs: []store.Installation{{ID: 2, Account: "octocat", Action: "removed", Repos: []string{"octocat/Hello-World"}}}},
	}
}

func TestDeliveries(t *testing.T) {
	var cases []deliveryCase
	for _, group := range [][]deliveryCase{issueCommentCases(), reviewCommentCases(), issuesCases(), pullRequestCases(), checkCases(), workflowAndInstallationCases()} {
		cases = append(cases, group...)
	}
	for _, tc := range cases {
		t.Run(tc.event+"/"+tc.name, func(t *testing.T) {
			appID := tc.appID
			if appID == 0 {
				appID = testAppID
			}
			srv := newServer(t, appID)
			deliveryID := "d-" + strings.ReplaceAll(tc.name, " ", "-")
			body := applyEdits(t, readPayload(t, tc.payload), tc.edits)

			wantStatus := tc.status
			if wantStatus == 0 {
				wantStatus = http.StatusOK
			}
			if got := srv.deliver(t, tc.event, deliveryID, body, testSecret); got != wantStatus {
				t.Errorf("status %d, want %d; logs:\n%s", got, wantStatus, srv.logs)
			}
			for i := range tc.tasks {
				tc.tasks[i].DeliveryID = deliveryID
			}
			assertRecorded(t, "tasks", srv.jobs.recorded(), tc.tasks)
			assertRecorded(t, "runs", srv.runs.recorded(), tc.runs)
			assertRecorded(t, "installations", srv.installs.recorded(), tc.installs)
			if tc.logSubstr != "" && !strings.Contains(srv.logs.String(), tc.logSubstr) {
				t.Errorf("logs lack %s:\n%s", tc.logSubstr, srv.logs)
			}
		})
	}
}

// assertRecorded compares what a fake recorded with what the case wants,
// treating nil and empty alike.
func assertRecorded[T any](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}
