package checks

import (
	"fmt"
	"strings"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

// JobDenied is the reply to a trigger the policy refused. what names the
// trigger ("`/agent fix`"), reason is the policy's explanation.
func JobDenied(actor, what, reason string) string {
	return truncate(fmt.Sprintf("@%s infra-agent did not run %s: %s.\n\nComment `/agent help` for the commands and this repository's settings.\n",
		actor, what, strings.TrimSuffix(oneLine(reason), ".")), maxComment)
}

// JobConfigError is the reply to a trigger when the repository configuration
// cannot be used. source names where it was read ("acme/infra@main"); line is 0
// when unknown.
func JobConfigError(source, file string, line int, problem string) string {
	var b strings.Builder
	b.WriteString("**infra-agent: the repository configuration is invalid**, so nothing was run.\n\n")
	where := inlineCode(file)
	if line > 0 {
		where = fmt.Sprintf("%s line %d", where, line)
	}
	fmt.Fprintf(&b, "%s (in %s):\n\n%s\n\n", where, inlineCode(source), fence(problem))
	b.WriteString("Fix the file on the default branch: infra-agent reads its configuration only from there, never from a pull request.\n")
	return truncate(b.String(), maxComment)
}

// JobCancelReply answers `/agent cancel`. cancelled is nil when there was no
// active job to cancel.
func JobCancelReply(actor string, cancelled *JobInfo) string {
	if cancelled == nil {
		return fmt.Sprintf("@%s there is no active infra-agent job here to cancel.\n", actor)
	}
	return fmt.Sprintf("@%s cancelled job `%s` (%s, %s by @%s). Nothing more will be pushed for it.\n",
		actor, cancelled.ID, cancelled.Kind.CheckRunName(), triggerText(*cancelled), cancelled.Actor)
}

// HelpInfo is what the help reply shows.
type HelpInfo struct {
	Actor string
	// Unknown is the unknown subcommand that was typed, if any (untrusted).
	Unknown string
	Config  config.RepoConfig
	// ConfigSource says where the configuration came from ("acme/infra@main:
	// .github/infra-agent.yml"); empty means the defaults apply.
	ConfigSource string
}

// JobHelp is the reply to `/agent help` and to unknown subcommands: the usage
// and this repository's settings.
func JobHelp(h HelpInfo) string {
	var b strings.Builder
	if h.Unknown != "" {
		fmt.Fprintf(&b, "@%s %s is not an infra-agent command.\n\n", h.Actor, inlineCode("/agent "+h.Unknown))
	}
	c := h.Config
	b.WriteString("**infra-agent commands** — write them at the start of a line in a comment on a pull request:\n\n")
	b.WriteString("| command | what it does | tier |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| `/agent fix [instructions]` | pushes a validated fix commit to this pull request's branch | %s |\n", wire.KindFix.Tier())
	fmt.Fprintf(&b, "| `/agent plan` | runs terraform plan and the policies; results as check runs | %s |\n", wire.KindPlan.Tier())
	fmt.Fprintf(&b, "| `/agent review` | reviews the change: plan diff, policy results, suggestions | %s |\n", wire.KindReview.Tier())
	b.WriteString("| `/agent cancel` | cancels the active job of this pull request or issue | |\n")
	b.WriteString("| `/agent help` | shows this message | |\n\n")
	if c.Remediate.Enabled {
		fmt.Fprintf(&b, "Label an issue %s to have the agent open a pull request that fixes it. ", inlineCode(c.Remediate.Label))
	} else {
		fmt.Fprintf(&b, "Remediation of issues labelled %s is off in this repository (`remediate.enabled`). ", inlineCode(c.Remediate.Label))
	}
	b.WriteString("The agent never applies or merges: every change goes through review.\n\n")

	if h.ConfigSource == "" {
		fmt.Fprintf(&b, "**Settings** (no `%s` on the default branch: defaults apply)\n\n", config.RepoConfigPath)
	} else {
		fmt.Fprintf(&b, "**Settings** (from %s)\n\n", inlineCode(h.ConfigSource))
	}
	fmt.Fprintf(&b, "- commands need **%s** permission or higher\n", c.Commands.MinPermission)
	fmt.Fprintf(&b, "- workflow: %s, dispatched on the default branch\n", inlineCode(".github/workflows/"+c.Workflow))
	switch c.Forks {
	case config.ForksDeny:
		b.WriteString("- fork pull requests: not handled (`forks: deny`)\n")
	default:
		b.WriteString("- fork pull requests: static checks only, no terraform init/plan, secrets or model; `/agent fix` offers fixes that need no model as review suggestions, never a push (`forks: static`)\n")
	}
	if c.Fix.PushNeedsReview {
		b.WriteString("- a fix that needs review is pushed, marked in its commit (`fix.push_needs_review`)\n")
	} else {
		b.WriteString("- a fix that needs review is posted as a diff, not pushed (`fix.push_needs_review`)\n")
	}
	if c.Review.Enabled {
		fmt.Fprintf(&b, "- automatic review: on, for pull requests that touch %s\n", codeList(c.Review.Paths))
	} else {
		b.WriteString("- automatic review: off (`review.enabled`)\n")
	}
	if len(c.Autofix.Checks) > 0 && c.Autofix.MaxAttempts > 0 {
		fmt.Fprintf(&b, "- automatic fix: on, when %s fails, up to %s per pull request\n",
			codeList(c.Autofix.Checks), plural(c.Autofix.MaxAttempts, "attempt"))
	} else {
		b.WriteString("- automatic fix: off (`autofix.checks`)\n")
	}
	model := c.Agent.Model
	if model == "" {
		model = "default"
	}
	fmt.Fprintf(&b, "- agent: %s model %s, at most %d turns, %d plan runs, %s; plans that delete or replace resources are %s\n",
		inlineCode(c.Agent.Provider), inlineCode(model), c.Agent.MaxTurns, c.Agent.MaxPlanRuns, c.Agent.Timeout,
		map[bool]string{true: "allowed (`agent.allow_destroy`)", false: "refused"}[c.Agent.AllowDestroy])
	fmt.Fprintf(&b, "- the agent may edit %s and never %s\n", codeList(c.Agent.AllowPaths), codeList(c.Agent.EffectiveDenyPaths()))
	return truncate(b.String(), maxComment)
}

// codeList renders a list of untrusted strings as inline code, comma separated.
func codeList(items []string) string {
	if len(items) == 0 {
		return "nothing"
	}
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = inlineCode(s)
	}
	return strings.Join(out, ", ")
}

// maxComment is GitHub's limit on an issue comment body.
const maxComment = 65536
