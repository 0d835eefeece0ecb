-- Jobs are keyed by repository id: a renamed repository keeps its id, so one
-- pull request can never hold two active jobs under two names. Rows from
-- before repository ids were required (0) keep the old key's protection off.
DROP INDEX jobs_one_active;
CREATE UNIQUE INDEX jobs_one_active ON jobs (repo_id, number)
    WHERE state IN ('queued', 'dispatched', 'running') AND repo_id <> 0;
DROP INDEX jobs_subject;
CREATE INDEX jobs_subject ON jobs (repo_id, number);

-- The trigger key of the `/agent cancel` that cancelled a job, so that a
-- retried cancel finds what it did before.
ALTER TABLE jobs ADD COLUMN cancelled_by TEXT NOT NULL DEFAULT '';

-- Who is taking a job through its steps (check run, reaction, dispatch), until
-- when: a retried trigger resumes the steps only when nobody else holds them.
ALTER TABLE jobs ADD COLUMN step_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN step_until BIGINT NOT NULL DEFAULT 0;

-- A delivery is run by the replica that holds its lease: the one that received
-- it, or the one that claimed it after the lease expired (its holder died). A
-- failed attempt is tried again from next_attempt_at.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
-- Pruning walks deliveries by age.
CREATE INDEX deliveries_received ON deliveries (received_at);

-- Background duties that one replica at a time performs (the watchdog, the
-- redelivery sweep, pruning) are held by a lease row each.
CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);

-- Comments the server posts, by idempotency key: a retried step finds the
-- comment it posted (or began to post) instead of posting it again.
CREATE TABLE replies (
    key        TEXT PRIMARY KEY,
    repo_id    BIGINT NOT NULL,
    number     INTEGER NOT NULL,
    comment_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    posted_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX replies_created ON replies (created_at);
