-- agentcron schema 4 (SQLite): events are no longer indexed by created_at. Ids follow creation
-- time (one writer at a time), so retention finds its cut by id (a binary search through the
-- primary key) and every write that records an event saves an index page in its commit.

DROP INDEX IF EXISTS events_created;
