package jobs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

// Facts are what the job layer learned about a task beyond its payload, and
// who "this App" is. Decide reads them; it never fetches them.
type Facts struct {
	// AppID and AppSlug identify this App, which never triggers itself.
	AppID   int64
	AppSlug string
	// PRClosed reports a pull request that is no longer open.
	PRClosed bool
	// ReviewPathsTouched reports whether the pull request changes a file that
	// matches review.paths (automatic review only).
	ReviewPathsTouched bool
	// AutofixAttempts counts the automatic fix jobs already created for the
	// pull request and the other commits this App pushed to it.
	AutofixAttempts int
	// HeadProtection names what protects the pull request's head branch
	// ("branch protection", "a repository ruleset (...)"), empty when nothing
	// does. Asked only for jobs that would push.
	HeadProtection string
}

// Decision is the policy verdict on a task.
type Decision struct {
	Allowed bool
	Tier    wire.Tier
	// Reason explains a denial to a human; empty when allowed.
	Reason string
	// Static marks a fork job: no terraform init/plan, no secrets, no model.
	Static bool
	// Capped marks an automatic fix refused because the pull request used its
	// attempts up: answered once per pull request, not per failing check.
	Capped bool
	// Quiet marks a denial that is logged but not answered on GitHub: the actor
	// is a bot or this App, or an automatic trigger the repository has not
	// enabled. Answering those would be noise or a reply loop.
	Quiet bool
}

// Decide is the pure policy decision: no I/O, everything it needs is in its
// arguments. actorPerm is the actor's permission on the repository; it matters
// for comment commands and labels, which are human authorisations.
//
// Bots never trigger anything by command, label or pull request: a bot cannot
// authorise a job, and refusing them also breaks reply loops between apps. A
// failing check is the exception: its sender is the CI App that ran it by
// nature (github-actions[bot]), and the authorisation is the repository's
// autofix opt-in, capped per pull request. This App never triggers itself. Automatic
// triggers (review on pull request events, autofix on failing checks) need the
// repository configuration, read from the default branch, to opt in.
func Decide(t Task, cfg config.RepoConfig, actorPerm config.Permission, facts Facts) Decision {
	if d, refused := refuseActor(t, facts); refused {
		return d
	}
	switch t.Action {
	case ActionHelp, ActionUnknown:
		return Decision{Allowed: true}
	case ActionCancel:
		if t.Source != SourceIssueComment && t.Source != SourceReviewComment {
			return deny("cancel is a comment command")
		}
		if d, ok := needPermission(t, cfg, actorPerm, "`/agent cancel`"); !ok {
			return d
		}
		return Decision{Allowed: true}
	case ActionRun:
		return decideRun(t, cfg, actorPerm, facts)
	}
	return deny(fmt.Sprintf("unknown action %q", t.Action))
}

// decideRun decides a task that would create a job.
func decideRun(t Task, cfg config.RepoConfig, actorPerm config.Permission, facts Facts) Decision {
	if _, err := wire.ParseKind(string(t.Kind)); err != nil {
		return deny(fmt.Sprintf("unknown job kind %q", t.Kind))
	}
	switch t.Source {
	case SourceIssueComment, SourceReviewComment:
		if t.Kind == wire.KindRemediate {
			return deny(fmt.Sprintf("remediation is started by labelling an issue %q", cfg.Remediate.Label))
		}
		what := fmt.Sprintf("`/agent %s`", t.Kind)
		if d, ok := needPermission(t, cfg, actorPerm, what); !ok {
			return d
		}
		if !t.IsPR {
			return deny(fmt.Sprintf("%s works on pull requests; to have an issue fixed, label it %q", what, cfg.Remediate.Label))
		}
		if facts.PRClosed {
			return deny(fmt.Sprintf("pull request #%d is closed", t.Number))
		}
	case SourceIssues:
		if t.Kind != wire.KindRemediate {
			return deny(fmt.Sprintf("a label starts remediation, not %s", t.Kind))
		}
		if t.Label != cfg.Remediate.Label {
			return quiet(fmt.Sprintf("label %q is not the remediation label %q", t.Label, cfg.Remediate.Label))
		}
		if !cfg.Remediate.Enabled {
			return deny(fmt.Sprintf("remediation is off in this repository: set `remediate.enabled: true` in %s on the default branch to have labelled issues fixed", config.RepoConfigPath))
		}
		if t.IsPR {
			return deny(fmt.Sprintf("the %q label works on issues, not pull requests", cfg.Remediate.Label))
		}
		if d, ok := needPermission(t, cfg, actorPerm, fmt.Sprintf("the %q label", cfg.Remediate.Label)); !ok {
			return d
		}
	case SourcePullRequest:
		if t.Kind != wire.KindReview {
			return deny(fmt.Sprintf("pull request events start reviews, not %s", t.Kind))
		}
		if !cfg.Review.Enabled {
			return quiet("automatic review is off (review.enabled)")
		}
		if !facts.ReviewPathsTouched {
			return quiet("the pull request touches no file in review.paths")
		}
		if facts.PRClosed {
			return quiet(fmt.Sprintf("pull request #%d is closed", t.Number))
		}
	case SourceCheckRun, SourceCheckSuite:
		if t.Kind != wire.KindFix {
			return deny(fmt.Sprintf("failing checks start fixes, not %s", t.Kind))
		}
		if wire.IsOwnCheck(t.CheckName) {
			return quiet(fmt.Sprintf("%s is infra-agent's own check", t.CheckName))
		}
		if !slices.Contains(cfg.Autofix.Checks, t.CheckName) {
			return quiet(fmt.Sprintf("check %q is not in autofix.checks", t.CheckName))
		}
		if facts.PRClosed {
			return quiet(fmt.Sprintf("pull request #%d is closed", t.Number))
		}
		if facts.AutofixAttempts >= cfg.Autofix.MaxAttempts {
			d := deny(fmt.Sprintf("the failing check %q was not fixed automatically: %d fix attempts were already made on this pull request (automatic fixes and infra-agent's pushes; autofix.max_attempts is %d); comment `/agent fix` to try again",
				t.CheckName, facts.AutofixAttempts, cfg.Autofix.MaxAttempts))
			d.Capped = true
			return d
		}
	default:
		return deny(fmt.Sprintf("unknown trigger source %q", t.Source))
	}
	static := false
	if t.Fork {
		if cfg.Forks == config.ForksDeny {
			d := deny("pull requests from forks are not handled in this repository (forks: deny)")
			// Said once, when the pull request opens: not again on every push.
			d.Quiet = t.Source == SourcePullRequest && t.Event == "synchronize"
			return d
		}
		if t.Kind.Writes() && (t.Kind != wire.KindFix || t.Automatic()) {
			return deny(fmt.Sprintf("infra-agent cannot %s a pull request from a fork automatically: it never pushes to or gets credentials for a fork's branch. Comment `/agent fix` to get the fix as review suggestions", t.Kind))
		}
		if t.Kind.Writes() {
			// Never a push to a fork: the fix is offered as review
			// suggestions, made without a model, with a token that cannot
			// write contents.
			return Decision{Allowed: true, Tier: wire.TierRecommend, Static: true}
		}
		static = true
	}
	if d, refused := refuseHead(t, facts); refused {
		return d
	}
	return Decision{Allowed: true, Tier: t.Kind.Tier(), Static: static}
}

