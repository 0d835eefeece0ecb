package checks

import (
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

func sampleJob() JobInfo {
	return JobInfo{
		ID: "j-01", Kind: wire.KindFix, Actor: "alice",
		Source: "issue_comment", Instructions: "pin the provider\n```\nrm -rf /\n```\n@org/team <!-- hidden -->\u202e",
		Workflow: "infra-agent.yml", DefaultBranch: "main",
	}
}

// TestJobRender compares every job message with its golden file; run with
// -update to rewrite them.
func TestJobRender(t *testing.T) {
	job := sampleJob()
	static := JobInfo{ID: "j-02", Kind: wire.KindReview, Actor: "bob", Source: "pull_request", Static: true,
		Workflow: "infra-agent.yml", DefaultBranch: "main"}
	newer := JobInfo{ID: "j-03", Kind: wire.KindRemediate, Actor: "carol", Source: "issues", TriggerDetail: "infra-agent:remediate"}
	withRun := job
	withRun.RunURL = "https://github.com/acme/infra/actions/runs/42"

	cfg := config.DefaultRepoConfig()
	cfg.Review.Enabled = true
	cfg.Autofix.Checks = []string{"ci/test", "lint`"}
	cfg.Forks = config.ForksDeny
	cfg.Remediate.Enabled = true
	cfg.Fix.PushNeedsReview = true

	outputs := map[string]JobOutput{
		"job_queued":                JobQueued(job),
		"job_queued_static":         JobQueued(static),
		"job_superseded":            JobSuperseded(job, newer),
		"job_cancelled":             JobCancelled(job, "bob"),
		"job_dispatch_failed":       JobDispatchFailed(job, 4, "POST .../dispatches: 502 Bad Gateway"),
		"job_timed_out_dispatch":    JobTimedOut(job, StallNotDispatched, "5m0s"),
		"job_timed_out_claim":       JobTimedOut(withRun, StallNotClaimed, "5m0s"),
		"job_timed_out_heartbeat":   JobTimedOut(withRun, StallNoHeartbeat, "15m0s"),
		"job_run_ended_success":     JobRunEnded(withRun, "success"),
		"job_run_ended_failure":     JobRunEnded(withRun, "failure"),
		"job_run_ended_cancelled":   JobRunEnded(job, "cancelled"),
		"job_run_ended_timed_out":   JobRunEnded(job, "timed_out"),
		"job_run_ended_action_reqd": JobRunEnded(job, "action_required"),
		"job_concluded_late":        JobConcludedLate(withRun, "failed", "dispatching the workflow: 502 Bad Gateway"),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			jobGolden(t, name, "# "+out.Title+"\n\n"+out.Summary+out.Text)
			if len(out.Summary) > 65535 || len(out.Text) > 65535 {
				t.Errorf("output over GitHub's limit: summary %d, text %d", len(out.Summary), len(out.Text))
			}
		})
	}

	comments := map[string]string{
		"job_comment_denied":       JobDenied("alice", "`/agent fix`", "@alice has read permission on acme/infra; `/agent fix` needs write or higher (commands.min_permission)"),
		"job_comment_config_error": JobConfigError("acme/infra@main", ".github/infra-agent.yml", 3, "field forkz not found in type config.RepoConfig"),
		"job_comment_cancel":       JobCancelReply("bob", &job),
		"job_comment_cancel_none":  JobCancelReply("bob", nil),
		"job_comment_timed_out":    JobTimedOutComment(withRun, StallNotClaimed, "5m0s"),
		"job_comment_not_started":  JobNotStartedComment(job, "GitHub answered 500 Internal Server Error"),
		"job_comment_help_default": JobHelp(HelpInfo{Actor: "alice", Config: config.DefaultRepoConfig()}),
		"job_comment_help_custom":  JobHelp(HelpInfo{Actor: "alice", Config: cfg, ConfigSource: "acme/infra@main:.github/infra-agent.yml"}),
		"job_comment_help_unknown": JobHelp(HelpInfo{Actor: "alice", Unknown: "deploy `now` @org/team", Config: config.DefaultRepoConfig()}),
	}
	for name, body := range comments {
		t.Run(name, func(t *testing.T) {
			jobGolden(t, name, body)
			if len(body) > 65536 {
				t.Errorf("comment is %d bytes, over GitHub's limit", len(body))
			}
		})
	}
}

// TestJobRenderUntrusted checks what user input can and cannot do to a message.
func TestJobRenderUntrusted(t *testing.T) {
	job := sampleJob()
	job.Instructions = strings.Repeat("````", 10) + "x" + strings.Repeat("é", 5000)
	job.TriggerDetail = "ci`/test\n@org/team"
	job.Source = "check_run"
	out := JobQueued(job)
	if !strings.Contains(out.Summary, strings.Repeat("`", 41)+"text\n") {
		t.Error("instructions fence is not longer than the backtick runs inside")
	}
	if !strings.Contains(out.Summary, "…(truncated)") {
		t.Error("long instructions are not truncated")
	}
	if strings.Contains(out.Summary, "\u202e") {
		t.Error("bidi control character survived")
	}
	if !strings.Contains(out.Summary, "failing check `ci'/test @org/team` (automatic fix)") {
		t.Errorf("check name not confined to one inline code span:\n%s", out.Summary)
	}

	leaky := sampleJob()
	leaky.Instructions = "use key AKIAIOSFODNN7EXAMPLE please"
	for what, text := range map[string]string{
		"queued":        JobQueued(leaky).Summary,
		"config error":  JobConfigError("acme/infra@main", ".github/infra-agent.yml", 2, "bad value password: hunter2"),
		"dispatch":      JobDispatchFailed(leaky, 1, "token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB rejected").Summary,
		"unknown input": JobHelp(HelpInfo{Actor: "a", Unknown: "AKIAIOSFODNN7EXAMPLE", Config: config.DefaultRepoConfig()}),
	} {
		for _, secret := range []string{"AKIAIOSFODNN7EXAMPLE", "hunter2", "ghp_0123456789"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s message contains the secret %q:\n%s", what, secret, text)
			}
		}
	}

	long := JobDenied("alice", "`/agent fix`", strings.Repeat("x", 100000))
	if len(long) > 65536 {
		t.Errorf("denial is %d bytes, over GitHub's comment limit", len(long))
	}
}

func TestTruncateRuneBoundary(t *testing.T) {
	s := strings.Repeat("日本", 1000)
	for n := 20; n < 40; n++ {
		got := truncate(s, n)
		if len(got) > n || !strings.HasSuffix(got, "…(truncated)") || !utf8Valid(got) {
			t.Errorf("truncate(_, %d) = %q", n, got)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
