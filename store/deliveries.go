package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// InsertDeliveries records ds in one transaction, which concurrent
// FinishDelivery calls share (see write). A delivery id already stored, or
// repeated earlier in ds, reports false, unless the stored delivery had failed
// for good: GitHub sending it again (someone asked for a redelivery) records
// it anew, as ds has it (pending under the new lease, or finished), and
// reports true. A delivery inserted finished (its handler's pre-filter found
// that it triggers nothing) is finished when it was received.
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
			(id, event, payload, received_at, status, attempts, error, finished_at, lease_owner, lease_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, received_at = excluded.received_at,
				status = excluded.status, attempts = 0, error = '', finished_at = excluded.finished_at,
				next_attempt_at = 0, lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
			WHERE deliveries.status = 'failed' AND excluded.status <> 'failed'`)
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
			var finished int64
			if status != DeliveryPending {
				finished = nanos(received)
			}
			res, err := stmt.ExecContext(ctx, d.ID, d.Event, payload, nanos(received), string(status), d.Attempts, d.Error,
				finished, d.LeaseOwner, nanos(d.LeaseUntil))
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

// deliveryColumns are the columns scanDeliveries reads.
const deliveryColumns = `id, event, payload, received_at, status, attempts, error, finished_at,
	next_attempt_at, lease_owner, lease_until`

// scanDeliveries reads rows of deliveryColumns.
func scanDeliveries(rows *sql.Rows) ([]Delivery, error) {
	defer func() { _ = rows.Close() }()
	var ds []Delivery
	for rows.Next() {
		var (
			d                                Delivery
			received, last, next, leaseUntil int64
			status                           string
		)
		if err := rows.Scan(&d.ID, &d.Event, &d.Payload, &received, &status, &d.Attempts, &d.Error, &last,
			&next, &d.LeaseOwner, &leaseUntil); err != nil {
			return nil, err
		}
		d.ReceivedAt = fromNanos(received)
		d.LastAttemptAt = fromNanos(last)
		d.NextAttemptAt = fromNanos(next)
		d.LeaseUntil = fromNanos(leaseUntil)
		d.Status = DeliveryStatus(status)
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// PendingDeliveries returns up to limit pending deliveries, oldest first.
func (s *sqlStore) PendingDeliveries(ctx context.Context, limit int) ([]Delivery, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("listing pending deliveries: limit %d is not positive", limit)
	}
	// The status is a literal, not a parameter, so that both databases can
	// prove the partial index deliveries_pending applies.
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+`
		FROM deliveries WHERE status = 'pending' ORDER BY received_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing pending deliveries: %w", err)
	}
	ds, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("listing pending deliveries: %w", err)
	}
	return ds, nil
}

// ClaimDeliveries leases due pending deliveries to owner. The claim is one
// conditional UPDATE: on PostgreSQL a concurrent claim skips the rows another
// holds locked, and re-checks the lease of those it waited for; SQLite runs
// one writer at a time.
func (s *sqlStore) ClaimDeliveries(ctx context.Context, owner string, until time.Time, limit int) ([]Delivery, error) {
	if owner == "" || limit <= 0 {
		return nil, fmt.Errorf("claiming deliveries: owner %q and limit %d must be set", owner, limit)
	}
	now := nanos(s.now())
	rows, err := s.db.QueryContext(ctx, `UPDATE deliveries SET lease_owner = $1, lease_until = $2
		WHERE id IN (SELECT id FROM deliveries
			WHERE status = 'pending' AND (lease_until < $3 OR lease_owner = $1) AND next_attempt_at <= $3
			ORDER BY received_at, id LIMIT $4`+s.dialect.skipLocked+`)
		AND status = 'pending' AND (lease_until < $3 OR lease_owner = $1)
		RETURNING `+deliveryColumns, owner, nanos(until), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", err)
	}
	ds, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", err)
	}
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].ReceivedAt.Equal(ds[j].ReceivedAt) {
			return ds[i].ReceivedAt.Before(ds[j].ReceivedAt)
		}
		return ds[i].ID < ds[j].ID
	})
	return ds, nil
}

// RenewLeases extends owner's leases on its pending deliveries.
func (s *sqlStore) RenewLeases(ctx context.Context, owner string, until time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE deliveries SET lease_until = $2
		WHERE status = 'pending' AND lease_owner = $1`, owner, nanos(until)); err != nil {
		return fmt.Errorf("renewing the delivery leases of %s: %w", owner, err)
	}
	return nil
}

// knownChunk bounds the ids of one lookup query (SQLite allows 32,766
// parameters, PostgreSQL 65,535).
const knownChunk = 500

// HandledDeliveries reports which of ids are recorded and not failed for good.
func (s *sqlStore) HandledDeliveries(ctx context.Context, ids []string) (map[string]bool, error) {
	known := make(map[string]bool, len(ids))
	for start := 0; start < len(ids); start += knownChunk {
		chunk := ids[start:min(start+knownChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, `SELECT id FROM deliveries WHERE status <> 'failed'
			AND id IN (`+placeholders(1, len(chunk))+`)`, args...)
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
	return s.finishAttempt(ctx, id, status, errText, time.Time{})
}

// RetryDelivery records a failed attempt to be tried again from at.
func (s *sqlStore) RetryDelivery(ctx context.Context, id, errText string, at time.Time) error {
	return s.finishAttempt(ctx, id, DeliveryPending, errText, at)
}

// finishAttempt records the end of an attempt and releases the lease.
func (s *sqlStore) finishAttempt(ctx context.Context, id string, status DeliveryStatus, errText string, next time.Time) error {
	now := nanos(s.now())
	var found bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries
			SET status = $2, error = $3, attempts = attempts + 1, finished_at = $4, next_attempt_at = $5,
				lease_owner = '', lease_until = 0
			WHERE id = $1`, id, string(status), errText, now, nanos(next))
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
