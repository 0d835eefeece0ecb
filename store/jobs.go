package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infra-agent/infra-agent/wire"
)

// createJobAttempts bounds the retries of CreateJob when a concurrent
// transaction took the (repo, number) slot between our supersede and insert.
const createJobAttempts = 20

const jobColumns = `id, trigger_key, delivery_id, installation_id, repo_id, owner, repo, number,
	kind, state, head_sha, head_ref, base_ref, default_branch, fork, actor, trigger_source,
	trigger_id, instructions, workflow, check_run_id, dispatch_attempts, run_id,
	superseded_by, detail, created_at, updated_at, heartbeat_at, triggered_at, check_run_done, cancelled_by,
	step_owner, step_until, owner_id`

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

func scanJob(r rowScanner) (Job, error) {
	var (
		j                                                 Job
		kind, state                                       string
		created, updated, heartbeat, triggered, stepUntil int64
	)
	err := r.Scan(&j.ID, &j.TriggerKey, &j.DeliveryID, &j.InstallationID, &j.RepoID, &j.Owner, &j.Repo,
		&j.Number, &kind, &state, &j.HeadSHA, &j.HeadRef, &j.BaseRef, &j.DefaultBranch, &j.Fork,
		&j.Actor, &j.TriggerSource, &j.TriggerID, &j.Instructions, &j.Workflow, &j.CheckRunID,
		&j.DispatchAttempts, &j.RunID, &j.SupersededBy, &j.Detail, &created, &updated, &heartbeat, &triggered,
		&j.CheckRunDone, &j.CancelledBy, &j.StepOwner, &stepUntil, &j.OwnerID)
	if err != nil {
		return Job{}, err
	}
	j.Kind = wire.Kind(kind)
	j.State = JobState(state)
	j.CreatedAt = fromNanos(created)
	j.UpdatedAt = fromNanos(updated)
	j.HeartbeatAt = fromNanos(heartbeat)
	j.TriggeredAt = fromNanos(triggered)
	j.StepUntil = fromNanos(stepUntil)
	return j, nil
}

// queryJobs runs a query returning jobColumns rows.
func queryJobs(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]Job, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var jobs []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// newJobID returns a time-ordered id (UUIDv7): ids sort by creation time.
func newJobID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("generating job id: %w", err)
	}
	return id.String(), nil
}

// CreateJob inserts j unless its TriggerKey exists and supersedes the active
// jobs of the same pull request or issue in the same transaction.
//
// Two replicas may create jobs for the same pull request at once. The partial
// unique index jobs_one_active makes the second insert fail instead of leaving
// two active jobs; that transaction is retried, sees the first job and
// supersedes it. The same conflict serialises the creations of one pull
// request, so a limit counted inside the transaction holds under concurrency.
func (s *sqlStore) CreateJob(ctx context.Context, j Job, limit *JobLimit) (Job, []Job, bool, error) {
	if err := validateNewJob(j); err != nil {
		return Job{}, nil, false, err
	}
	if j.ID == "" {
		id, err := newJobID()
		if err != nil {
			return Job{}, nil, false, err
		}
		j.ID = id
	}
	if j.State == "" {
		j.State = JobQueued
	}
	now := s.now()
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = j.CreatedAt
	}
	var lastErr error
	for attempt := 0; attempt < createJobAttempts; attempt++ {
		job, superseded, created, err := s.createJobOnce(ctx, j, limit)
		if err == nil || errors.Is(err, ErrLimitReached) {
			return job, superseded, created, err
		}
		if !s.dialect.uniqueViolation(err) && !s.dialect.transient(err) {
			return Job{}, nil, false, err
		}
		lastErr = err
		// Jitter, so that racing replicas do not collide again in lockstep.
		backoff := time.Duration(attempt+1)*time.Millisecond + rand.N(2*time.Millisecond)
		select {
		case <-ctx.Done():
			return Job{}, nil, false, fmt.Errorf("creating job %s: %w", j.TriggerKey, ctx.Err())
		case <-time.After(backoff):
		}
	}
	return Job{}, nil, false, fmt.Errorf("creating job %s: gave up after %d attempts: %w", j.TriggerKey, createJobAttempts, lastErr)
}

