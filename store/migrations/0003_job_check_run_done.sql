-- Whether the job's check run has been concluded on GitHub. A job can end in
-- the database while GitHub refuses the conclusion (an outage); the watchdog
-- finds such jobs by this column and concludes their check runs later.
ALTER TABLE jobs ADD COLUMN check_run_done BOOLEAN NOT NULL DEFAULT FALSE;
