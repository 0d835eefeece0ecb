package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AcquireLease takes the lease name for owner, or renews it, unless another
// owner holds it until later than now. One statement decides, so two owners
// racing for an expired lease never both get it.
func (s *sqlStore) AcquireLease(ctx context.Context, name, owner string, until time.Time) (bool, error) {
	if name == "" || owner == "" {
		return false, fmt.Errorf("acquiring lease %q for %q: name and owner must be set", name, owner)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE leases.until < $4 OR leases.owner = excluded.owner`, name, owner, nanos(until), nanos(s.now()))
	if err != nil {
		return false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease ends owner's lease name now.
func (s *sqlStore) ReleaseLease(ctx context.Context, name, owner string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE leases SET until = 0 WHERE name = $1 AND owner = $2`, name, owner); err != nil {
		return fmt.Errorf("releasing lease %s: %w", name, err)
	}
	return nil
}

// BeginReply records the reply unless its key is known, and returns the
// stored reply.
func (s *sqlStore) BeginReply(ctx context.Context, r Reply) (Reply, bool, error) {
	if r.Key == "" {
		return Reply{}, false, fmt.Errorf("recording a reply: no key")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO replies (key, repo_id, number, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING`, r.Key, r.RepoID, r.Number, nanos(r.CreatedAt))
	if err != nil {
		return Reply{}, false, fmt.Errorf("recording reply %s: %w", r.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Reply{}, false, fmt.Errorf("recording reply %s: %w", r.Key, err)
	}
	if n == 1 {
		return r, true, nil
	}
	var (
		got             Reply
		created, posted int64
	)
	err = s.db.QueryRowContext(ctx, `SELECT key, repo_id, number, comment_id, created_at, posted_at
		FROM replies WHERE key = $1`, r.Key).Scan(&got.Key, &got.RepoID, &got.Number, &got.CommentID, &created, &posted)
	if errors.Is(err, sql.ErrNoRows) {
		// Pruned between the two statements: as good as new.
		return r, true, nil
	}
	if err != nil {
		return Reply{}, false, fmt.Errorf("reading reply %s: %w", r.Key, err)
	}
	got.CreatedAt, got.PostedAt = fromNanos(created), fromNanos(posted)
	return got, false, nil
}

// FinishReply records that the reply key was posted.
func (s *sqlStore) FinishReply(ctx context.Context, key string, commentID int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE replies SET comment_id = $2, posted_at = $3 WHERE key = $1`,
		key, commentID, nanos(s.now())); err != nil {
		return fmt.Errorf("recording reply %s as posted: %w", key, err)
	}
	return nil
}