func validateNewJob(j Job) error {
	switch {
	case j.TriggerKey == "":
		return errors.New("creating job: no trigger key")
	case j.InstallationID <= 0:
		return fmt.Errorf("creating job %s: installation id %d is not positive", j.TriggerKey, j.InstallationID)
	case j.RepoID <= 0:
		return fmt.Errorf("creating job %s: repository id %d is not positive", j.TriggerKey, j.RepoID)
	case j.Owner == "" || j.Repo == "":
		return fmt.Errorf("creating job %s: no repository", j.TriggerKey)
	case j.Number <= 0:
		return fmt.Errorf("creating job %s: pull request or issue number %d is not positive", j.TriggerKey, j.Number)
	case j.Kind == "":
		return fmt.Errorf("creating job %s: no kind", j.TriggerKey)
	}
	return nil
}

// errJobExists aborts the transaction when the trigger key is already taken.
var errJobExists = errors.New("job exists")

func (s *sqlStore) createJobOnce(ctx context.Context, j Job, limit *JobLimit) (Job, []Job, bool, error) {
	var superseded []Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect.lockSubject != "" {
			if _, err := tx.ExecContext(ctx, s.dialect.lockSubject, subjectKey(j.RepoID, j.Number)); err != nil {
				return fmt.Errorf("locking %s/%s#%d: %w", j.Owner, j.Repo, j.Number, err)
			}
		}
		existing, err := queryJobs(ctx, tx, `SELECT `+jobColumns+` FROM jobs WHERE trigger_key = $1`, j.TriggerKey)
		if err != nil {
			return fmt.Errorf("looking up job %s: %w", j.TriggerKey, err)
		}
		if len(existing) > 0 {
			return errJobExists
		}
		if err := checkLimit(ctx, tx, j, limit); err != nil {
			return err
		}
		active := activeStateArgs()
		args := append([]any{string(JobSuperseded), j.ID, nanos(j.CreatedAt), j.RepoID, j.Number}, active...)
		superseded, err = queryJobs(ctx, tx, `UPDATE jobs SET state = $1, superseded_by = $2, updated_at = $3
			WHERE repo_id = $4 AND number = $5
			AND state IN (`+placeholders(6, len(active))+`)
			RETURNING `+jobColumns, args...)
		if err != nil {
			return fmt.Errorf("superseding jobs of %s/%s#%d: %w", j.Owner, j.Repo, j.Number, err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (`+jobColumns+`)
			VALUES (`+placeholders(1, 34)+`)
			ON CONFLICT (trigger_key) DO NOTHING`, jobArgs(j)...)
		if err != nil {
			return fmt.Errorf("inserting job %s: %w", j.TriggerKey, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("inserting job %s: %w", j.TriggerKey, err)
		}
		if n == 0 {
			return errJobExists // a concurrent transaction inserted the same trigger
		}
		return nil
	})
	if errors.Is(err, errJobExists) {
		existing, err := queryJobs(ctx, s.db, `SELECT `+jobColumns+` FROM jobs WHERE trigger_key = $1`, j.TriggerKey)
		if err != nil {
			return Job{}, nil, false, fmt.Errorf("reading job %s: %w", j.TriggerKey, err)
		}
		if len(existing) == 0 {
			return Job{}, nil, false, fmt.Errorf("reading job %s: %w", j.TriggerKey, ErrNotFound)
		}
		return existing[0], nil, false, nil
	}
	if err != nil {
		return Job{}, nil, false, err
	}
	sortJobs(superseded)
	return j, superseded, true, nil
}

// subjectKey is the advisory-lock key of a pull request or issue. Two
// subjects sharing a key only wait for each other.
func subjectKey(repoID int64, number int) int64 {
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "job-subject:%d#%d", repoID, number)
	return int64(h.Sum64())
}

// checkLimit refuses j when the jobs limit counts already reach its Max.
func checkLimit(ctx context.Context, tx *sql.Tx, j Job, limit *JobLimit) error {
	if limit == nil {
		return nil
	}
	args := []any{j.RepoID, j.Number, string(limit.Kind)}
	for _, src := range limit.Sources {
		args = append(args, src)
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE repo_id = $1 AND number = $2 AND kind = $3
		AND trigger_source IN (`+placeholders(4, len(limit.Sources))+`)`, args...).Scan(&n)
	if err != nil {
		return fmt.Errorf("counting jobs of %s/%s#%d: %w", j.Owner, j.Repo, j.Number, err)
	}
	if n >= limit.Max {
		return fmt.Errorf("creating job %s: %d of at most %d %s jobs exist: %w", j.TriggerKey, n, limit.Max, limit.Kind, ErrLimitReached)
	}
	return nil
}

func activeStateArgs() []any {
	args := make([]any, len(ActiveStates))
	for i, st := range ActiveStates {
		args[i] = string(st)
	}
	return args
}

// jobArgs returns j's values in jobColumns order.
func jobArgs(j Job) []any {
	return []any{j.ID, j.TriggerKey, j.DeliveryID, j.InstallationID, j.RepoID, j.Owner, j.Repo, j.Number,
		string(j.Kind), string(j.State), j.HeadSHA, j.HeadRef, j.BaseRef, j.DefaultBranch, j.Fork, j.Actor,
		j.TriggerSource, j.TriggerID, j.Instructions, j.Workflow, j.CheckRunID, j.DispatchAttempts, j.RunID,
		j.SupersededBy, j.Detail, nanos(j.CreatedAt), nanos(j.UpdatedAt), nanos(j.HeartbeatAt), nanos(j.TriggeredAt),
		j.CheckRunDone, j.CancelledBy, j.StepOwner, nanos(j.StepUntil), j.OwnerID}
}

func sortJobs(jobs []Job) {
	sort.Slice(jobs, func(a, b int) bool {
		if !jobs[a].CreatedAt.Equal(jobs[b].CreatedAt) {
			return jobs[a].CreatedAt.Before(jobs[b].CreatedAt)
		}
		return jobs[a].ID < jobs[b].ID
	})
}

// GetJob returns a job by id.
func (s *sqlStore) GetJob(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("reading job %s: %w", id, err)
	}
	return j, nil
}

