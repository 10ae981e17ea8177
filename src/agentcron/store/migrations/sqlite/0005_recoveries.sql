-- agentcron schema 5 (SQLite): a run whose worker died (its lease expired) is queued again
-- up to max_recoveries times whatever its retries; recoveries counts how often it was.
-- max_recoveries is the task's, stored at enqueue, so that any process's reaper knows it.
ALTER TABLE runs ADD COLUMN recoveries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN max_recoveries INTEGER NOT NULL DEFAULT 3;
