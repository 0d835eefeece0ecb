package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/store"
)

// HookDeliveries is the part of go-github's AppsService redelivery uses; the
// App's JWT-authenticated client provides it.
type HookDeliveries interface {
	ListHookDeliveries(ctx context.Context, opts *github.ListCursorOptions) ([]*github.HookDelivery, *github.Response, error)
	RedeliverHookDelivery(ctx context.Context, deliveryID int64) (*github.HookDelivery, *github.Response, error)
}

// Log keys of the redelivery.
const (
	logKeyHookDelivery = "hook_delivery_id"
	logKeyRedeliveries = "redeliveries"
)

// maxDeliveryPages bounds one look at GitHub's delivery log (100 per page).
const maxDeliveryPages = 50

// Redeliver asks GitHub to send again the webhooks it could not deliver since
// since: while the server was down, unreachable, or answering 5xx. A delivery
// is redelivered when none of its attempts was answered 2xx or 4xx (a 4xx is
// the server refusing it for good: a bad signature, a malformed payload) and
// the store has not handled it (it does not know its id, or it failed for
// good and runs again when it comes back). It returns how many it asked for.
func Redeliver(ctx context.Context, hooks HookDeliveries, st store.Store, since time.Time) (int, error) {
	failed, err := failedDeliveries(ctx, hooks, since)
	if err != nil {
		return 0, err
	}
	if len(failed) == 0 {
		return 0, nil
	}
	guids := make([]string, 0, len(failed))
	for guid := range failed {
		guids = append(guids, guid)
	}
	known, err := st.HandledDeliveries(ctx, guids)
	if err != nil {
		return 0, err
	}
	logger := zerolog.Ctx(ctx)
	asked := 0
	for _, guid := range guids {
		if known[guid] {
			continue // an attempt reached us after all; it is recorded and ours to run
		}
		if _, _, err := hooks.RedeliverHookDelivery(ctx, failed[guid]); err != nil {
			// go-github reports GitHub's 202 Accepted as an error.
			var accepted *github.AcceptedError
			if !errors.As(err, &accepted) {
				return asked, fmt.Errorf("asking GitHub to redeliver %s: %w", guid, err)
			}
		}
		asked++
		logger.Info().Str(githubapp.LogKeyDeliveryID, guid).Int64(logKeyHookDelivery, failed[guid]).Msg("Asked GitHub to redeliver a webhook it could not deliver")
	}
	return asked, nil
}

// failedDeliveries reads GitHub's delivery log, newest first, back to since,
// and returns the deliveries no attempt of which got a final answer, each
// with the id of its newest attempt (what a redelivery is asked for).
func failedDeliveries(ctx context.Context, hooks HookDeliveries, since time.Time) (map[string]int64, error) {
	answered := map[string]bool{}
	newest := map[string]int64{}
	opts := &github.ListCursorOptions{PerPage: 100}
	for page := 0; page < maxDeliveryPages; page++ {
		ds, resp, err := hooks.ListHookDeliveries(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the App's webhook deliveries: %w", err)
		}
		for _, d := range ds {
			if d.GetDeliveredAt().Time.Before(since) {
				return pending(answered, newest), nil
			}
			guid := d.GetGUID()
			if guid == "" {
				continue
			}
			if _, seen := newest[guid]; !seen {
				newest[guid] = d.GetID()
			}
			if code := d.GetStatusCode(); code >= 200 && code < 500 {
				answered[guid] = true
			}
		}
		if resp == nil || resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	return pending(answered, newest), nil
}

func pending(answered map[string]bool, newest map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for guid, id := range newest {
		if !answered[guid] {
			out[guid] = id
		}
	}
	return out
}

// RedeliveryOptions times the redelivery passes.
type RedeliveryOptions struct {
	// Startup is how far back the first pass goes (default 6 h): a server that
	// was down missed everything since it stopped.
	Startup time.Duration
	// Window is how far back the later passes go (default 30 min).
	Window time.Duration
}

// Redelivery asks GitHub, pass after pass, for the webhooks it could not
// deliver. Run its Pass periodically on one replica (see package exclusive).
type Redelivery struct {
	hooks  HookDeliveries
	store  store.Store
	opts   RedeliveryOptions
	passed bool
}

// NewRedelivery returns a Redelivery reading GitHub's log through hooks.
func NewRedelivery(hooks HookDeliveries, st store.Store, o RedeliveryOptions) *Redelivery {
	if o.Startup <= 0 {
		o.Startup = 6 * time.Hour
	}
	if o.Window <= 0 {
		o.Window = 30 * time.Minute
	}
	return &Redelivery{hooks: hooks, store: st, opts: o}
}

// Pass looks back the start-up window on its first success, then the short
// window, and asks for what GitHub could not deliver.
func (r *Redelivery) Pass(ctx context.Context) error {
	window := r.opts.Window
	if !r.passed {
		window = r.opts.Startup
	}
	n, err := Redeliver(ctx, r.hooks, r.store, time.Now().Add(-window))
	if err != nil {
		return fmt.Errorf("looking for webhooks GitHub could not deliver: %w", err)
	}
	r.passed = true
	if n > 0 {
		zerolog.Ctx(ctx).Info().Int(logKeyRedeliveries, n).Msg("Asked GitHub to redeliver webhooks")
	}
	return nil
}
