"""Activity on PostgreSQL: `record_activity` and `list_subjects`. (Contract:
`agentcron.store.base.Store`.)

One round trip per activity: the subject upsert and the wake-ups of its idle and messages
schedules are CTEs of one statement; a second statement writes the pending marks of messages
schedules only when a multiple was reached. The schedule row is locked (by its wake-up)
before its mark, as the scheduler does, so activity and firing cannot deadlock. Subject
filters are globs, matched with LIKE (`agentcron.subjects.glob_to_like`, done in SQL here).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.store import _codec
from agentcron.store._ops import PgOps as _PgOps
from agentcron.store._subject_plans import SUBJECT_COLUMNS, subject_from_row, subjects_cursor
from agentcron.subjects import Subject, check_kind, check_subject

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.AsyncConnection[Any]


_KINDS = "trigger_kind IN ('idle', 'messages', 'event')"  # what schedules_kind indexes
_LIKE = (  # subject_glob as a LIKE pattern, as glob_to_like does it (%% is % for psycopg)
    r"replace(replace(replace(replace(replace(subject_glob, '\', '\\'), '%%', '\%%'), "
    r"'_', '\_'), '*', '%%'), '?', '_')"
)
_MATCH = f"(subject_glob IS NULL OR %(subject)s LIKE {_LIKE})"
_RECORD = f"""
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
    WHERE namespace = %(ns)s AND {_KINDS} AND trigger_kind = 'idle' AND enabled AND {_MATCH}
        AND (next_run_at IS NULL OR next_run_at > %(at)s + wait_s OR state IS NULL)
    RETURNING 1
), msg AS (
    UPDATE schedules SET next_run_at = LEAST(next_run_at, %(at)s) FROM s
    WHERE %(message)s AND schedules.namespace = %(ns)s AND {_KINDS}
        AND trigger_kind = 'messages' AND enabled AND every_n > 0
        AND s.message_count %% every_n = 0 AND {_MATCH}
    RETURNING schedules.id, schedules.every_n
)
SELECT s.*, (SELECT count(*) FROM idle), (SELECT array_agg(id) FROM msg),
    (SELECT array_agg(every_n) FROM msg)
FROM s
"""


class PgSubjectVerbs(_PgOps):
    async def record_activity(
        self, namespace: str, subject: str, kind: str, now: datetime
    ) -> Subject:
        from agentcron.specs import check_name

        check_name(namespace, "namespace")
        check_subject(subject)
        check_kind(kind)
        message = kind == "message"
        params = {"ns": namespace, "subject": subject, "at": now.timestamp(),
                  "inc": int(message), "message": message}  # fmt: skip

        async def op(conn: Conn) -> tuple[Subject, bool]:
            row = await _one(conn, _RECORD, params)
            assert row is not None
            recorded, idle_woken, ids, every = subject_from_row(row[:5]), row[5], row[6], row[7]
            if ids:
                await conn.execute(
                    "INSERT INTO subject_marks (schedule_id, subject, count, due_at) "
                    "SELECT v.id, %s, %s - v.n, %s FROM unnest(%s::text[], %s::int[]) AS v(id, n) "
                    "ON CONFLICT (schedule_id, subject) DO UPDATE SET "
                    "due_at = coalesce(subject_marks.due_at, excluded.due_at)",
                    (subject, recorded.message_count, params["at"], ids, every),
                )
            woke = bool(idle_woken or ids)
            if woke:  # schedules_changed does not fire on next_run_at: wake other schedulers
                await conn.execute("SELECT pg_notify('agentcron_schedules', '')")
            return recorded, woke

        recorded, woke = await self._tx(op)
        if woke:
            self.notify("schedules")
        return recorded

    async def list_subjects(
        self, namespace: str = "default", *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Subject], str | None]:
        after, size = subjects_cursor(cursor), max(1, limit)

        async def op(conn: Conn) -> list[Subject]:
            rows = await _all(
                conn,
                f"SELECT {SUBJECT_COLUMNS} FROM subjects WHERE namespace = %s AND subject > %s "
                "ORDER BY subject LIMIT %s",
                (namespace, after, size + 1),
            )
            return [subject_from_row(r) for r in rows]

        items = await self._tx(op)
        if len(items) > size:
            items = items[:size]
            return items, _codec.encode_cursor(items[-1].subject)
        return items, None


async def _one(conn: Conn, sql: str, params: Any = ()) -> tuple[Any, ...] | None:
    cur = await conn.execute(sql, params)
    return await cur.fetchone()


async def _all(conn: Conn, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql, params)
    return await cur.fetchall()
