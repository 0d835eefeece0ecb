package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/jobs/ghops"
	"github.com/infra-agent/infra-agent/store"
)

// Submit decides a task and acts on it: it reads the repository configuration
// from the default branch, fills in what the payload lacked, checks the
// actor's permission, and then creates the job (check run, reaction, workflow
// dispatch), cancels the active job, or replies. A denial is answered on the
// pull request or issue, except for bots and automatic triggers the repository
// has not enabled, which are only logged.
//
// Every step is safe to repeat: the same trigger submitted again finds its
// job and carries on from the step that did not finish, and a reply is posted
// once.
func (s *Service) Submit(ctx context.Context, t Task) error {
	if err := validateTask(t); err != nil {
		return err
	}
	if t.Automatic() {
		t.IsPR = true // pull request and check events are always about pull requests
	}
	logger := zerolog.Ctx(ctx).With().Str(logKeyTaskSource, string(t.Source)).Str(logKeyTaskAction, string(t.Action)).
		Str(logKeyTaskKind, string(t.Kind)).Int(logKeyNumber, t.Number).Str(logKeyActor, t.Actor).Logger()
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
		return s.reply(ctx, client, t, "config:"+triggerKey(t), body)
	}
	if err != nil {
		return err
	}
	return s.decide(ctx, client, t, settings)
}

// decide gathers what the decision needs, decides, and acts on the verdict.
func (s *Service) decide(ctx context.Context, client *github.Client, t Task, settings repoSettings) error {
	logger := zerolog.Ctx(ctx)
	facts := s.facts()
	perm := config.PermissionNone
	var err error
	if needsPermission(t, settings.cfg) {
		if perm, err = ghops.Permission(ctx, client, t.Owner, t.Repo, t.Actor); err != nil {
			return err
		}
	}
	if t.Action == ActionRun {
		if t, facts, err = s.gatherFacts(ctx, client, t, settings.cfg, facts); err != nil {
			return err
		}
	}
	d := Decide(t, settings.cfg, perm, facts)
	if d.Allowed && pushesToHead(t) {
		// Asked only once everything else allows the job: a denial needs no
		// more calls.
		if facts.HeadProtection, err = s.headProtection(ctx, client, t); err != nil {
			return err
		}
		d = Decide(t, settings.cfg, perm, facts)
	}
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
		if d.Capped {
			return s.capReached(ctx, client, t, facts.AutofixAttempts, settings.cfg)
		}
		return s.deny(ctx, client, t, d.Reason)
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
		return s.reply(ctx, client, t, "help:"+triggerKey(t), checks.JobHelp(h))
	case ActionCancel:
		return s.cancel(ctx, client, t)
	}
	return s.createJob(ctx, client, t, settings.cfg, d)
}

// deny answers a refused trigger with the reason.
func (s *Service) deny(ctx context.Context, client *github.Client, t Task, reason string) error {
	return s.reply(ctx, client, t, "denied:"+triggerKey(t), checks.JobDenied(t.Actor, describeTrigger(t), reason))
}

// capReached says, once per pull request whatever check failed, that the
// automatic fixes stopped and a human must look.
func (s *Service) capReached(ctx context.Context, client *github.Client, t Task, attempts int, cfg config.RepoConfig) error {
	key := fmt.Sprintf("autofix-cap:%d#%d", t.RepoID, t.Number)
	return s.reply(ctx, client, t, key, checks.AutofixCapComment(t.CheckName, attempts, cfg.Autofix.MaxAttempts))
}

