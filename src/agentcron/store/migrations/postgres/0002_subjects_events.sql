-- agentcron schema 2 (PostgreSQL): per-subject triggers (idle, messages, fan-out), events,
-- debounce, quotas.

ALTER TABLE schedules ADD COLUMN trigger_kind text NOT NULL DEFAULT 'time';
ALTER TABLE schedules ADD COLUMN subject_glob text;
ALTER TABLE schedules ADD COLUMN wait_s double precision;
ALTER TABLE schedules ADD COLUMN every_n integer;
UPDATE schedules SET trigger_kind = CASE
    WHEN trigger ? 'cron' THEN 'cron'
    WHEN trigger ? 'every' THEN 'interval'
    WHEN trigger ? 'at' THEN 'date'
    WHEN trigger ? 'manual' THEN 'manual'
    ELSE 'time' END;
-- Pre-firing: a time-triggered slot's run is inserted up to lead_s before the slot (its
-- available_at is the slot), so that a burst of schedules due in one second starts on time.
ALTER TABLE schedules ADD COLUMN lead_s double precision NOT NULL DEFAULT 0;
DROP INDEX schedules_due;
CREATE INDEX schedules_fire ON schedules ((next_run_at - lead_s))
    WHERE enabled AND NOT parked AND next_run_at IS NOT NULL;
CREATE INDEX schedules_kind ON schedules (namespace, trigger_kind)
    WHERE trigger_kind IN ('idle', 'messages', 'event');

CREATE INDEX subjects_activity ON subjects (namespace, last_activity_at);
ALTER TABLE subjects ADD COLUMN first_seen_at double precision;

CREATE TABLE subject_marks (
    schedule_id  text NOT NULL,
    subject      text NOT NULL,
    activity_at  double precision,
    count        bigint NOT NULL DEFAULT 0,
    fired_at     double precision,
    due_at       double precision,
    PRIMARY KEY (schedule_id, subject)
);
CREATE INDEX subject_marks_due ON subject_marks (schedule_id, due_at) WHERE due_at IS NOT NULL;

CREATE TABLE debounces (
    schedule_id text NOT NULL,
    subject     text NOT NULL DEFAULT '',
    first_at    double precision NOT NULL,
    due_at      double precision NOT NULL,
    event_ids   jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (schedule_id, subject)
);
CREATE INDEX debounces_due ON debounces (schedule_id, due_at);

CREATE INDEX runs_quota ON runs (schedule_id, subject, scheduled_for)
    WHERE schedule_id IS NOT NULL AND subject IS NOT NULL;

CREATE FUNCTION agentcron_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agentcron_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_inserted AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION agentcron_notify_events();