// refuseHead refuses a job that would push to the pull request's head branch
// when that branch is the default branch or a protected one: changes reach
// those only through review, never through the agent.
func refuseHead(t Task, facts Facts) (Decision, bool) {
	if !t.Kind.Writes() || !t.IsPR || t.Fork {
		return Decision{}, false
	}
	// A branch name may hold a backtick: it must not end the code span.
	head := strings.ReplaceAll(t.HeadRef, "`", "'")
	switch {
	case t.HeadRef != "" && t.HeadRef == t.DefaultBranch:
		return deny(fmt.Sprintf("infra-agent does not push to `%s`, the repository's default branch; open the pull request from another branch", head)), true
	case facts.HeadProtection != "":
		return deny(fmt.Sprintf("infra-agent does not push to `%s`: the branch is protected (%s); open the pull request from an unprotected branch", head, facts.HeadProtection)), true
	}
	return Decision{}, false
}

// needPermission checks the actor's permission against commands.min_permission.
func needPermission(t Task, cfg config.RepoConfig, actorPerm config.Permission, what string) (Decision, bool) {
	min := cfg.Commands.MinPermission
	if min == "" {
		min = config.PermissionWrite
	}
	if actorPerm.AtLeast(min) {
		return Decision{}, true
	}
	have := "no"
	if actorPerm != "" && actorPerm != config.PermissionNone {
		have = string(actorPerm)
	}
	return deny(fmt.Sprintf("@%s has %s permission on %s/%s; %s needs %s or higher (commands.min_permission)",
		t.Actor, have, t.Owner, t.Repo, what, min)), false
}

// refuseActor refuses, quietly, a task caused by this App or another bot. It
// needs no configuration, so the job layer also runs it before any API call.
func refuseActor(t Task, f Facts) (Decision, bool) {
	if isSelf(t, f) {
		return quiet("the event was caused by this App"), true
	}
	if isBot(t) && t.Source != SourceCheckRun && t.Source != SourceCheckSuite {
		return quiet(fmt.Sprintf("%s is a bot; bots cannot trigger infra-agent", t.Actor)), true
	}
	return Decision{}, false
}

// isSelf reports whether this App caused the event.
func isSelf(t Task, f Facts) bool {
	if f.AppID != 0 && t.ViaApp == f.AppID {
		return true
	}
	return f.AppSlug != "" && strings.EqualFold(t.Actor, f.AppSlug+"[bot]")
}

// isBot reports whether the actor is a bot or acted through an App.
func isBot(t Task) bool {
	return t.ActorType == "Bot" || t.ViaApp != 0 || strings.HasSuffix(strings.ToLower(t.Actor), "[bot]")
}

// Automatic reports whether the task comes from an event nobody asked infra-agent
// to act on (a pull request update, a failing check).
func (t Task) Automatic() bool {
	return t.Source == SourcePullRequest || t.Source == SourceCheckRun || t.Source == SourceCheckSuite
}

func deny(reason string) Decision { return Decision{Reason: reason} }

func quiet(reason string) Decision { return Decision{Reason: reason, Quiet: true} }
