-- agentcron schema 1 (SQLite). Times are Unix seconds (REAL); JSON columns are TEXT holding
-- JSON objects with a "version" key where their shape may change.

CREATE TABLE agentcron_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    namespace   TEXT NOT NULL DEFAULT 'default',
    name        TEXT NOT NULL,
    task        TEXT NOT NULL,
    trigger     TEXT NOT NULL,              -- {"version": 1, "cron": ..., "timezone": ...}
    policies    TEXT NOT NULL,              -- {"version": 1, "misfire": ..., "overlap": ...}
    args        TEXT NOT NULL DEFAULT '{}',
    description TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    parked      INTEGER NOT NULL DEFAULT 0,  -- task not registered: kept, not fired
    source      TEXT NOT NULL DEFAULT 'code',
    next_run_at REAL,
    last_run_at REAL,
    state       TEXT,                       -- trigger state (per-subject triggers)
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    UNIQUE (namespace, name)
);
CREATE INDEX schedules_due ON schedules (next_run_at)
    WHERE enabled = 1 AND parked = 0 AND next_run_at IS NOT NULL;
CREATE INDEX schedules_task ON schedules (task);

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
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
    error            TEXT
);
CREATE UNIQUE INDEX runs_dedup ON runs (dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX runs_claim ON runs (priority DESC, available_at, id) WHERE status = 'queued';
CREATE INDEX runs_lease ON runs (lease_expires_at) WHERE status = 'running';
CREATE INDEX runs_serial ON runs (serial_key) WHERE serial_key IS NOT NULL AND status = 'running';
CREATE INDEX runs_schedule ON runs (schedule_id, id) WHERE schedule_id IS NOT NULL;
CREATE INDEX runs_unfinished ON runs (schedule_id)
    WHERE schedule_id IS NOT NULL AND status IN ('queued', 'running');
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_task ON runs (task, id);
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE subjects (
    namespace        TEXT NOT NULL DEFAULT 'default',
    subject          TEXT NOT NULL,
    last_activity_at REAL,
    message_count    INTEGER NOT NULL DEFAULT 0,
    data             TEXT,
    PRIMARY KEY (namespace, subject)
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace  TEXT NOT NULL DEFAULT 'default',
    type       TEXT NOT NULL,
    subject    TEXT,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE tasks (                       -- tasks some process registered (for validation)
    name         TEXT PRIMARY KEY,
    info         TEXT NOT NULL DEFAULT '{}',
    last_seen_at REAL NOT NULL
);

CREATE TABLE workers (
    id                TEXT PRIMARY KEY,
    host              TEXT NOT NULL,
    pid               INTEGER NOT NULL,
    queues            TEXT NOT NULL,           -- JSON list
    concurrency       INTEGER NOT NULL,
    running           INTEGER NOT NULL DEFAULT 0,
    started_at        REAL NOT NULL,
    last_heartbeat_at REAL NOT NULL
);
