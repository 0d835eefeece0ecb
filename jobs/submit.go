package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/store"
)

// Submit decides a task and acts on it: it reads the repository configuration
// from the default branch, fills in what the payload lacked, checks the
// actor's permission, and then creates the job (check run, reaction, workflow
// dispatch), cancels the active job, or replies. A denial is answered on the
// pull request or issue, except for bots and automatic triggers the repository
// has not enabled, which are only logged.
//
// The same trigger submitted twice creates one job: the second call finds the
// job by its trigger key and does nothing.
func (s *Service) Submit(ctx context.Context, t Task) error {
	if err := validateTask(t); err != nil {
		return err
	}
	if t.Automatic() {
		t.IsPR = true // pull request and check events are always about pull requests
	}
	logger := zerolog.Ctx(ctx).With().Str(logKeyTaskSource, string(t.Source)).Str(logKeyTaskAction, string(t.Action)).
		Str("task_kind", string(t.Kind)).Int(logKeyNumber, t.Number).Str(logKeyActor, t.Actor).Logger()
	ctx = logger.WithContext(ctx)

	if d, refused := refuseActor(t, s.facts()); refused {
		s.metrics.decision(t.Source, d)
		logger.Debug().Str(logKeyReason, d.Reason).Msg("task ignored")
		return nil
	}
	client, err := s.clients.NewInstallationClient(t.InstallationID)
	if err != nil {
		return fmt.Errorf("creating client for installation %d: %w", t.InstallationID, err)
	}
	if t.DefaultBranch == "" {
		repo, _, err := client.Repositories.Get(ctx, t.Owner, t.Repo)
		if err != nil {
			return fmt.Errorf("getting repository %s/%s: %w", t.Owner, t.Repo, err)
		}
		t.DefaultBranch = repo.GetDefaultBranch()
	}
	settings, err := s.loadConfig(ctx, client, t.Owner, t.Repo, t.DefaultBranch)
	var problem *configProblem
	if errors.As(err, &problem) {
		logger.Warn().Err(err).Msg("repository configuration is invalid; nothing runs")
		if !answersConfigProblem(t) {
			return nil
		}
		body := checks.JobConfigError(problem.source, problem.err.File, problem.err.Line, problem.err.Msg)
		return comment(ctx, client, t.Owner, t.Repo, t.Number, body)
	}
	if err != nil {
		return err
	}

	facts := s.facts()
	perm := config.PermissionNone
	if needsPermission(t, settings.cfg) {
		if perm, err = getPermission(ctx, client, t.Owner, t.Repo, t.Actor); err != nil {
			return err
		}
	}
	if t.Action == ActionRun {
		if t, facts, err = s.gatherFacts(ctx, client, t, settings.cfg, facts); err != nil {
			return err
		}
	}
	d := Decide(t, settings.cfg, perm, facts)
	s.metrics.decision(t.Source, d)
	if !d.Allowed {
		ev := logger.Info()
		if d.Quiet {
			ev = logger.Debug()
		}
		ev.Str(logKeyReason, d.Reason).Str(logKeyPermission, string(perm)).Bool(logKeyQuiet, d.Quiet).Msg("task denied")
		if d.Quiet {
			return nil
		}
		return comment(ctx, client, t.Owner, t.Repo, t.Number, checks.JobDenied(t.Actor, describeTrigger(t), d.Reason))
	}
	switch t.Action {
	case ActionHelp, ActionUnknown:
		h := checks.HelpInfo{Actor: t.Actor, Config: settings.cfg, ConfigSource: settings.source}
		if t.Action == ActionUnknown {
			h.Unknown = t.Command
			if h.Unknown == "" {
				h.Unknown = "?"
			}
		}
		return comment(ctx, client, t.Owner, t.Repo, t.Number, checks.JobHelp(h))
	case ActionCancel:
		return s.cancel(ctx, client, t)
	}
	return s.createJob(ctx, client, t, settings.cfg, d)
}

// answersConfigProblem reports whether an invalid configuration is answered
// on the trigger. Commands and pull request events are; failing checks are
// not (every failing check in the repository would get the same comment), nor
// are labels that are not infra-agent's (without a configuration the
// remediation label is unknown, and labels are added all day).
func answersConfigProblem(t Task) bool {
	switch t.Source {
	case SourceCheckRun, SourceCheckSuite:
		return false
	case SourceIssues:
		return strings.Contains(strings.ToLower(t.Label), "infra-agent")
	}
	return true
}

