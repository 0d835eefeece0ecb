-- The id of the repository's owner, from the signed webhook payload: the
-- claim compares it with the Actions token's repository_owner_id without
-- asking GitHub. 0 for jobs created before this column, whose claim reads
-- the repository from GitHub as before.
ALTER TABLE jobs ADD COLUMN owner_id BIGINT NOT NULL DEFAULT 0;
