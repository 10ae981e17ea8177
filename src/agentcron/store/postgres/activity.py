"""`record_activity` on PostgreSQL (`agentcron.store.core.activity`), in one round trip:
the subject's upsert and the wake-ups of its idle and messages schedules are CTEs of one
statement; a second statement writes the pending marks of messages schedules only when a
multiple was reached. The schedule row is locked (by its wake-up) before its mark, as the
scheduler does, so activity and firing cannot deadlock. Subject filters are globs, matched
with LIKE (`agentcron.rules.subjects.glob_to_like`, done in SQL here)."""

from __future__ import annotations

from agentcron.store.core.activity import KINDS, SUBJECT_COLUMNS, ActivityVerbs, subject_from_row
from agentcron.store.db import Tx
from agentcron.store.postgres.tx import PgTx
from agentcron.subjects import Subject

__all__ = ["PgActivityVerbs"]

_LIKE = (  # subject_glob as a LIKE pattern, as glob_to_like does it (%% is % for psycopg)
    r"replace(replace(replace(replace(replace(subject_glob, '\', '\\'), '%%', '\%%'), "
    r"'_', '\_'), '*', '%%'), '?', '_')"
)
_MATCH = f"(subject_glob IS NULL OR %(subject)s LIKE {_LIKE})"
# psycopg's own placeholders (named, each used several times): run on the connection.
RECORD = f"""
WITH s AS (
    INSERT INTO subjects ({SUBJECT_COLUMNS})
    VALUES (%(ns)s, %(subject)s, %(at)s, %(inc)s, %(at)s)
    ON CONFLICT (namespace, subject) DO UPDATE SET
        last_activity_at = GREATEST(subjects.last_activity_at, excluded.last_activity_at),
        message_count = subjects.message_count + excluded.message_count,
        first_seen_at = LEAST(subjects.first_seen_at, excluded.first_seen_at)
    RETURNING {SUBJECT_COLUMNS}
), idle AS (
    UPDATE schedules SET next_run_at = LEAST(next_run_at, %(at)s + wait_s),
        state = coalesce(state, jsonb_build_object(
            'version', 1, 'idle_activity', %(at)s::float8 - wait_s))
    WHERE namespace = %(ns)s AND {KINDS} AND trigger_kind = 'idle' AND enabled AND {_MATCH}
        AND (next_run_at IS NULL OR next_run_at > %(at)s + wait_s OR state IS NULL)
    RETURNING 1
), msg AS (
    UPDATE schedules SET next_run_at = LEAST(next_run_at, %(at)s) FROM s
    WHERE %(message)s AND schedules.namespace = %(ns)s AND {KINDS}
        AND trigger_kind = 'messages' AND enabled AND every_n > 0
        AND s.message_count %% every_n = 0 AND {_MATCH}
    RETURNING schedules.id, schedules.every_n
)
SELECT s.*, (SELECT count(*) FROM idle), (SELECT array_agg(id) FROM msg),
    (SELECT array_agg(every_n) FROM msg)
FROM s
"""
PENDING_MARKS = (
    "INSERT INTO subject_marks (schedule_id, subject, count, due_at) "
    "SELECT v.id, ?, ? - v.n, ? FROM unnest(?::text[], ?::int[]) AS v(id, n) "
    "ON CONFLICT (schedule_id, subject) DO UPDATE SET "
    "due_at = coalesce(subject_marks.due_at, excluded.due_at)"
)
# schedules_changed does not fire on next_run_at: wake the other processes' schedulers
NOTIFY_SCHEDULES = "SELECT pg_notify('agentcron_schedules', '')"


class PgActivityVerbs(ActivityVerbs):
    async def record(
        self, tx: Tx, namespace: str, subject: str, message: bool, now_s: float
    ) -> tuple[Subject, bool]:
        """See `ActivityVerbs.record`."""
        params = {"ns": namespace, "subject": subject, "at": now_s,
                  "inc": int(message), "message": message}  # fmt: skip
        assert isinstance(tx, PgTx)
        row = await (await tx.conn.execute(RECORD, params)).fetchone()
        assert row is not None
        recorded, idle_woken, ids, every = subject_from_row(row[:5]), row[5], row[6], row[7]
        if ids:
            await tx.execute(PENDING_MARKS, (subject, recorded.message_count, now_s, ids, every))
        woke = bool(idle_woken or ids)
        if woke:
            await tx.execute(NOTIFY_SCHEDULES)
        return recorded, woke
