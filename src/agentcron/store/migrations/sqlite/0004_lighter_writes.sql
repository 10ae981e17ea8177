-- agentcron schema 4 (SQLite): fewer index pages in the commits of the hot path (an enqueue,
-- a claim), each of which writes every page it touched to the WAL.
--
-- Events are no longer indexed by created_at: ids follow creation time (one writer at a time),
-- so retention finds its cut by id (a binary search through the primary key).
DROP INDEX IF EXISTS events_created;

-- The status and task indexes hold finished runs only. Queued and running runs have their own
-- partial indexes (runs_claim, runs_lease); listings and counts read those for them.
DROP INDEX IF EXISTS runs_status;
CREATE INDEX runs_status ON runs (status, id) WHERE status NOT IN ('queued', 'running');
DROP INDEX IF EXISTS runs_task;
CREATE INDEX runs_task ON runs (task, id) WHERE status NOT IN ('queued', 'running');