// validateTask refuses a task no handler should build.
func validateTask(t Task) error {
	switch {
	case t.InstallationID <= 0:
		return fmt.Errorf("submitting task: installation id %d is not positive", t.InstallationID)
	case t.Owner == "" || t.Repo == "":
		return errors.New("submitting task: no repository")
	case t.Number <= 0:
		return fmt.Errorf("submitting task for %s/%s: pull request or issue number %d is not positive", t.Owner, t.Repo, t.Number)
	}
	return nil
}

// needsPermission reports whether the decision depends on the actor's
// permission: comment commands (help aside) and the remediation label are
// human authorisations; automatic triggers are authorised by the
// configuration, and other labels are not ours to look at.
func needsPermission(t Task, cfg config.RepoConfig) bool {
	switch t.Source {
	case SourceIssueComment:
		return t.Action == ActionRun || t.Action == ActionCancel
	case SourceIssues:
		return t.Action == ActionRun && t.Label == cfg.Remediate.Label
	}
	return false
}

// gatherFacts fills in the pull request facts the payload lacked and computes
// what automatic triggers depend on, reading only what the decision needs.
func (s *Service) gatherFacts(ctx context.Context, client *github.Client, t Task, cfg config.RepoConfig, f Facts) (Task, Facts, error) {
	if t.IsPR && t.Source != SourcePullRequest {
		// Comments carry no head, and check events list only same-repository
		// pull requests' heads: ask for the pull request itself.
		pr, err := getPullRequest(ctx, client, t.Owner, t.Repo, t.Number)
		if err != nil {
			return t, f, err
		}
		t.HeadSHA, t.HeadRef, t.HeadRepo, t.BaseRef, t.Fork = pr.headSHA, pr.headRef, pr.headRepo, pr.baseRef, pr.fork
		f.PRClosed = pr.closed
	}
	switch t.Source {
	case SourcePullRequest:
		if cfg.Review.Enabled {
			touched, err := touchesPaths(ctx, client, t.Owner, t.Repo, t.Number, cfg.Review.Paths)
			if err != nil {
				return t, f, err
			}
			f.ReviewPathsTouched = touched
		}
	case SourceCheckRun, SourceCheckSuite:
		if slices.Contains(cfg.Autofix.Checks, t.CheckName) {
			n, err := s.autofixAttempts(ctx, t)
			if err != nil {
				return t, f, err
			}
			f.AutofixAttempts = n
		}
	}
	return t, f, nil
}

// autofixAttempts counts the automatic fix jobs of the task's pull request.
func (s *Service) autofixAttempts(ctx context.Context, t Task) (int, error) {
	total := 0
	for _, src := range []Source{SourceCheckRun, SourceCheckSuite} {
		n, err := s.store.CountJobs(ctx, store.JobFilter{
			InstallationID: t.InstallationID, Owner: t.Owner, Repo: t.Repo, Number: t.Number,
			Kind: t.Kind, TriggerSource: string(src),
		})
		if err != nil {
			return 0, fmt.Errorf("counting automatic fixes of %s/%s#%d: %w", t.Owner, t.Repo, t.Number, err)
		}
		total += n
	}
	return total, nil
}

// describeTrigger names a task's trigger for a denial reply.
func describeTrigger(t Task) string {
	switch t.Source {
	case SourceIssueComment:
		if t.Action == ActionCancel {
			return "`/agent cancel`"
		}
		return fmt.Sprintf("`/agent %s`", t.Kind)
	case SourceIssues:
		return "the remediation"
	case SourcePullRequest:
		return "the automatic review"
	case SourceCheckRun, SourceCheckSuite:
		return "an automatic fix"
	}
	return string(t.Source)
}

// triggerKey identifies a trigger, so that the same one never creates two
// jobs. Comment, check run and check suite ids are unique across GitHub; pull
// request and issue numbers only within a repository. A label can be removed
// and added again, so each labelling (delivery) is its own trigger.
func triggerKey(t Task) string {
	switch t.Source {
	case SourceIssueComment:
		return fmt.Sprintf("issue_comment:%d", t.SourceID)
	case SourcePullRequest:
		return fmt.Sprintf("pull_request:%s/%s#%d:%s", t.Owner, t.Repo, t.Number, t.HeadSHA)
	case SourceCheckRun, SourceCheckSuite:
		return fmt.Sprintf("%s:%d:%d", t.Source, t.SourceID, t.Number)
	case SourceIssues:
		return fmt.Sprintf("issues:%s/%s#%d:%s:%s", t.Owner, t.Repo, t.Number, t.Label, t.DeliveryID)
	}
	return fmt.Sprintf("%s:%d:%s", t.Source, t.SourceID, t.DeliveryID)
}
