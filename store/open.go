package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/infra-agent/infra-agent/store/groupcommit"
)

// DefaultDatabase is the SQLite file used when no database is configured.
const DefaultDatabase = "data/infra-agent.db"

// Open opens the database named by dsn and brings its schema up to date. A
// postgres:// or postgresql:// URL selects PostgreSQL; anything else is the
// path of a SQLite file, whose parent directory is created. An empty dsn is
// DefaultDatabase.
func Open(ctx context.Context, dsn string) (Store, error) {
	var (
		s   *sqlStore
		err error
	)
	if isPostgres(dsn) {
		s, err = openPostgres(ctx, dsn)
	} else {
		if dsn == "" {
			dsn = DefaultDatabase
		}
		s, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.db, s.dialect); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.writes = groupcommit.New(ctx, s.commitWrites, groupcommit.Options{AfterCommit: s.afterCommit})
	return s, nil
}

func isPostgres(dsn string) bool {
	lower := strings.ToLower(dsn)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// dialect holds the few things SQLite and PostgreSQL do differently. The SQL
// text itself is shared: both accept $N placeholders, ON CONFLICT, RETURNING
// and partial indexes.
type dialect struct {
	name string
	// lockMigrations runs first in the migration transaction, so replicas
	// starting together migrate one at a time. Empty when BEGIN already
	// serialises writers (SQLite).
	lockMigrations string
	// uniqueViolation reports whether err is a unique-constraint violation.
	uniqueViolation func(error) bool
	// transient reports whether a transaction that failed with err may simply
	// be retried (deadlock, serialisation failure).
	transient func(error) bool
	// lockSubject, when set, runs first in the transaction that creates a job,
	// with the subject's key as $1: PostgreSQL serialises the creations of one
	// pull request or issue on an advisory lock, so that what one counts
	// (a JobLimit) the next sees. SQLite's writers are serial anyway.
	lockSubject string
	// skipLocked ends a subquery that selects rows to claim: PostgreSQL skips
	// the rows another transaction is claiming instead of waiting for them.
	skipLocked string
	// afterPrune gives the space of deleted rows back (SQLite); may be nil.
	afterPrune func(ctx context.Context, db *sql.DB) error
}

// sqlStore implements Store over database/sql for both drivers.
type sqlStore struct {
	db      *sql.DB
	dialect dialect
	writes  *groupcommit.Batcher[writeOp, error]
	now     func() time.Time
	// afterCommit, when set, runs on the group commit's writer between
	// commits (SQLite's checkpoint).
	afterCommit func(ctx context.Context)
	// stopBackground, when set, stops the driver's background work.
	stopBackground func()
}

// Ping checks that the database answers a query.
func (s *sqlStore) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("pinging the database: %w", err)
	}
	return nil
}

// Close stops the group committer and releases the database.
func (s *sqlStore) Close() error {
	if s.writes != nil {
		s.writes.Close()
	}
	if s.stopBackground != nil {
		s.stopBackground()
		s.stopBackground = nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing %s database: %w", s.dialect.name, err)
	}
	return nil
}

// inTx runs fn in a transaction and commits it, or rolls it back when fn or
// the commit fails.
func (s *sqlStore) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// writeOp is one write waiting for a group commit. It runs inside the shared
// transaction and keeps its own results; an error fails the transaction.
type writeOp func(ctx context.Context, tx *sql.Tx) error

// write runs op in a transaction shared with the concurrent writes of
// deliveries (group commit): N concurrent callers pay for one commit, which
// under SQLite's synchronous=FULL is one fsync. It returns once that
// transaction committed.
func (s *sqlStore) write(ctx context.Context, op writeOp) error {
	opErr, err := s.writes.Do(ctx, op)
	if err != nil {
		return err
	}
	return opErr
}

// commitWrites runs a batch of writes in one transaction. When it fails, each
// write runs again alone, so that one bad write does not fail the others.
func (s *sqlStore) commitWrites(ctx context.Context, ops []writeOp) ([]error, error) {
	errs := make([]error, len(ops))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, op := range ops {
			if err := op(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(ops) == 1 {
		return errs, err
	}
	for i, op := range ops {
		errs[i] = s.inTx(ctx, func(tx *sql.Tx) error { return op(ctx, tx) })
	}
	return errs, nil
}

// nanos converts t to the stored form; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos converts a stored time back; 0 is the zero time.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// placeholders returns "$from, $from+1, ..." for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}
