package handlers

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/store"
)

// Installation records installation and installation_repositories events.
// For installation events Repos lists the repositories the payload names (all
// of them on created, when the selection is "selected"); for
// installation_repositories it lists the ones added or removed, as Action says.
// UpdatedAt is left for the recorder to stamp: the payload has no event time.
type Installation struct {
	Recorder InstallationRecorder
}

var _ githubapp.EventHandler = (*Installation)(nil)

// Handles implements githubapp.EventHandler.
func (h *Installation) Handles() []string {
	return []string{"installation", "installation_repositories"}
}

// Handle implements githubapp.EventHandler.
func (h *Installation) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var (
		in     store.Installation
		inst   *github.Installation
		sender *github.User
	)
	switch eventType {
	case "installation":
		var ev github.InstallationEvent
		if err := decode(eventType, deliveryID, payload, &ev); err != nil {
			return err
		}
		inst, sender, in.Action = ev.GetInstallation(), ev.GetSender(), ev.GetAction()
		in.Repos = repoNames(ev.Repositories)
	case "installation_repositories":
		var ev github.InstallationRepositoriesEvent
		if err := decode(eventType, deliveryID, payload, &ev); err != nil {
			return err
		}
		inst, sender, in.Action = ev.GetInstallation(), ev.GetSender(), ev.GetAction()
		switch in.Action {
		case "added":
			in.Repos = repoNames(ev.RepositoriesAdded)
		case "removed":
			in.Repos = repoNames(ev.RepositoriesRemoved)
		}
	default:
		return fmt.Errorf("installation handler got a %s event", eventType)
	}
	ctx, logger := githubapp.PrepareRepoContext(ctx, inst.GetID(), nil)
	ctx, _ = withFields(ctx, logger, in.Action, sender)
	if inst.GetID() <= 0 {
		return fmt.Errorf("%s event %s has no installation id", eventType, deliveryID)
	}
	in.ID = inst.GetID()
	in.Account = inst.GetAccount().GetLogin()
	zerolog.Ctx(ctx).Info().Str(LogKeyAccount, in.Account).Strs(LogKeyRepos, in.Repos).Msg("recording installation")
	if err := h.Recorder.RecordInstallation(ctx, in); err != nil {
		return fmt.Errorf("recording installation %d (%s %s): %w", in.ID, eventType, in.Action, err)
	}
	return nil
}

// repoNames returns the owner/name of each repository.
func repoNames(repos []*github.Repository) []string {
	var names []string
	for _, r := range repos {
		if n := r.GetFullName(); n != "" {
			names = append(names, n)
		}
	}
	return names
}
