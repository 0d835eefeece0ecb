package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// InsertDeliveries records ds in one transaction, which concurrent
// FinishDelivery calls share (see write). A delivery id already stored, or
// repeated earlier in ds, reports false.
func (s *sqlStore) InsertDeliveries(ctx context.Context, ds []Delivery) ([]bool, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	for i, d := range ds {
		if d.ID == "" {
			return nil, fmt.Errorf("inserting deliveries: delivery %d has no id", i)
		}
		if d.Event == "" {
			return nil, fmt.Errorf("inserting delivery %s: no event type", d.ID)
		}
	}
	now := s.now()
	created := make([]bool, len(ds))
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO deliveries
			(id, event, payload, received_at, status, attempts, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("preparing delivery insert: %w", err)
		}
		defer func() { _ = stmt.Close() }()
		for i, d := range ds {
			received := d.ReceivedAt
			if received.IsZero() {
				received = now
			}
			status := d.Status
			if status == "" {
				status = DeliveryPending
			}
			payload := d.Payload
			if payload == nil {
				payload = []byte{}
			}
			res, err := stmt.ExecContext(ctx, d.ID, d.Event, payload, nanos(received), string(status), d.Attempts, d.Error)
			if err != nil {
				return fmt.Errorf("inserting delivery %s: %w", d.ID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("inserting delivery %s: %w", d.ID, err)
			}
			created[i] = n == 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// PendingDeliveries returns up to limit pending deliveries, oldest first.
func (s *sqlStore) PendingDeliveries(ctx context.Context, limit int) ([]Delivery, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("listing pending deliveries: limit %d is not positive", limit)
	}
	// The status is a literal, not a parameter, so that both databases can
	// prove the partial index deliveries_pending applies.
	rows, err := s.db.QueryContext(ctx, `SELECT id, event, payload, received_at, status, attempts, error, finished_at
		FROM deliveries WHERE status = 'pending' ORDER BY received_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing pending deliveries: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var ds []Delivery
	for rows.Next() {
		var (
			d        Delivery
			received int64
			status   string
			last     int64
		)
		if err := rows.Scan(&d.ID, &d.Event, &d.Payload, &received, &status, &d.Attempts, &d.Error, &last); err != nil {
			return nil, fmt.Errorf("reading pending delivery: %w", err)
		}
		d.ReceivedAt = fromNanos(received)
		d.LastAttemptAt = fromNanos(last)
		d.Status = DeliveryStatus(status)
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing pending deliveries: %w", err)
	}
	return ds, nil
}

// knownChunk bounds the ids of one lookup query (SQLite allows 32,766
// parameters, PostgreSQL 65,535).
const knownChunk = 500

// KnownDeliveries reports which of ids are recorded, whatever their status.
func (s *sqlStore) KnownDeliveries(ctx context.Context, ids []string) (map[string]bool, error) {
	known := make(map[string]bool, len(ids))
	for start := 0; start < len(ids); start += knownChunk {
		chunk := ids[start:min(start+knownChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, `SELECT id FROM deliveries WHERE id IN (`+placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("looking up deliveries: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				_ = rows.Close()
				return nil, fmt.Errorf("looking up deliveries: %w", err)
			}
			known[id] = true
		}
		err = rows.Err()
		_ = rows.Close()
		if err != nil {
			return nil, fmt.Errorf("looking up deliveries: %w", err)
		}
	}
	return known, nil
}

// FinishDelivery records the end of an attempt: processed, failed, or pending
// again for a retry (the attempt is counted and its error kept). Workers finish
// deliveries at the rate they arrive; each in a commit (an fsync) of its own
// would starve the intake of the same database, so concurrent calls and
// InsertDeliveries share transactions (see write).
func (s *sqlStore) FinishDelivery(ctx context.Context, id string, status DeliveryStatus, errText string) error {
	switch status {
	case DeliveryProcessed, DeliveryFailed, DeliveryPending:
	default:
		return fmt.Errorf("finishing delivery %s: unknown status %q", id, status)
	}
	now := nanos(s.now())
	var found bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries
			SET status = $2, error = $3, attempts = attempts + 1, finished_at = $4
			WHERE id = $1`, id, string(status), errText, now)
		if err != nil {
			return fmt.Errorf("updating delivery %s: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("updating delivery %s: %w", id, err)
		}
		found = n == 1
		return nil
	})
	if err != nil {
		return fmt.Errorf("finishing delivery %s: %w", id, err)
	}
	if !found {
		return fmt.Errorf("finishing delivery %s: %w", id, ErrNotFound)
	}
	return nil
}

// UpsertInstallation records the latest state of an installation.
func (s *sqlStore) UpsertInstallation(ctx context.Context, in Installation) error {
	if in.ID <= 0 {
		return fmt.Errorf("recording installation: id %d is not positive", in.ID)
	}
	repos := in.Repos
	if repos == nil {
		repos = []string{}
	}
	reposJSON, err := json.Marshal(repos)
	if err != nil {
		return fmt.Errorf("encoding repositories of installation %d: %w", in.ID, err)
	}
	updated := in.UpdatedAt
	if updated.IsZero() {
		updated = s.now()
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO installations (id, account, action, repos, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET account = excluded.account, action = excluded.action,
			repos = excluded.repos, updated_at = excluded.updated_at`,
		in.ID, in.Account, in.Action, string(reposJSON), nanos(updated))
	if err != nil {
		return fmt.Errorf("recording installation %d: %w", in.ID, err)
	}
	return nil
}

// GetInstallation returns an installation by id.
func (s *sqlStore) GetInstallation(ctx context.Context, id int64) (Installation, error) {
	var (
		in      Installation
		repos   string
		updated int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, account, action, repos, updated_at
		FROM installations WHERE id = $1`, id).Scan(&in.ID, &in.Account, &in.Action, &repos, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Installation{}, fmt.Errorf("installation %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Installation{}, fmt.Errorf("reading installation %d: %w", id, err)
	}
	if err := json.Unmarshal([]byte(repos), &in.Repos); err != nil {
		return Installation{}, fmt.Errorf("decoding repositories of installation %d: %w", id, err)
	}
	in.UpdatedAt = fromNanos(updated)
	return in, nil
}
