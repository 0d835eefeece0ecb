-- One schema for SQLite and PostgreSQL. Times are Unix nanoseconds (BIGINT),
-- so ordering and comparisons behave the same on both. BYTEA is PostgreSQL's
-- binary type; SQLite gives the unknown name NUMERIC affinity, which stores a
-- bound []byte unchanged as a BLOB.

CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    finished_at BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX deliveries_pending ON deliveries (received_at, id) WHERE status = 'pending';

CREATE TABLE installations (
    id         BIGINT PRIMARY KEY,
    account    TEXT NOT NULL,
    action     TEXT NOT NULL,
    repos      TEXT NOT NULL, -- JSON array of full names
    updated_at BIGINT NOT NULL
);

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    trigger_key       TEXT NOT NULL UNIQUE,
    delivery_id       TEXT NOT NULL,
    installation_id   BIGINT NOT NULL,
    repo_id           BIGINT NOT NULL,
    owner             TEXT NOT NULL,
    repo              TEXT NOT NULL,
    number            INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    state             TEXT NOT NULL,
    head_sha          TEXT NOT NULL,
    head_ref          TEXT NOT NULL,
    base_ref          TEXT NOT NULL,
    default_branch    TEXT NOT NULL,
    fork              BOOLEAN NOT NULL,
    actor             TEXT NOT NULL,
    trigger_source    TEXT NOT NULL,
    trigger_id        BIGINT NOT NULL,
    instructions      TEXT NOT NULL,
    workflow          TEXT NOT NULL,
    check_run_id      BIGINT NOT NULL,
    dispatch_attempts INTEGER NOT NULL,
    run_id            BIGINT NOT NULL,
    superseded_by     TEXT NOT NULL,
    detail            TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    heartbeat_at      BIGINT NOT NULL
);

-- The database itself guarantees at most one active job per pull request or
-- issue, whatever the replicas do concurrently. The state list is
-- store.ActiveStates.
CREATE UNIQUE INDEX jobs_one_active ON jobs (installation_id, owner, repo, number)
    WHERE state IN ('queued', 'dispatched', 'running');

CREATE INDEX jobs_subject ON jobs (installation_id, owner, repo, number);
CREATE INDEX jobs_state_updated ON jobs (state, updated_at);
