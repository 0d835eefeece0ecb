package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// pruneBatch bounds the rows one delete statement removes: each batch is a
// short transaction, so webhook intake on the same database (SQLite has one
// writer) waits at most one batch.
const pruneBatch = 500

// Prune deletes old deliveries, ended jobs and replies, batch by batch.
func (s *sqlStore) Prune(ctx context.Context, deliveriesBefore, jobsBefore time.Time) (Pruned, error) {
	var (
		p   Pruned
		err error
	)
	p.Deliveries, err = s.pruneBatches(ctx, `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
		WHERE received_at < $1 AND status <> 'pending' LIMIT $2)`, nanos(deliveriesBefore))
	if err != nil {
		return p, fmt.Errorf("pruning deliveries: %w", err)
	}
	ended := []string{}
	for _, st := range []JobState{JobSucceeded, JobFailed, JobCancelled, JobSuperseded, JobTimedOut} {
		ended = append(ended, "'"+string(st)+"'")
	}
	p.Jobs, err = s.pruneBatches(ctx, `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
		WHERE state IN (`+strings.Join(ended, ", ")+`) AND updated_at < $1 LIMIT $2)`, nanos(jobsBefore))
	if err != nil {
		return p, fmt.Errorf("pruning jobs: %w", err)
	}
	p.Replies, err = s.pruneBatches(ctx, `DELETE FROM replies WHERE key IN (SELECT key FROM replies
		WHERE created_at < $1 LIMIT $2)`, nanos(jobsBefore))
	if err != nil {
		return p, fmt.Errorf("pruning replies: %w", err)
	}
	if s.dialect.afterPrune != nil && p != (Pruned{}) {
		if err := s.dialect.afterPrune(ctx, s.db); err != nil {
			return p, err
		}
	}
	return p, nil
}

// pruneBatches runs a delete of at most pruneBatch rows ($2) older than $1
// until it deletes fewer, and returns how many rows it deleted.
func (s *sqlStore) pruneBatches(ctx context.Context, query string, before int64) (int, error) {
	total := 0
	for {
		res, err := s.db.ExecContext(ctx, query, before, pruneBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < pruneBatch {
			return total, nil
		}
	}
}
