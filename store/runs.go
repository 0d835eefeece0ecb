package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Run is the runner side of a claimed job.
type Run struct {
	JobID      string
	RunID      int64
	RunAttempt int64
	// SessionHash is the SHA-256 of the job's session secret, hex; the secret
	// itself is never stored.
	SessionHash string
	// Claims counts the claims answered for this run (a replayed claim
	// counts again).
	Claims         int
	ClaimedAt      time.Time
	TokenExpiresAt time.Time
	Progress       string
	ProgressAt     time.Time
	// ModelTokensUsed is what the job spent through the model proxy, out of
	// ModelTokenBudget (set by the claim).
	ModelTokensUsed  int64
	ModelTokenBudget int64
}

// RunClaim is a runner's claim of a job.
type RunClaim struct {
	JobID       string
	RunID       int64
	RunAttempt  int64
	SessionHash string
	At          time.Time
	// MaxClaims bounds the claims of one run (the first and its replays).
	MaxClaims int
	// ModelTokenBudget is what the job may spend through the model proxy.
	ModelTokenBudget int64
}

// AuditEvent is one entry of a job's audit trail.
type AuditEvent struct {
	ID    string
	JobID string
	At    time.Time
	Type  string
	Data  map[string]any
}

// ErrTooManyClaims is returned when a run claimed its job MaxClaims times.
var ErrTooManyClaims = errors.New("the run claimed this job too many times")

// RunStore is what the store keeps about runners.
type RunStore interface {
	// ClaimRun binds a queued or dispatched job to a workflow run and makes it
	// running, in one transaction with the run's row; replay is false. When
	// the job is already running for the same run and attempt, it records the
	// new session hash instead and replay is true. Anything else (another
	// run, an ended job) is ErrConflict, with the job as it is.
	ClaimRun(ctx context.Context, c RunClaim) (job Job, run Run, replay bool, err error)
	// GetRun returns the run of a claimed job.
	GetRun(ctx context.Context, jobID string) (Run, error)
	// SetRunToken records when the job's token expires.
	SetRunToken(ctx context.Context, jobID string, expires time.Time) error
	// RecordProgress stores the progress line if the last one shown is at
	// least every old, and reports whether it did: the check run is updated
	// only then, whichever replica receives the heartbeat.
	RecordProgress(ctx context.Context, jobID, progress string, at time.Time, every time.Duration) (bool, error)
	// AddModelTokens adds n to the model tokens the job spent and returns
	// the new total.
	AddModelTokens(ctx context.Context, jobID string, n int64) (int64, error)
	// AddAuditEvents appends to the audit trail.
	AddAuditEvents(ctx context.Context, events []AuditEvent) error
	// ListAuditEvents returns a job's audit trail, oldest first.
	ListAuditEvents(ctx context.Context, jobID string) ([]AuditEvent, error)
}

const runColumns = `job_id, run_id, run_attempt, session_hash, claims, claimed_at, token_expires_at,
	progress, progress_at, model_tokens_used, model_token_budget`

func scanRun(r rowScanner) (Run, error) {
	var (
		run                      Run
		claimed, expires, progAt int64
	)
	err := r.Scan(&run.JobID, &run.RunID, &run.RunAttempt, &run.SessionHash, &run.Claims, &claimed, &expires,
		&run.Progress, &progAt, &run.ModelTokensUsed, &run.ModelTokenBudget)
	if err != nil {
		return Run{}, err
	}
	run.ClaimedAt, run.TokenExpiresAt, run.ProgressAt = fromNanos(claimed), fromNanos(expires), fromNanos(progAt)
	return run, nil
}

