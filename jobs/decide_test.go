package jobs

import (
	"fmt"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

// commandTask builds the task a `/agent <cmd>` comment on a pull request yields.
func commandTask(t *testing.T, cmd string, fork, bot bool) Task {
	t.Helper()
	task := Task{
		Source: SourceIssueComment, SourceID: 7, InstallationID: 1,
		Owner: "acme", Repo: "infra", Number: 12, IsPR: true,
		HeadSHA: "abc", HeadRef: "topic", HeadRepo: "acme/infra", BaseRef: "main",
		Actor: "alice", ActorType: "User", Command: cmd,
	}
	if fork {
		task.Fork = true
		task.HeadRepo = "mallory/infra"
	}
	if bot {
		task.Actor, task.ActorType = "renovate[bot]", "Bot"
	}
	switch cmd {
	case "fix", "plan", "review":
		task.Action, task.Kind = ActionRun, wire.Kind(cmd)
	case "cancel":
		task.Action = ActionCancel
	case "help":
		task.Action = ActionHelp
	default:
		t.Fatalf("no such command %q", cmd)
	}
	return task
}

// verdict condenses a decision to one letter: A allowed, S allowed static,
// D denied with a reply, Q denied quietly.
func verdict(d Decision) string {
	switch {
	case d.Allowed && d.Static:
		return "S"
	case d.Allowed:
		return "A"
	case d.Quiet:
		return "Q"
	}
	return "D"
}

// TestDecideMatrix is the authorisation matrix: permission (none … admin) ×
// same-repo vs fork × command × human vs bot. Each want string has one letter
// per permission, none first.
func TestDecideMatrix(t *testing.T) {
	perms := []config.Permission{
		config.PermissionNone, config.PermissionRead, config.PermissionTriage,
		config.PermissionWrite, config.PermissionMaintain, config.PermissionAdmin,
	}
	tests := []struct {
		cmd       string
		fork, bot bool
		forks     config.ForkMode
		min       config.Permission
		want      string
	}{
		{cmd: "fix", want: "DDDAAA"},
		{cmd: "fix", fork: true, want: "DDDSSS"}, // review suggestions, never a push
		{cmd: "fix", bot: true, want: "QQQQQQ"},
		{cmd: "fix", fork: true, bot: true, want: "QQQQQQ"},
		{cmd: "plan", want: "DDDAAA"},
		{cmd: "plan", fork: true, want: "DDDSSS"},
		{cmd: "plan", bot: true, want: "QQQQQQ"},
		{cmd: "plan", fork: true, bot: true, want: "QQQQQQ"},
		{cmd: "review", want: "DDDAAA"},
		{cmd: "review", fork: true, want: "DDDSSS"},
		{cmd: "review", bot: true, want: "QQQQQQ"},
		{cmd: "review", fork: true, bot: true, want: "QQQQQQ"},
		{cmd: "cancel", want: "DDDAAA"},
		{cmd: "cancel", fork: true, want: "DDDAAA"},
		{cmd: "cancel", bot: true, want: "QQQQQQ"},
		{cmd: "cancel", fork: true, bot: true, want: "QQQQQQ"},
		{cmd: "help", want: "AAAAAA"},
		{cmd: "help", fork: true, want: "AAAAAA"},
		{cmd: "help", bot: true, want: "QQQQQQ"},
		{cmd: "help", fork: true, bot: true, want: "QQQQQQ"},

		// forks: deny refuses every job on a fork, for everyone.
		{cmd: "plan", fork: true, forks: config.ForksDeny, want: "DDDDDD"},
		{cmd: "review", fork: true, forks: config.ForksDeny, want: "DDDDDD"},
		{cmd: "fix", fork: true, forks: config.ForksDeny, want: "DDDDDD"},
		{cmd: "fix", forks: config.ForksDeny, want: "DDDAAA"},
		{cmd: "cancel", fork: true, forks: config.ForksDeny, want: "DDDAAA"},

		// commands.min_permission moves the threshold both ways.
		{cmd: "fix", min: config.PermissionTriage, want: "DDAAAA"},
		{cmd: "plan", min: config.PermissionRead, want: "DAAAAA"},
		{cmd: "fix", min: config.PermissionAdmin, want: "DDDDDA"},
		{cmd: "review", fork: true, min: config.PermissionMaintain, want: "DDDDSS"},
		{cmd: "cancel", min: config.PermissionMaintain, want: "DDDDAA"},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/fork=%v/bot=%v/forks=%s/min=%s", tt.cmd, tt.fork, tt.bot, tt.forks, tt.min)
		t.Run(name, func(t *testing.T) {
			cfg := config.DefaultRepoConfig()
			if tt.forks != "" {
				cfg.Forks = tt.forks
			}
			if tt.min != "" {
				cfg.Commands.MinPermission = tt.min
			}
			task := commandTask(t, tt.cmd, tt.fork, tt.bot)
			var got strings.Builder
			for _, p := range perms {
				d := Decide(task, cfg, p, Facts{AppID: 99, AppSlug: "infra-agent"})
				got.WriteString(verdict(d))
				if !d.Allowed && d.Reason == "" {
					t.Errorf("perm %s: denial without a reason", p)
				}
				if d.Allowed && d.Reason != "" {
					t.Errorf("perm %s: allowed with reason %q", p, d.Reason)
				}
				wantTier := task.Kind.Tier()
				if tt.fork {
					wantTier = min(wantTier, wire.TierRecommend) // a fork's fix is suggestions
				}
				if d.Allowed && task.Action == ActionRun && d.Tier != wantTier {
					t.Errorf("perm %s: tier %s, want %s", p, d.Tier, wantTier)
				}
			}
			if got.String() != tt.want {
				t.Errorf("verdicts (none…admin) = %s, want %s", got.String(), tt.want)
			}
		})
	}
}

func TestDecideReasons(t *testing.T) {
	cfg := config.DefaultRepoConfig()
	facts := Facts{AppID: 99, AppSlug: "infra-agent"}
	tests := []struct {
		name string
		task Task
		perm config.Permission
		want string
	}{
		{"permission", commandTask(t, "fix", false, false), config.PermissionRead,
			"@alice has read permission on acme/infra; `/agent fix` needs write or higher (commands.min_permission)"},
		{"remediation off", func() Task {
			task := commandTask(t, "fix", false, false)
			task.Source, task.Kind, task.Label, task.IsPR = SourceIssues, wire.KindRemediate, cfg.Remediate.Label, false
			return task
		}(), config.PermissionAdmin, "remediation is off in this repository: set `remediate.enabled: true`"},
		{"bot", commandTask(t, "fix", false, true), config.PermissionAdmin,
			"renovate[bot] is a bot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.task, cfg, tt.perm, facts)
			if d.Allowed || !strings.Contains(d.Reason, tt.want) {
				t.Errorf("Decide = %+v, want a denial containing %q", d, tt.want)
			}
		})
	}
}