// ClaimJob gives owner the job's steps until the given time.
func (s *sqlStore) ClaimJob(ctx context.Context, id, owner string, until time.Time) (Job, error) {
	if owner == "" {
		return Job{}, fmt.Errorf("claiming job %s: no owner", id)
	}
	jobs, err := queryJobs(ctx, s.db, `UPDATE jobs SET step_owner = $2, step_until = $3
		WHERE id = $1 AND (step_until < $4 OR step_owner = $2)
		RETURNING `+jobColumns, id, owner, nanos(until), nanos(s.now()))
	if err != nil {
		return Job{}, fmt.Errorf("claiming job %s: %w", id, err)
	}
	if len(jobs) == 1 {
		return jobs[0], nil
	}
	current, err := s.GetJob(ctx, id)
	if err != nil {
		return Job{}, err
	}
	return Job{}, fmt.Errorf("claiming job %s: %s holds it until %s: %w", id, current.StepOwner, current.StepUntil.Format(time.RFC3339), ErrConflict)
}

// ReleaseJob ends owner's claim on the job.
func (s *sqlStore) ReleaseJob(ctx context.Context, id, owner string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE jobs SET step_until = 0 WHERE id = $1 AND step_owner = $2`, id, owner); err != nil {
		return fmt.Errorf("releasing job %s: %w", id, err)
	}
	return nil
}

// UpdateJob applies u if the job is in one of the from states.
func (s *sqlStore) UpdateJob(ctx context.Context, id string, from []JobState, u JobUpdate) (Job, error) {
	set := []string{"updated_at = $1"}
	args := []any{nanos(s.now())}
	add := func(col string, v any) {
		args = append(args, v)
		set = append(set, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.State != nil {
		add("state", string(*u.State))
	}
	if u.CheckRunID != nil {
		add("check_run_id", *u.CheckRunID)
	}
	if u.DispatchAttempts != nil {
		add("dispatch_attempts", *u.DispatchAttempts)
	}
	if u.RunID != nil {
		add("run_id", *u.RunID)
	}
	if u.Detail != nil {
		add("detail", *u.Detail)
	}
	if u.HeartbeatAt != nil {
		add("heartbeat_at", nanos(*u.HeartbeatAt))
	}
	if u.CheckRunDone != nil {
		add("check_run_done", *u.CheckRunDone)
	}
	if u.CancelledBy != nil {
		add("cancelled_by", *u.CancelledBy)
	}
	args = append(args, id)
	where := fmt.Sprintf("id = $%d", len(args))
	if len(from) > 0 {
		first := len(args) + 1
		for _, st := range from {
			args = append(args, string(st))
		}
		where += " AND state IN (" + placeholders(first, len(from)) + ")"
	}
	jobs, err := queryJobs(ctx, s.db, `UPDATE jobs SET `+strings.Join(set, ", ")+
		` WHERE `+where+` RETURNING `+jobColumns, args...)
	if err != nil {
		if s.dialect.uniqueViolation(err) {
			// Reactivating the job would make a second active job for its
			// pull request or issue.
			return Job{}, fmt.Errorf("updating job %s: another job is active: %w", id, ErrConflict)
		}
		return Job{}, fmt.Errorf("updating job %s: %w", id, err)
	}
	if len(jobs) == 1 {
		return jobs[0], nil
	}
	current, err := s.GetJob(ctx, id)
	if err != nil {
		return Job{}, err
	}
	return Job{}, fmt.Errorf("updating job %s: state is %s, not one of %v: %w", id, current.State, from, ErrConflict)
}

// ListJobs returns the jobs matching f, oldest first.
func (s *sqlStore) ListJobs(ctx context.Context, f JobFilter) ([]Job, error) {
	where, args := s.jobWhere(f)
	query := `SELECT ` + jobColumns + ` FROM jobs` + where + ` ORDER BY created_at, id`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		query += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	jobs, err := queryJobs(ctx, s.db, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	return jobs, nil
}

// CountJobs counts the jobs matching f; f.Limit is ignored.
func (s *sqlStore) CountJobs(ctx context.Context, f JobFilter) (int, error) {
	where, args := s.jobWhere(f)
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting jobs: %w", err)
	}
	return n, nil
}

// jobWhere turns f into a WHERE clause (with a leading space) and its args.
func (s *sqlStore) jobWhere(f JobFilter) (string, []any) {
	var (
		conds []string
		args  []any
	)
	eq := func(col string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if len(f.States) > 0 {
		first := len(args) + 1
		for _, st := range f.States {
			args = append(args, string(st))
		}
		conds = append(conds, "state IN ("+placeholders(first, len(f.States))+")")
	}
	if f.Kind != "" {
		eq("kind", string(f.Kind))
	}
	if f.InstallationID != 0 {
		eq("installation_id", f.InstallationID)
	}
	if f.RepoID != 0 {
		eq("repo_id", f.RepoID)
	}
	if f.SupersededBy != "" {
		eq("superseded_by", f.SupersededBy)
	}
	if f.CancelledBy != "" {
		eq("cancelled_by", f.CancelledBy)
	}
	if f.Owner != "" {
		eq("owner", f.Owner)
	}
	if f.Repo != "" {
		eq("repo", f.Repo)
	}
	if f.Number != 0 {
		eq("number", f.Number)
	}
	if f.TriggerSource != "" {
		eq("trigger_source", f.TriggerSource)
	}
	if f.CheckRunOpen {
		conds = append(conds, "check_run_id <> 0 AND check_run_done = FALSE")
	}
	if f.CheckRunPending {
		conds = append(conds, "check_run_done = FALSE")
	}
	if !f.UpdatedBefore.IsZero() {
		args = append(args, nanos(f.UpdatedBefore))
		conds = append(conds, fmt.Sprintf("updated_at < $%d", len(args)))
	}
	if f.UpdatedAgo > 0 {
		args = append(args, nanos(s.now().Add(-f.UpdatedAgo)))
		conds = append(conds, fmt.Sprintf("updated_at < $%d", len(args)))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}
