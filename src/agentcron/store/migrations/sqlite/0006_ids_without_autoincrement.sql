-- runs and events without AUTOINCREMENT: it updates sqlite_sequence on every insert, one
-- page more in every commit that makes a run or an event (an enqueue, a claim, a finish), and
-- the commits of one writer are what every other process waits for.
--
-- Ids still never repeat. Without AUTOINCREMENT SQLite gives max(id) + 1, which would give
-- an id again once the newest rows are deleted (a purge that empties the table, or takes the
-- newest finished run): a subscriber's event cursor would then skip new events, a run id
-- held by a client would name another run. So the highest id ever deleted from the top of a
-- table is kept in id_floors (written by deletes only: a purge, never an insert), and an
-- insert into a table whose largest id is below its floor first puts a placeholder row at the
-- floor, which the insert's own AFTER trigger deletes: the new row gets floor + 1, the
-- placeholder is never seen outside the statement, and last_insert_rowid() is the new row's.
-- An insert that checks this reads two index pages it already has in cache; it writes
-- nothing more.

CREATE TABLE id_floors (                   -- the highest id deleted from the top of a table
    name TEXT PRIMARY KEY,
    id   INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO id_floors (name, id) SELECT name, seq FROM sqlite_sequence
    WHERE name IN ('runs', 'events') AND seq > 0;

CREATE TABLE runs_new (
    id               INTEGER PRIMARY KEY,
    namespace        TEXT NOT NULL DEFAULT 'default',
    task             TEXT NOT NULL,
    queue            TEXT NOT NULL DEFAULT 'default',
    priority         INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    args             TEXT NOT NULL DEFAULT '{}',
    schedule_id      TEXT,
    subject          TEXT,
    scheduled_for    REAL,
    dedup_key        TEXT,
    serial_key       TEXT,
    trigger_info     TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 1,
    timeout          REAL,
    queued_at        REAL NOT NULL,
    available_at     REAL NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    lease_owner      TEXT,
    lease_expires_at REAL,
    worker           TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    result           TEXT,
    error            TEXT,
    recoveries       INTEGER NOT NULL DEFAULT 0,
    max_recoveries   INTEGER NOT NULL DEFAULT 3
);
INSERT INTO runs_new (id, namespace, task, queue, priority, status, args, schedule_id, subject,
    scheduled_for, dedup_key, serial_key, trigger_info, attempts, max_attempts, timeout,
    queued_at, available_at, started_at, finished_at, lease_owner, lease_expires_at, worker,
    cancel_requested, result, error, recoveries, max_recoveries)
SELECT id, namespace, task, queue, priority, status, args, schedule_id, subject,
    scheduled_for, dedup_key, serial_key, trigger_info, attempts, max_attempts, timeout,
    queued_at, available_at, started_at, finished_at, lease_owner, lease_expires_at, worker,
    cancel_requested, result, error, recoveries, max_recoveries
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
CREATE UNIQUE INDEX runs_dedup ON runs (dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX runs_claim ON runs (priority DESC, available_at, id) WHERE status = 'queued';
CREATE INDEX runs_lease ON runs (lease_expires_at) WHERE status = 'running';
CREATE INDEX runs_serial ON runs (serial_key) WHERE serial_key IS NOT NULL AND status = 'running';
CREATE INDEX runs_schedule ON runs (schedule_id, id) WHERE schedule_id IS NOT NULL;
CREATE INDEX runs_unfinished ON runs (schedule_id)
    WHERE schedule_id IS NOT NULL AND status IN ('queued', 'running');
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX runs_quota ON runs (schedule_id, subject, scheduled_for)
    WHERE schedule_id IS NOT NULL AND subject IS NOT NULL;
CREATE INDEX runs_status ON runs (status, id) WHERE status NOT IN ('queued', 'running');
CREATE INDEX runs_task ON runs (task, id) WHERE status NOT IN ('queued', 'running');

CREATE TABLE events_new (
    id         INTEGER PRIMARY KEY,
    namespace  TEXT NOT NULL DEFAULT 'default',
    type       TEXT NOT NULL,
    subject    TEXT,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
INSERT INTO events_new (id, namespace, type, subject, data, created_at)
    SELECT id, namespace, type, subject, data, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

-- Deleting the newest row raises the floor.
CREATE TRIGGER runs_floor AFTER DELETE ON runs
WHEN old.id > coalesce((SELECT max(id) FROM runs), 0)
BEGIN
    INSERT INTO id_floors (name, id) VALUES ('runs', old.id)
        ON CONFLICT (name) DO UPDATE SET id = max(id, excluded.id);
END;
CREATE TRIGGER events_floor AFTER DELETE ON events
WHEN old.id > coalesce((SELECT max(id) FROM events), 0)
BEGIN
    INSERT INTO id_floors (name, id) VALUES ('events', old.id)
        ON CONFLICT (name) DO UPDATE SET id = max(id, excluded.id);
END;

-- An insert below the floor: a placeholder at the floor first (not for a run whose dedup key
-- is taken: that insert does nothing, and its AFTER trigger would not remove the placeholder).
CREATE TRIGGER runs_above_floor BEFORE INSERT ON runs
WHEN (SELECT id FROM id_floors WHERE name = 'runs') > coalesce((SELECT max(id) FROM runs), 0)
    AND (new.dedup_key IS NULL OR NOT EXISTS (SELECT 1 FROM runs WHERE dedup_key = new.dedup_key))
BEGIN
    INSERT INTO runs (id, task, status, queued_at, available_at)
        SELECT id, '', 'placeholder', 0, 0 FROM id_floors WHERE name = 'runs';
END;
CREATE TRIGGER runs_placeholder_gone AFTER INSERT ON runs
WHEN new.id - 1 = (SELECT id FROM id_floors WHERE name = 'runs')
BEGIN
    DELETE FROM runs WHERE id = new.id - 1 AND status = 'placeholder';
END;
CREATE TRIGGER events_above_floor BEFORE INSERT ON events
WHEN (SELECT id FROM id_floors WHERE name = 'events') > coalesce((SELECT max(id) FROM events), 0)
BEGIN
    INSERT INTO events (id, type, created_at)
        SELECT id, '', 0 FROM id_floors WHERE name = 'events';
END;
CREATE TRIGGER events_placeholder_gone AFTER INSERT ON events
WHEN new.id - 1 = (SELECT id FROM id_floors WHERE name = 'events')
BEGIN
    DELETE FROM events WHERE id = new.id - 1 AND type = '';
END;
