package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqlitePragmas configure every SQLite connection.
//
//   - _txlock=immediate: a transaction takes the write lock at BEGIN, so two
//     writers never deadlock upgrading a read lock (SQLITE_BUSY mid-transaction).
//   - busy_timeout: another process holding the lock makes us wait, not fail.
//   - journal_mode=WAL: readers do not block the writer, and a commit appends
//     to one file.
//   - synchronous=FULL, not NORMAL: the WAL is fsynced at every commit, so a
//     delivery that was acknowledged survives an OS crash or power loss, not
//     only a process crash (all that NORMAL guarantees in WAL mode: it syncs
//     at checkpoints only). Group commit makes FULL affordable: one fsync
//     covers every delivery and outcome in the batch (see write, and
//     BenchmarkIntake in intake for the figures).
//   - wal_autocheckpoint(0), journal_size_limit: see checkpointer.
const sqlitePragmas = "_txlock=immediate" +
	"&_pragma=busy_timeout(10000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(FULL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=wal_autocheckpoint(0)" +
	"&_pragma=journal_size_limit(67108864)"

// openSQLite opens the SQLite file at path, creating it and its directory.
func openSQLite(ctx context.Context, path string) (*sqlStore, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("opening sqlite database %q: the path must not contain '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating database directory %s: %w", dir, err)
		}
	}
	db, err := sql.Open("sqlite", path+"?"+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("opening sqlite database %s: %w", path, err)
	}
	// SQLite has one writer at a time. One connection queues our own writers
	// in Go, which is fair and cheap, instead of in SQLite's busy handler,
	// which sleeps; the busy timeout still covers other processes.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening sqlite database %s: %w", path, err)
	}
	if err := incrementalVacuum(pingCtx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening sqlite database %s: %w", path, err)
	}
	ckpt, err := startCheckpointer(ctx, path)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &sqlStore{
		db: db,
		dialect: dialect{
			name:            "sqlite",
			uniqueViolation: sqliteUniqueViolation,
			transient:       sqliteBusy,
			afterPrune:      releaseFreePages,
		},
		now:            time.Now,
		afterCommit:    ckpt.afterCommit,
		stopBackground: ckpt.stop,
	}, nil
}

// incrementalVacuum makes the database give the pages of deleted rows back to
// the file system on request (releaseFreePages after pruning): SQLite
// otherwise keeps a file at its largest size forever. The mode of a database
// that has tables changes only by rewriting it, once.
func incrementalVacuum(ctx context.Context, db *sql.DB) error {
	var mode int
	if err := db.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("reading auto_vacuum: %w", err)
	}
	const incremental = 2
	if mode == incremental {
		return nil
	}
	if _, err := db.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("setting auto_vacuum: %w", err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("rewriting the database for incremental vacuum: %w", err)
	}
	return nil
}

// releaseFreePages truncates the free pages off the database file.
func releaseFreePages(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "PRAGMA incremental_vacuum"); err != nil {
		return fmt.Errorf("releasing free pages: %w", err)
	}
	return nil
}

// checkpointInterval is how often the WAL is copied back into the database.
const checkpointInterval = 100 * time.Millisecond

// checkpointer copies the WAL back into the database file from a connection
// of its own, in two steps, so that the WAL stays small without delaying
// commits by more than a few pages' copy.
//
// SQLite's automatic checkpoint runs inside the commit that crosses its
// threshold, and every acknowledgement waiting on that commit waits for the
// copy and its fsync. A PASSIVE checkpoint beside the writer, on a timer,
// delays no commit, but under continuous writes it never catches up with the
// last one, and the WAL starts over only when a write begins with every frame
// copied: it grew for as long as the load lasted, by a page or two per
// delivery. So the timer's checkpoint copies the bulk beside the writer, and
// then the writer, between two commits (afterCommit), copies what was
// committed meanwhile; its next commit starts the WAL over.
type checkpointer struct {
	db       *sql.DB
	quit     chan struct{}
	done     chan struct{}
	caughtUp atomic.Bool // the timer's checkpoint ended since the writer's last
}

// startCheckpointer opens the checkpoint connection and starts its timer.
func startCheckpointer(ctx context.Context, path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", path+"?"+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("opening sqlite checkpoint connection %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		ticker := time.NewTicker(checkpointInterval)
		defer ticker.Stop()
		for {
			select {
			case <-c.quit:
				return
			case <-ticker.C:
				c.checkpoint(ctx)
				c.caughtUp.Store(true)
			}
		}
	}()
	return c, nil
}

// afterCommit copies the frames committed since the timer's last checkpoint,
// if it has not already. It runs on the group commit's writer.
func (c *checkpointer) afterCommit(ctx context.Context) {
	if c.caughtUp.Swap(false) {
		c.checkpoint(ctx)
	}
}

// checkpoint runs a PASSIVE checkpoint: it copies what no reader still needs
// from the WAL and never waits for a lock.
func (c *checkpointer) checkpoint(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := c.db.ExecContext(cctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("SQLite checkpoint failed")
	}
}

// stop stops the timer and closes the connection.
func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
	_ = c.db.Close()
}

func sqliteUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func sqliteBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
