-- agentcron schema 4 (PostgreSQL): less work in every write of the hot path (an enqueue, a
-- claim, a result), as schema 4 did on SQLite.
--
-- The status and task indexes hold finished runs only. Queued and running runs have their own
-- partial indexes (runs_claim, runs_lease); listings read those for them. A claim or a result
-- no longer adds entries to two indexes that cover every run ever made.
DROP INDEX IF EXISTS runs_status;
CREATE INDEX runs_status ON runs (status, id) WHERE status NOT IN ('queued', 'running');
DROP INDEX IF EXISTS runs_task;
CREATE INDEX runs_task ON runs (task, id) WHERE status NOT IN ('queued', 'running');

-- Events are no longer indexed by created_at: ids follow creation time, so retention finds
-- its cut by id (a binary search through the primary key).
DROP INDEX IF EXISTS events_created;

-- One wake-up per statement that inserts runs, not one trigger call per row (a statement
-- that inserts no queued run wakes workers for nothing, which costs one empty claim).
DROP TRIGGER IF EXISTS runs_queued_insert ON runs;
CREATE TRIGGER runs_queued_insert AFTER INSERT ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION agentcron_notify_runs();

-- Event readers are woken by the process that wrote the events, after its commit, at most
-- once per 50 ms (store/_pg_announce.py), not by a NOTIFY inside every writing
-- transaction: each NOTIFY takes a database-wide lock at commit and signals every listening
-- session, and lifecycle events are written by nearly every transaction of a busy worker.
DROP TRIGGER IF EXISTS events_inserted ON events;
DROP FUNCTION IF EXISTS agentcron_notify_events();