// reply posts body on the task's pull request or issue once for key.
func (s *Service) reply(ctx context.Context, client *github.Client, t Task, key, body string) error {
	err := s.poster.Reply(ctx, client, ghops.Target{RepoID: t.RepoID, Owner: t.Owner, Repo: t.Repo, Number: t.Number}, key, body)
	if errors.Is(err, ghops.ErrInFlight) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
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
	case t.RepoID <= 0:
		return fmt.Errorf("submitting task: repository id %d is not positive", t.RepoID)
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
// configuration, and other labels (or the remediation label where
// remediation is off) are not ours to look at.
func needsPermission(t Task, cfg config.RepoConfig) bool {
	switch t.Source {
	case SourceIssueComment, SourceReviewComment:
		return t.Action == ActionRun || t.Action == ActionCancel
	case SourceIssues:
		return t.Action == ActionRun && t.Label == cfg.Remediate.Label && cfg.Remediate.Enabled
	}
	return false
}

// gatherFacts fills in the pull request facts the payload lacked and computes
// what automatic triggers and pushing jobs depend on, reading only what the
// decision needs.
func (s *Service) gatherFacts(ctx context.Context, client *github.Client, t Task, cfg config.RepoConfig, f Facts) (Task, Facts, error) {
	if t.IsPR && t.Source != SourcePullRequest {
		// Comments carry no head, and check events list only same-repository
		// pull requests' heads: ask for the pull request itself.
		pr, err := ghops.GetPullRequest(ctx, client, t.Owner, t.Repo, t.Number)
		if err != nil {
			return t, f, err
		}
		t.HeadSHA, t.HeadRef, t.HeadRepo, t.BaseRef, t.Fork = pr.HeadSHA, pr.HeadRef, pr.HeadRepo, pr.BaseRef, pr.Fork
		f.PRClosed = pr.Closed
	}
	switch t.Source {
	case SourcePullRequest:
		touched, err := s.scanPullRequest(ctx, client, t, cfg)
		if err != nil {
			return t, f, err
		}
		f.ReviewPathsTouched = touched
	case SourceCheckRun, SourceCheckSuite:
		if slices.Contains(cfg.Autofix.Checks, t.CheckName) {
			n, err := s.autofixAttempts(ctx, t)
			if err != nil {
				return t, f, err
			}
			pushes, err := s.otherPushes(ctx, client, t)
			if err != nil {
				return t, f, err
			}
			f.AutofixAttempts, t.pushes = n+pushes, pushes
		}
	}
	return t, f, nil
}

// pushesToHead reports whether the task's job would push to the pull
// request's own head branch (not a fork's: those are refused already).
func pushesToHead(t Task) bool {
	return t.Action == ActionRun && t.Kind.Writes() && t.IsPR && !t.Fork && t.HeadRef != "" && t.HeadRef != t.DefaultBranch
}

// headProtection says what protects the task's head branch, "" when nothing.
func (s *Service) headProtection(ctx context.Context, client *github.Client, t Task) (string, error) {
	protected, by, err := ghops.BranchProtected(ctx, client, t.Owner, t.Repo, t.HeadRef)
	if err != nil || !protected {
		return "", err
	}
	return by, nil
}

// autofixSources are the trigger sources of automatic fixes.
var autofixSources = [...]string{string(SourceCheckRun), string(SourceCheckSuite)}

// autofixAttempts counts the automatic fix jobs of the task's pull request.
func (s *Service) autofixAttempts(ctx context.Context, t Task) (int, error) {
	total := 0
	for _, src := range autofixSources {
		n, err := s.store.CountJobs(ctx, store.JobFilter{RepoID: t.RepoID, Number: t.Number, Kind: t.Kind, TriggerSource: src})
		if err != nil {
			return 0, fmt.Errorf("counting automatic fixes of %s/%s#%d: %w", t.Owner, t.Repo, t.Number, err)
		}
		total += n
	}
	return total, nil
}

// jobTrailer is the commit trailer that names the job that made a commit.
const jobTrailer = "Infra-Agent-Job:"

// otherPushes counts the commits this App pushed to the task's pull request
// for jobs that were not automatic fixes (those are counted as jobs): each is
// a change CI runs on again, so it counts as an attempt, and a loop of fixes
// and failing checks stops at autofix.max_attempts whoever asked for them.
func (s *Service) otherPushes(ctx context.Context, client *github.Client, t Task) (int, error) {
	bot := s.appSlug + "[bot]"
	n := 0
	opts := &github.ListOptions{PerPage: 100}
	for {
		commits, resp, err := client.PullRequests.ListCommits(ctx, t.Owner, t.Repo, t.Number, opts)
		if err != nil {
			return 0, fmt.Errorf("listing the commits of %s/%s#%d: %w", t.Owner, t.Repo, t.Number, err)
		}
		for _, c := range commits {
			if !strings.EqualFold(c.GetAuthor().GetLogin(), bot) {
				continue
			}
			automatic, err := s.automaticJob(ctx, trailer(c.GetCommit().GetMessage(), jobTrailer))
			if err != nil {
				return 0, err
			}
			if !automatic {
				n++
			}
		}
		if resp.NextPage == 0 {
			return n, nil
		}
		opts.Page = resp.NextPage
	}
}

// automaticJob reports whether the job id names an automatic fix job.
func (s *Service) automaticJob(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	j, err := s.store.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading job %s: %w", id, err)
	}
	return j.TriggerSource == string(SourceCheckRun) || j.TriggerSource == string(SourceCheckSuite), nil
}

// trailer returns the value of a commit message's trailer ("Key:").
func trailer(message, key string) string {
	for _, line := range strings.Split(message, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// autofixLimit is the cap the store enforces when it creates the job of an
// automatic fix: counted in the creating transaction, so failing checks that
// arrive together cannot exceed it. This App's other pushes to the pull
// request use attempts up.
func autofixLimit(t Task, cfg config.RepoConfig) *store.JobLimit {
	if t.Source != SourceCheckRun && t.Source != SourceCheckSuite {
		return nil
	}
	return &store.JobLimit{Kind: t.Kind, Sources: autofixSources[:], Max: cfg.Autofix.MaxAttempts - t.pushes}
}

// describeTrigger names a task's trigger for a denial reply.
func describeTrigger(t Task) string {
	switch t.Source {
	case SourceIssueComment, SourceReviewComment:
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

// triggerKey identifies a trigger by what its payload itself names, so that
// the same trigger never creates two jobs however often its body is sent: the
// signature covers the body only, so a captured body resent under a new
// delivery id must not count as a new trigger. Comment, check run, check
// suite and issue ids are unique across GitHub; a label removed and added
// again updates the issue, so each labelling has its own updated_at.
func triggerKey(t Task) string {
	switch t.Source {
	case SourceIssueComment, SourceReviewComment:
		return fmt.Sprintf("%s:%d", t.Source, t.SourceID)
	case SourcePullRequest:
		return fmt.Sprintf("pull_request:%d#%d:%s", t.RepoID, t.Number, t.HeadSHA)
	case SourceCheckRun, SourceCheckSuite:
		return fmt.Sprintf("%s:%d:%d", t.Source, t.SourceID, t.Number)
	case SourceIssues:
		return fmt.Sprintf("issues:%d:%s:%s", t.SourceID, t.Label, t.TriggeredAt.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("%s:%d:%d#%d", t.Source, t.SourceID, t.RepoID, t.Number)
}
