// Package handlers holds one go-githubapp EventHandler per webhook event. A
// handler decodes the payload (go-github v62), prepares the logging context,
// turns the event into a jobs.Task (or a jobs.RunEvent, or a
// store.Installation) and hands it over. It reads no configuration and makes no
// policy decision beyond dropping what can never trigger anything: edited
// comments, comments by bots or apps, and this App's own checks.
package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/store"
)

// Submitter takes a normalized task: the job layer decides and acts on it.
type Submitter interface {
	Submit(ctx context.Context, t jobs.Task) error
}

// Reconciler closes the job a completed workflow run belonged to.
type Reconciler interface {
	ReconcileRun(ctx context.Context, r jobs.RunEvent) error
}

// InstallationRecorder records installation events.
type InstallationRecorder interface {
	RecordInstallation(ctx context.Context, in store.Installation) error
}

// Options are what the handlers need. jobs.Service implements all three
// interfaces.
type Options struct {
	// AppID is this App's id: its own check runs and suites never trigger a fix.
	AppID         int64
	Jobs          Submitter
	Runs          Reconciler
	Installations InstallationRecorder
}

// New returns every handler, ready for githubapp.NewEventDispatcher.
func New(o Options) ([]githubapp.EventHandler, error) {
	switch {
	case o.AppID <= 0:
		return nil, fmt.Errorf("creating handlers: app id %d is not positive", o.AppID)
	case o.Jobs == nil || o.Runs == nil || o.Installations == nil:
		return nil, errors.New("creating handlers: a submitter, a reconciler and an installation recorder are required")
	}
	return []githubapp.EventHandler{
		&IssueComment{Jobs: o.Jobs},
		&ReviewComment{Jobs: o.Jobs},
		&Issues{Jobs: o.Jobs},
		&PullRequest{Jobs: o.Jobs},
		&CheckRun{Jobs: o.Jobs, AppID: o.AppID},
		&CheckSuite{Jobs: o.Jobs, AppID: o.AppID},
		&WorkflowRun{Runs: o.Runs},
		&Installation{Recorder: o.Installations},
	}, nil
}

// decode unmarshals an event payload.
func decode(eventType, deliveryID string, payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("decoding %s payload of delivery %s: %w", eventType, deliveryID, err)
	}
	return nil
}

// newTask starts a task from the facts every repository event carries. An
// event that would trigger something but names no installation or repository
// is malformed: the job layer could not act on it.
func newTask(src jobs.Source, deliveryID string, inst *github.Installation, repo *github.Repository) (jobs.Task, error) {
	if inst.GetID() <= 0 {
		return jobs.Task{}, fmt.Errorf("%s event %s has no installation id", src, deliveryID)
	}
	if repo.GetOwner().GetLogin() == "" || repo.GetName() == "" {
		return jobs.Task{}, fmt.Errorf("%s event %s names no repository", src, deliveryID)
	}
	return jobs.Task{
		Source:         src,
		DeliveryID:     deliveryID,
		InstallationID: inst.GetID(),
		RepoID:         repo.GetID(),
		OwnerID:        repo.GetOwner().GetID(),
		Owner:          repo.GetOwner().GetLogin(),
		Repo:           repo.GetName(),
		DefaultBranch:  repo.GetDefaultBranch(),
		RepoPrivate:    repo.GetPrivate(),
	}, nil
}

// submit hands t to the job layer.
func submit(ctx context.Context, s Submitter, t jobs.Task) error {
	zerolog.Ctx(ctx).Info().Str(LogKeyTaskAction, string(t.Action)).Str(LogKeyTaskKind, string(t.Kind)).
		Int(githubapp.LogKeyPRNum, t.Number).Msg("submitting task")
	if err := s.Submit(ctx, t); err != nil {
		return fmt.Errorf("submitting %s task from %s %d: %w", t.Action, t.Source, t.SourceID, err)
	}
	return nil
}

// ignore logs why an event triggers nothing.
func ignore(ctx context.Context, reason string) error {
	zerolog.Ctx(ctx).Debug().Str(LogKeyReason, reason).Msg("event ignored")
	return nil
}

// withFields returns ctx with a logger that also carries the event's action
// and sender.
func withFields(ctx context.Context, logger zerolog.Logger, action string, sender *github.User) (context.Context, zerolog.Logger) {
	logger = logger.With().Str(LogKeyAction, action).Str(LogKeySender, sender.GetLogin()).Logger()
	return logger.WithContext(ctx), logger
}

// isBot reports whether u is a bot account. Only bots have "[bot]" logins,
// which users cannot register.
func isBot(u *github.User) bool {
	return u.GetType() == "Bot" || strings.HasSuffix(strings.ToLower(u.GetLogin()), "[bot]")
}

// isFork reports whether a pull request's head lives in another repository
// than its base. A missing head repository (a deleted fork) counts as a fork:
// it is not this repository.
func isFork(head, base *github.Repository) bool {
	if head == nil {
		return true
	}
	if head.GetID() != 0 && base.GetID() != 0 {
		return head.GetID() != base.GetID()
	}
	return !strings.EqualFold(head.GetFullName(), base.GetFullName())
}