// TestDecideTriggers covers the non-command triggers: labels, automatic review,
// autofix, and this App's own events.
func TestDecideTriggers(t *testing.T) {
	base := Task{
		Action: ActionRun, InstallationID: 1, Owner: "acme", Repo: "infra", Number: 12, IsPR: true,
		HeadSHA: "abc", Actor: "alice", ActorType: "User",
	}
	with := func(f func(*Task)) Task {
		task := base
		f(&task)
		return task
	}
	label := func(l string) Task {
		return with(func(t *Task) {
			t.Source, t.Kind, t.Label, t.IsPR = SourceIssues, wire.KindRemediate, l, false
		})
	}
	review := with(func(t *Task) { t.Source, t.Kind = SourcePullRequest, wire.KindReview })
	autofix := with(func(t *Task) { t.Source, t.Kind, t.CheckName = SourceCheckRun, wire.KindFix, "ci/test" })

	reviewOn := config.DefaultRepoConfig()
	reviewOn.Review.Enabled = true
	autofixOn := config.DefaultRepoConfig()
	autofixOn.Autofix.Checks = []string{"ci/test"}
	forksDeny := reviewOn
	forksDeny.Forks = config.ForksDeny
	remediateOn := config.DefaultRepoConfig()
	remediateOn.Remediate.Enabled = true

	tests := []struct {
		name  string
		task  Task
		cfg   config.RepoConfig
		perm  config.Permission
		facts Facts
		want  string // A, S, D or Q as in the matrix
		tier  wire.Tier
	}{
		{name: "remediation label by writer", task: label("infra-agent:remediate"), cfg: remediateOn, perm: config.PermissionWrite, want: "A", tier: wire.TierDraft},
		{name: "remediation label by reader", task: label("infra-agent:remediate"), cfg: remediateOn, perm: config.PermissionRead, want: "D"},
		{name: "remediation label, remediation off by default", task: label("infra-agent:remediate"), perm: config.PermissionAdmin, want: "D"},
		{name: "other label", task: label("bug"), perm: config.PermissionAdmin, want: "Q"},
		{name: "label by bot", task: with(func(t *Task) {
			*t = label("infra-agent:remediate")
			t.Actor, t.ActorType = "dependabot[bot]", "Bot"
		}), perm: config.PermissionAdmin, want: "Q"},
		{name: "review off by default", task: review, facts: Facts{ReviewPathsTouched: true}, want: "Q"},
		{name: "review on, no paths", task: review, cfg: reviewOn, want: "Q"},
		{name: "review on, paths", task: review, cfg: reviewOn, facts: Facts{ReviewPathsTouched: true}, want: "A", tier: wire.TierRecommend},
		{name: "review on, fork", task: with(func(t *Task) { *t = review; t.Fork = true }), cfg: reviewOn,
			facts: Facts{ReviewPathsTouched: true}, want: "S", tier: wire.TierRecommend},
		{name: "review on, fork, forks deny", task: with(func(t *Task) { *t = review; t.Fork = true }), cfg: forksDeny,
			facts: Facts{ReviewPathsTouched: true}, want: "D"},
		{name: "review on, fork, forks deny, a later push: not said again", task: with(func(t *Task) {
			*t = review
			t.Fork, t.Event = true, "synchronize"
		}), cfg: forksDeny, facts: Facts{ReviewPathsTouched: true}, want: "Q"},
		{name: "review on, bot author", task: with(func(t *Task) { *t = review; t.Actor, t.ActorType = "renovate[bot]", "Bot" }),
			cfg: reviewOn, facts: Facts{ReviewPathsTouched: true}, want: "Q"},
		{name: "autofix off by default", task: autofix, want: "Q"},
		{name: "autofix other check", task: with(func(t *Task) { *t = autofix; t.CheckName = "lint" }), cfg: autofixOn, want: "Q"},
		{name: "autofix own check", task: with(func(t *Task) { *t = autofix; t.CheckName = wire.CheckPolicy }), cfg: func() config.RepoConfig {
			c := autofixOn
			c.Autofix.Checks = []string{wire.CheckPolicy}
			return c
		}(), want: "Q"},
		{name: "autofix first attempt", task: autofix, cfg: autofixOn, want: "A", tier: wire.TierDraft},
		{name: "autofix second attempt", task: autofix, cfg: autofixOn, facts: Facts{AutofixAttempts: 1}, want: "A", tier: wire.TierDraft},
		{name: "autofix capped", task: autofix, cfg: autofixOn, facts: Facts{AutofixAttempts: 2}, want: "D"},
		{name: "autofix on fork", task: with(func(t *Task) { *t = autofix; t.Fork = true }), cfg: autofixOn, want: "D"},
		{name: "autofix on a check sent by the CI App's bot", task: with(func(t *Task) {
			*t = autofix
			t.Actor, t.ActorType = "github-actions[bot]", "Bot"
		}), cfg: autofixOn, want: "A", tier: wire.TierDraft},
		{name: "autofix on a check sent by this App", task: with(func(t *Task) {
			*t = autofix
			t.Actor, t.ActorType = "infra-agent[bot]", "Bot"
		}), cfg: autofixOn, want: "Q"},
		{name: "autofix on closed PR", task: autofix, cfg: autofixOn, facts: Facts{PRClosed: true}, want: "Q"},
		{name: "fix on closed PR", task: commandTask(t, "fix", false, false), perm: config.PermissionWrite, facts: Facts{PRClosed: true}, want: "D"},
		{name: "fix on an issue", task: with(func(k *Task) { *k = commandTask(t, "fix", false, false); k.IsPR = false }), perm: config.PermissionWrite, want: "D"},
		{name: "this App by login", task: with(func(k *Task) {
			*k = commandTask(t, "fix", false, false)
			k.Actor, k.ActorType = "infra-agent[bot]", "Bot"
		}), perm: config.PermissionAdmin, want: "Q"},
		{name: "this App via performed_via_github_app", task: with(func(t *Task) { *t = autofix; t.ViaApp = 99 }), cfg: autofixOn, want: "Q"},
		{name: "unknown command", task: with(func(t *Task) { t.Source, t.Action, t.Command = SourceIssueComment, ActionUnknown, "deploy" }), want: "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Version == 0 {
				cfg = config.DefaultRepoConfig()
			}
			tt.facts.AppID, tt.facts.AppSlug = 99, "infra-agent"
			d := Decide(tt.task, cfg, tt.perm, tt.facts)
			if got := verdict(d); got != tt.want {
				t.Fatalf("Decide = %s (%+v), want %s", got, d, tt.want)
			}
			if !d.Allowed && d.Reason == "" {
				t.Error("denial without a reason")
			}
			if d.Allowed && d.Tier != tt.tier {
				t.Errorf("tier = %s, want %s", d.Tier, tt.tier)
			}
		})
	}
}
