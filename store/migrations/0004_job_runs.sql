-- The runner side of a job: which workflow run claimed it, the hash of its
-- session secret (never the secret), the last progress shown on its check run,
-- and the model tokens it spent through the server. One row per claimed job.
CREATE TABLE job_runs (
    job_id            TEXT PRIMARY KEY,
    run_id            BIGINT NOT NULL,
    run_attempt       BIGINT NOT NULL,
    session_hash      TEXT NOT NULL,
    claims            INTEGER NOT NULL,
    claimed_at        BIGINT NOT NULL,
    token_expires_at  BIGINT NOT NULL DEFAULT 0,
    progress          TEXT NOT NULL DEFAULT '',
    progress_at       BIGINT NOT NULL DEFAULT 0,
    model_tokens_used BIGINT NOT NULL DEFAULT 0,
    model_token_budget BIGINT NOT NULL DEFAULT 0
);

-- The audit trail of jobs: credentials issued and revoked, the GitHub calls a
-- runner made with its token, refusals. Data is a JSON object.
CREATE TABLE audit_events (
    id     TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    at     BIGINT NOT NULL,
    type   TEXT NOT NULL,
    data   TEXT NOT NULL
);

CREATE INDEX audit_events_job ON audit_events (job_id, at, id);