// ClaimRun binds a job to a run; see RunStore.
func (s *sqlStore) ClaimRun(ctx context.Context, c RunClaim) (Job, Run, bool, error) {
	var (
		job    Job
		run    Run
		replay bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		claimed, err := queryJobs(ctx, tx, `UPDATE jobs SET state = $1, run_id = $2, heartbeat_at = $3, updated_at = $3
			WHERE id = $4 AND state IN ($5, $6) AND (run_id = 0 OR run_id = $2)
			RETURNING `+jobColumns,
			string(JobRunning), c.RunID, nanos(c.At), c.JobID, string(JobQueued), string(JobDispatched))
		if err != nil {
			return fmt.Errorf("claiming job %s: %w", c.JobID, err)
		}
		if len(claimed) == 1 {
			job = claimed[0]
			run = Run{JobID: c.JobID, RunID: c.RunID, RunAttempt: c.RunAttempt, SessionHash: c.SessionHash,
				Claims: 1, ClaimedAt: c.At, ModelTokenBudget: c.ModelTokenBudget}
			_, err := tx.ExecContext(ctx, `INSERT INTO job_runs (`+runColumns+`) VALUES (`+placeholders(1, 11)+`)`,
				run.JobID, run.RunID, run.RunAttempt, run.SessionHash, run.Claims, nanos(run.ClaimedAt), int64(0), "",
				int64(0), int64(0), run.ModelTokenBudget)
			if err != nil {
				return fmt.Errorf("recording the run of job %s: %w", c.JobID, err)
			}
			return nil
		}
		job, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, c.JobID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("job %s: %w", c.JobID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading job %s: %w", c.JobID, err)
		}
		if job.State != JobRunning || job.RunID != c.RunID {
			return fmt.Errorf("claiming job %s: it is %s (run %d): %w", c.JobID, job.State, job.RunID, ErrConflict)
		}
		rows, err := tx.QueryContext(ctx, `UPDATE job_runs SET session_hash = $1, claims = claims + 1
			WHERE job_id = $2 AND run_id = $3 AND run_attempt = $4 RETURNING `+runColumns,
			c.SessionHash, c.JobID, c.RunID, c.RunAttempt)
		if err != nil {
			return fmt.Errorf("replaying the claim of job %s: %w", c.JobID, err)
		}
		defer func() { _ = rows.Close() }()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return fmt.Errorf("replaying the claim of job %s: %w", c.JobID, err)
			}
			return fmt.Errorf("claiming job %s: it is bound to another attempt of run %d: %w", c.JobID, c.RunID, ErrConflict)
		}
		if run, err = scanRun(rows); err != nil {
			return fmt.Errorf("replaying the claim of job %s: %w", c.JobID, err)
		}
		if c.MaxClaims > 0 && run.Claims > c.MaxClaims {
			return fmt.Errorf("claiming job %s: %w", c.JobID, ErrTooManyClaims)
		}
		replay = true
		return rows.Close()
	})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return job, Run{}, false, err
		}
		return Job{}, Run{}, false, err
	}
	return job, run, replay, nil
}

// GetRun returns the run of a claimed job.
func (s *sqlStore) GetRun(ctx context.Context, jobID string) (Run, error) {
	run, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM job_runs WHERE job_id = $1`, jobID))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("run of job %s: %w", jobID, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("reading the run of job %s: %w", jobID, err)
	}
	return run, nil
}

// SetRunToken records when the job's token expires.
func (s *sqlStore) SetRunToken(ctx context.Context, jobID string, expires time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE job_runs SET token_expires_at = $1 WHERE job_id = $2`,
		nanos(expires), jobID); err != nil {
		return fmt.Errorf("recording the token expiry of job %s: %w", jobID, err)
	}
	return nil
}

// RecordProgress stores a progress line at most once per every.
func (s *sqlStore) RecordProgress(ctx context.Context, jobID, progress string, at time.Time, every time.Duration) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE job_runs SET progress = $1, progress_at = $2
		WHERE job_id = $3 AND progress_at <= $4`, progress, nanos(at), jobID, nanos(at.Add(-every)))
	if err != nil {
		return false, fmt.Errorf("recording the progress of job %s: %w", jobID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording the progress of job %s: %w", jobID, err)
	}
	return n == 1, nil
}

// AddModelTokens adds to the model tokens a job spent.
func (s *sqlStore) AddModelTokens(ctx context.Context, jobID string, n int64) (int64, error) {
	var total int64
	err := s.db.QueryRowContext(ctx, `UPDATE job_runs SET model_tokens_used = model_tokens_used + $1
		WHERE job_id = $2 RETURNING model_tokens_used`, n, jobID).Scan(&total)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("run of job %s: %w", jobID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("adding model tokens to job %s: %w", jobID, err)
	}
	return total, nil
}

// AddAuditEvents appends events to the audit trail in one transaction.
func (s *sqlStore) AddAuditEvents(ctx context.Context, events []AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, e := range events {
			if e.ID == "" {
				id, err := newJobID()
				if err != nil {
					return err
				}
				e.ID = id
			}
			if e.At.IsZero() {
				e.At = s.now()
			}
			data, err := json.Marshal(e.Data)
			if err != nil {
				return fmt.Errorf("encoding audit event %s of job %s: %w", e.Type, e.JobID, err)
			}
			if e.Data == nil {
				data = []byte("{}")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (id, job_id, at, type, data) VALUES ($1, $2, $3, $4, $5)`,
				e.ID, e.JobID, nanos(e.At), e.Type, string(data)); err != nil {
				return fmt.Errorf("recording audit event %s of job %s: %w", e.Type, e.JobID, err)
			}
		}
		return nil
	})
}

// ListAuditEvents returns a job's audit trail, oldest first.
func (s *sqlStore) ListAuditEvents(ctx context.Context, jobID string) ([]AuditEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, job_id, at, type, data FROM audit_events
		WHERE job_id = $1 ORDER BY at, id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("listing the audit trail of job %s: %w", jobID, err)
	}
	defer func() { _ = rows.Close() }()
	var out []AuditEvent
	for rows.Next() {
		var (
			e    AuditEvent
			at   int64
			data string
		)
		if err := rows.Scan(&e.ID, &e.JobID, &at, &e.Type, &data); err != nil {
			return nil, fmt.Errorf("listing the audit trail of job %s: %w", jobID, err)
		}
		e.At = fromNanos(at)
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return nil, fmt.Errorf("decoding audit event %s: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
