package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresMigrationLock is an arbitrary constant key for the advisory lock
// that serialises migrations across replicas.
const postgresMigrationLock = "SELECT pg_advisory_xact_lock(7311046512930141184)"

// openPostgres connects to the PostgreSQL server named by the URL dsn.
func openPostgres(ctx context.Context, dsn string) (*sqlStore, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, errors.New("parsing postgres database URL: invalid URL")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connecting to postgres %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	return &sqlStore{
		db: db,
		dialect: dialect{
			name:            "postgres",
			lockMigrations:  postgresMigrationLock,
			uniqueViolation: pgCode("23505"),
			transient:       pgCode("40001", "40P01"), // serialization failure, deadlock
			skipLocked:      " FOR UPDATE SKIP LOCKED",
			lockSubject:     "SELECT pg_advisory_xact_lock($1)",
		},
		now: time.Now,
	}, nil
}

// pgCode returns a matcher for PostgreSQL errors with one of the SQLSTATEs.
func pgCode(codes ...string) func(error) bool {
	return func(err error) bool {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			return false
		}
		for _, c := range codes {
			if pe.Code == c {
				return true
			}
		}
		return false
	}
}
