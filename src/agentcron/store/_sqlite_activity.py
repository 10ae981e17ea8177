"""Activity on SQLite: `record_activity` (the subject upsert and, in the same transaction, the
wake-ups of the per-subject schedules it concerns) and `list_subjects`. (Contract:
`agentcron.store.base.Store`.)

Wake-ups find the idle and messages schedules of the namespace through the ``schedules_kind``
partial index (the queries repeat its ``trigger_kind IN (...)`` so that SQLite uses it): no
scan, whatever the number of schedules or subjects.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from agentcron.store import _codec
from agentcron.store._ops import SqliteOps as _Ops
from agentcron.store._subject_plans import SUBJECT_COLUMNS, subject_from_row, subjects_cursor
from agentcron.subjects import Subject, check_kind, check_subject

_KINDS = "trigger_kind IN ('idle', 'messages', 'event')"  # what schedules_kind indexes
_MATCH = "(subject_glob IS NULL OR ? GLOB subject_glob)"


class SubjectVerbs(_Ops):
    async def record_activity(
        self, namespace: str, subject: str, kind: str, now: datetime
    ) -> Subject:
        from agentcron.specs import check_name

        check_name(namespace, "namespace")
        check_subject(subject)
        check_kind(kind)
        now_s = now.timestamp()

        def op(conn: sqlite3.Connection) -> tuple[Subject, bool]:
            return _record(conn, namespace, subject, kind == "message", now_s)

        recorded, woke = await self._write(op)
        if woke:
            self.notify("schedules")
        result: Subject = recorded
        return result

    async def list_subjects(
        self, namespace: str = "default", *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Subject], str | None]:
        after = subjects_cursor(cursor)

        def op(conn: sqlite3.Connection) -> list[Subject]:
            rows = conn.execute(
                f"SELECT {SUBJECT_COLUMNS} FROM subjects WHERE namespace = ? AND subject > ? "
                "ORDER BY subject LIMIT ?",
                (namespace, after, max(1, limit) + 1),
            ).fetchall()
            return [subject_from_row(r) for r in rows]

        items: list[Subject] = await self._read(op)
        if len(items) > max(1, limit):
            items = items[: max(1, limit)]
            return items, _codec.encode_cursor(items[-1].subject)
        return items, None


# -- activity ----------------------------------------------------------------------------------
def _record(
    conn: sqlite3.Connection, namespace: str, subject: str, message: bool, now_s: float
) -> tuple[Subject, bool]:
    row = conn.execute(
        f"INSERT INTO subjects ({SUBJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (namespace, subject) DO UPDATE SET "
        "last_activity_at = max(coalesce(last_activity_at, excluded.last_activity_at), "
        "excluded.last_activity_at), "
        "message_count = message_count + excluded.message_count, "
        "first_seen_at = min(coalesce(first_seen_at, excluded.first_seen_at), "
        "excluded.first_seen_at) "
        f"RETURNING {SUBJECT_COLUMNS}",
        (namespace, subject, now_s, int(message), now_s),
    ).fetchone()
    recorded = subject_from_row(row)
    woke = _wake_idle(conn, namespace, subject, now_s)
    if message:
        woke = _wake_messages(conn, namespace, subject, recorded.message_count, now_s) or woke
    return recorded, woke


def _wake_idle(conn: sqlite3.Connection, namespace: str, subject: str, now_s: float) -> bool:
    """Idle schedules matching ``subject`` are due at the latest ``now + idle``; the first
    activity one sees starts its watermark (subjects idle before are not its business)."""
    cur = conn.execute(
        "UPDATE schedules SET next_run_at = min(coalesce(next_run_at, ?1 + wait_s), ?1 + wait_s), "
        "state = coalesce(state, json_object('version', 1, 'idle_activity', ?1 - wait_s)) "
        f"WHERE namespace = ?2 AND {_KINDS} AND trigger_kind = 'idle' AND enabled = 1 "
        "AND (subject_glob IS NULL OR ?3 GLOB subject_glob) "
        "AND (next_run_at IS NULL OR next_run_at > ?1 + wait_s OR state IS NULL)",
        (now_s, namespace, subject),
    )
    return cur.rowcount > 0


def _wake_messages(
    conn: sqlite3.Connection, namespace: str, subject: str, count: int, now_s: float
) -> bool:
    """Messages schedules whose N divides the new ``count`` get a pending mark and are due."""
    rows = conn.execute(
        f"SELECT id, every_n FROM schedules WHERE namespace = ? AND {_KINDS} "
        f"AND trigger_kind = 'messages' AND enabled = 1 AND every_n > 0 AND ? % every_n = 0 "
        f"AND {_MATCH}",
        (namespace, count, subject),
    ).fetchall()
    for schedule_id, every_n in rows:
        conn.execute(
            "INSERT INTO subject_marks (schedule_id, subject, count, due_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (schedule_id, subject) DO UPDATE SET "
            "due_at = coalesce(due_at, excluded.due_at)",
            (schedule_id, subject, count - every_n, now_s),
        )
        conn.execute(
            "UPDATE schedules SET next_run_at = ? WHERE id = ? "
            "AND (next_run_at IS NULL OR next_run_at > ?)",
            (now_s, schedule_id, now_s),
        )
    return bool(rows)
