-- agentcron schema 2 (SQLite): per-subject triggers (idle, messages, fan-out), events,
-- debounce, quotas.

-- What kind of trigger a schedule has, and the per-subject parameters the store needs in SQL.
ALTER TABLE schedules ADD COLUMN trigger_kind TEXT NOT NULL DEFAULT 'time';
ALTER TABLE schedules ADD COLUMN subject_glob TEXT;        -- subject filter (GLOB pattern)
ALTER TABLE schedules ADD COLUMN wait_s REAL;               -- idle / debounce seconds
ALTER TABLE schedules ADD COLUMN every_n INTEGER;           -- messages: fire every N messages
UPDATE schedules SET trigger_kind = CASE
    WHEN json_extract(trigger, '$.cron') IS NOT NULL THEN 'cron'
    WHEN json_extract(trigger, '$.every') IS NOT NULL THEN 'interval'
    WHEN json_extract(trigger, '$.at') IS NOT NULL THEN 'date'
    WHEN json_extract(trigger, '$.manual') IS NOT NULL THEN 'manual'
    ELSE 'time' END;
-- Pre-firing: a time-triggered slot's run is inserted up to lead_s before the slot (its
-- available_at is the slot), so that a burst of schedules due in one second starts on time.
ALTER TABLE schedules ADD COLUMN lead_s REAL NOT NULL DEFAULT 0;
DROP INDEX schedules_due;
CREATE INDEX schedules_fire ON schedules ((next_run_at - lead_s))
    WHERE enabled = 1 AND parked = 0 AND next_run_at IS NOT NULL;
CREATE INDEX schedules_kind ON schedules (namespace, trigger_kind)
    WHERE trigger_kind IN ('idle', 'messages', 'event');

CREATE INDEX subjects_activity ON subjects (namespace, last_activity_at);
ALTER TABLE subjects ADD COLUMN first_seen_at REAL;

-- Per (schedule, subject) state of idle and messages triggers.
CREATE TABLE subject_marks (
    schedule_id  TEXT NOT NULL,
    subject      TEXT NOT NULL,
    activity_at  REAL,            -- idle: the activity the last fire answered
    count        INTEGER NOT NULL DEFAULT 0,  -- messages: message_count at the last fire
    fired_at     REAL,
    due_at       REAL,            -- idle: deferred by the cooldown until then
    PRIMARY KEY (schedule_id, subject)
);
CREATE INDEX subject_marks_due ON subject_marks (schedule_id, due_at) WHERE due_at IS NOT NULL;

-- Debounced event schedules: events gathered per subject until they stop arriving.
CREATE TABLE debounces (
    schedule_id TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    first_at    REAL NOT NULL,
    due_at      REAL NOT NULL,
    event_ids   TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (schedule_id, subject)
);
CREATE INDEX debounces_due ON debounces (schedule_id, due_at);

CREATE INDEX runs_quota ON runs (schedule_id, subject, scheduled_for)
    WHERE schedule_id IS NOT NULL AND subject IS NOT NULL;
