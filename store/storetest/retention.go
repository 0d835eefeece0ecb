package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
)

// testReplies: a reply is recorded once; the record says whether it was
// posted.
func testReplies(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	r := store.Reply{Key: "help:issue_comment:1", RepoID: 1296269, Number: 7}
	first, isNew, err := s.BeginReply(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if !isNew || first.Key != r.Key || first.CreatedAt.IsZero() || !first.PostedAt.IsZero() {
		t.Fatalf("new reply = %+v (new %v), want recorded now and not posted", first, isNew)
	}
	again, isNew, err := s.BeginReply(ctx, r)
	if err != nil || isNew || !again.CreatedAt.Equal(first.CreatedAt) || !again.PostedAt.IsZero() {
		t.Fatalf("BeginReply again = %+v (new %v), %v; want the same record, still not posted", again, isNew, err)
	}
	if err := s.FinishReply(ctx, r.Key, 99); err != nil {
		t.Fatal(err)
	}
	posted, _, err := s.BeginReply(ctx, r)
	if err != nil || posted.PostedAt.IsZero() || posted.CommentID != 99 {
		t.Errorf("after FinishReply = %+v, %v; want posted as comment 99", posted, err)
	}
	if _, _, err := s.BeginReply(ctx, store.Reply{}); err == nil {
		t.Error("BeginReply without a key succeeded")
	}
}

// testPrune: old deliveries that are done (id-only ones too), ended jobs and
// replies go; pending deliveries, active jobs and anything recent stay.
func testPrune(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()
	now := time.Now()
	old, recent := now.Add(-10*24*time.Hour), now.Add(-time.Hour)
	insert(t, s, delivery("old-processed", old), delivery("old-failed", old), delivery("old-pending", old),
		delivery("recent-processed", recent), idOnly("old-ignored", old), idOnly("recent-ignored", recent))
	for id, st := range map[string]store.DeliveryStatus{
		"old-processed": store.DeliveryProcessed, "old-failed": store.DeliveryFailed, "recent-processed": store.DeliveryProcessed,
	} {
		if err := s.FinishDelivery(ctx, id, st, ""); err != nil {
			t.Fatal(err)
		}
	}
	ended, _ := createJob(t, s, newJob("ended", 1))
	failed := store.JobFailed
	if _, err := s.UpdateJob(ctx, ended.ID, nil, store.JobUpdate{State: &failed}); err != nil {
		t.Fatal(err)
	}
	active, _ := createJob(t, s, newJob("active", 2))
	if _, _, err := s.BeginReply(ctx, store.Reply{Key: "old", RepoID: 1, Number: 1, CreatedAt: old}); err != nil {
		t.Fatal(err)
	}

	// Jobs are cut at a time after both were last updated: only the ended one goes.
	got, err := s.Prune(ctx, now.Add(-7*24*time.Hour), now.Add(time.Minute))
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if got != (store.Pruned{Deliveries: 3, Jobs: 1, Replies: 1}) {
		t.Errorf("Prune = %+v, want 3 deliveries, 1 job, 1 reply", got)
	}
	assertStrings(t, "pending", pendingIDs(t, s, 10), []string{"old-pending"})
	handled, err := s.HandledDeliveries(ctx, []string{"old-processed", "recent-processed", "old-ignored", "recent-ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if handled["old-processed"] || !handled["recent-processed"] || handled["old-ignored"] || !handled["recent-ignored"] {
		t.Errorf("handled after pruning = %v, want only the recent ones", handled)
	}
	if _, err := s.GetJob(ctx, ended.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ended job after pruning: %v, want ErrNotFound", err)
	}
	if _, err := s.GetJob(ctx, active.ID); err != nil {
		t.Errorf("active job after pruning: %v", err)
	}
	if again, err := s.Prune(ctx, now.Add(-7*24*time.Hour), now.Add(time.Minute)); err != nil || again != (store.Pruned{}) {
		t.Errorf("second Prune = %+v, %v; want nothing left to prune", again, err)
	}
}
