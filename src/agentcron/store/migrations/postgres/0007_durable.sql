-- agentcron schema 7 (PostgreSQL): durable runs. A run's steps (`ctx.step` results, finished
-- waits), signals sent to runs, and what a waiting run waits for.
--
-- A waiting run (status 'waiting') holds no lease: it is a row. `wake_at` is when it must be
-- woken (a sleep's end, a wait's timeout); `waiting_for` says for what (JSON text, "kind"
-- first: {"kind": "sleep" | "signal" | "event", ...}); `active_s` is the time it spent
-- running before, which its timeout counts (the time it waits does not).
-- (Constant defaults: no table rewrite.)
ALTER TABLE runs ADD COLUMN IF NOT EXISTS waiting_for text;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS wake_at double precision;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS active_s double precision NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS runs_wake ON runs (wake_at) WHERE status = 'waiting';
CREATE INDEX IF NOT EXISTS runs_waiting_event ON runs (id)
    WHERE status = 'waiting' AND waiting_for LIKE '{"kind":"event"%';

CREATE TABLE IF NOT EXISTS run_steps (
    run_id      bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        text NOT NULL,
    status      text NOT NULL,              -- running | succeeded | failed
    started_at  double precision NOT NULL,
    finished_at double precision,
    result      text,                       -- JSON
    error       text,                       -- JSON {"type", "message"}
    PRIMARY KEY (run_id, name)
);

CREATE TABLE IF NOT EXISTS run_signals (
    id       bigserial PRIMARY KEY,
    run_id   bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name     text NOT NULL,
    data     text,                          -- JSON
    sent_at  double precision NOT NULL,
    taken_at double precision
);
CREATE INDEX IF NOT EXISTS run_signals_run ON run_signals (run_id, name);
