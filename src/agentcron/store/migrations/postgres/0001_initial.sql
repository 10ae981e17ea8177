-- agentcron schema 1 (PostgreSQL). Times are Unix seconds (double precision), like the SQLite
-- schema, so both stores share one row codec; JSON columns are jsonb.

CREATE TABLE agentcron_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE schedules (
    id          text PRIMARY KEY,
    namespace   text NOT NULL DEFAULT 'default',
    name        text NOT NULL,
    task        text NOT NULL,
    trigger     jsonb NOT NULL,
    policies    jsonb NOT NULL,
    args        jsonb NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    enabled     boolean NOT NULL DEFAULT true,
    parked      boolean NOT NULL DEFAULT false,
    source      text NOT NULL DEFAULT 'code',
    next_run_at double precision,
    last_run_at double precision,
    state       jsonb,
    created_at  double precision NOT NULL,
    updated_at  double precision NOT NULL,
    UNIQUE (namespace, name)
);
CREATE INDEX schedules_due ON schedules (next_run_at)
    WHERE enabled AND NOT parked AND next_run_at IS NOT NULL;
CREATE INDEX schedules_task ON schedules (task);

CREATE TABLE runs (
    id               bigserial PRIMARY KEY,
    namespace        text NOT NULL DEFAULT 'default',
    task             text NOT NULL,
    queue            text NOT NULL DEFAULT 'default',
    priority         integer NOT NULL DEFAULT 0,
    status           text NOT NULL,
    args             jsonb NOT NULL DEFAULT '{}',
    schedule_id      text,
    subject          text,
    scheduled_for    double precision,
    dedup_key        text,
    serial_key       text,
    trigger_info     jsonb,
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 1,
    timeout          double precision,
    queued_at        double precision NOT NULL,
    available_at     double precision NOT NULL,
    started_at       double precision,
    finished_at      double precision,
    lease_owner      text,
    lease_expires_at double precision,
    worker           text,
    cancel_requested boolean NOT NULL DEFAULT false,
    result           jsonb,
    error            jsonb
);
CREATE UNIQUE INDEX runs_dedup ON runs (dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX runs_claim ON runs (priority DESC, available_at, id) WHERE status = 'queued';
CREATE INDEX runs_lease ON runs (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX runs_serial ON runs (serial_key) WHERE serial_key IS NOT NULL AND status = 'running';
CREATE INDEX runs_schedule ON runs (schedule_id, id) WHERE schedule_id IS NOT NULL;
CREATE INDEX runs_unfinished ON runs (schedule_id)
    WHERE schedule_id IS NOT NULL AND status IN ('queued', 'running');
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_task ON runs (task, id);
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE subjects (
    namespace        text NOT NULL DEFAULT 'default',
    subject          text NOT NULL,
    last_activity_at double precision,
    message_count    bigint NOT NULL DEFAULT 0,
    data             jsonb,
    PRIMARY KEY (namespace, subject)
);

CREATE TABLE events (
    id         bigserial PRIMARY KEY,
    namespace  text NOT NULL DEFAULT 'default',
    type       text NOT NULL,
    subject    text,
    data       jsonb NOT NULL DEFAULT '{}',
    created_at double precision NOT NULL
);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE tasks (
    name         text PRIMARY KEY,
    info         jsonb NOT NULL DEFAULT '{}',
    last_seen_at double precision NOT NULL
);

CREATE TABLE workers (
    id                text PRIMARY KEY,
    host              text NOT NULL,
    pid               integer NOT NULL,
    queues            jsonb NOT NULL,
    concurrency       integer NOT NULL,
    running           integer NOT NULL DEFAULT 0,
    started_at        double precision NOT NULL,
    last_heartbeat_at double precision NOT NULL
);

-- Wake-ups: NOTIFY carries only "something changed on channel X"; readers re-read tables,
-- so a lost notification delays, never loses. Notifications are sent at commit and
-- collapsed within a transaction.
CREATE FUNCTION agentcron_notify_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agentcron_runs', '');
    RETURN NULL;
END $$;

CREATE FUNCTION agentcron_notify_schedules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agentcron_schedules', '');
    RETURN NULL;
END $$;

CREATE TRIGGER runs_queued_insert AFTER INSERT ON runs
    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION agentcron_notify_runs();
CREATE TRIGGER runs_queued_update AFTER UPDATE OF status ON runs
    FOR EACH ROW WHEN (NEW.status = 'queued' AND OLD.status <> 'queued')
    EXECUTE FUNCTION agentcron_notify_runs();
CREATE TRIGGER schedules_changed AFTER INSERT OR DELETE OR UPDATE OF enabled, parked, trigger ON schedules
    FOR EACH STATEMENT EXECUTE FUNCTION agentcron_notify_schedules();
