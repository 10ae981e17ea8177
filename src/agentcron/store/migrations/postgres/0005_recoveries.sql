-- agentcron schema 5 (PostgreSQL): a run whose worker died (its lease expired) is queued
-- again up to max_recoveries times whatever its retries; recoveries counts how often it was.
-- max_recoveries is the task's, stored at enqueue, so that any process's reaper knows it.
-- (A constant default: no table rewrite.)
ALTER TABLE runs ADD COLUMN IF NOT EXISTS recoveries integer NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS max_recoveries integer NOT NULL DEFAULT 3;
