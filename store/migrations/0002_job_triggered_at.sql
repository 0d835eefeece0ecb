-- When the trigger happened, in Unix nanoseconds (0: unknown, for jobs created
-- before this column): the runner ignores comments created or edited after it.
ALTER TABLE jobs ADD COLUMN triggered_at BIGINT NOT NULL DEFAULT 0;
