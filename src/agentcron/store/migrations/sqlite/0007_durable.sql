-- agentcron schema 7 (SQLite): durable runs. A run's steps (`ctx.step` results, finished
-- waits), signals sent to runs, and what a waiting run waits for.
--
-- A waiting run (status 'waiting') holds no lease: it is a row. `wake_at` is when it must be
-- woken (a sleep's end, a wait's timeout); `waiting_for` says for what (JSON text, "kind"
-- first: {"kind": "sleep" | "signal" | "event", ...}); `active_s` is the time it spent
-- running before, which its timeout counts (the time it waits does not).
ALTER TABLE runs ADD COLUMN waiting_for TEXT;
ALTER TABLE runs ADD COLUMN wake_at REAL;
ALTER TABLE runs ADD COLUMN active_s REAL NOT NULL DEFAULT 0;
CREATE INDEX runs_wake ON runs (wake_at) WHERE status = 'waiting';
CREATE INDEX runs_waiting_event ON runs (id)
    WHERE status = 'waiting' AND waiting_for LIKE '{"kind":"event"%';

CREATE TABLE run_steps (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,              -- running | succeeded | failed
    started_at  REAL NOT NULL,
    finished_at REAL,
    result      TEXT,                       -- JSON
    error       TEXT,                       -- JSON {"type", "message"}
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

CREATE TABLE run_signals (
    id       INTEGER PRIMARY KEY,           -- (no AUTOINCREMENT: ids only order signals)
    run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    data     TEXT,                          -- JSON
    sent_at  REAL NOT NULL,
    taken_at REAL
);
CREATE INDEX run_signals_run ON run_signals (run_id, name);
