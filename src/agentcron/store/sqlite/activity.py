"""`record_activity` on SQLite (`agentcron.store.core.activity`): the subject's upsert, the
wake-up of its idle schedules, and the marks of the messages schedules whose N its new count
reached; short statements on the writer's connection."""

from __future__ import annotations

from agentcron.store.core.activity import KINDS, SUBJECT_COLUMNS, ActivityVerbs, subject_from_row
from agentcron.store.db import Tx
from agentcron.subjects import Subject

__all__ = ["SqliteActivityVerbs"]

RECORD = (
    f"INSERT INTO subjects ({SUBJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (namespace, subject) DO UPDATE SET "
    "last_activity_at = max(coalesce(last_activity_at, excluded.last_activity_at), "
    "excluded.last_activity_at), "
    "message_count = message_count + excluded.message_count, "
    "first_seen_at = min(coalesce(first_seen_at, excluded.first_seen_at), "
    "excluded.first_seen_at) "
    f"RETURNING {SUBJECT_COLUMNS}"
)
WAKE_IDLE = (
    "UPDATE schedules SET next_run_at = min(coalesce(next_run_at, ?1 + wait_s), ?1 + wait_s), "
    "state = coalesce(state, json_object('version', 1, 'idle_activity', ?1 - wait_s)) "
    f"WHERE namespace = ?2 AND {KINDS} AND trigger_kind = 'idle' AND enabled = 1 "
    "AND (subject_glob IS NULL OR ?3 GLOB subject_glob) "
    "AND (next_run_at IS NULL OR next_run_at > ?1 + wait_s OR state IS NULL)"
)
MESSAGE_SCHEDULES = (
    f"SELECT id, every_n FROM schedules WHERE namespace = ? AND {KINDS} "
    "AND trigger_kind = 'messages' AND enabled = 1 AND every_n > 0 AND ? % every_n = 0 "
    "AND (subject_glob IS NULL OR ? GLOB subject_glob)"
)
PENDING_MARK = (
    "INSERT INTO subject_marks (schedule_id, subject, count, due_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (schedule_id, subject) DO UPDATE SET due_at = coalesce(due_at, excluded.due_at)"
)
DUE_NOW = (
    "UPDATE schedules SET next_run_at = ? WHERE id = ? AND (next_run_at IS NULL OR next_run_at > ?)"
)


class SqliteActivityVerbs(ActivityVerbs):
    async def record(
        self, tx: Tx, namespace: str, subject: str, message: bool, now_s: float
    ) -> tuple[Subject, bool]:
        """See `ActivityVerbs.record`."""
        row = await tx.one(RECORD, (namespace, subject, now_s, int(message), now_s))
        recorded = subject_from_row(row)
        woke = await tx.execute(WAKE_IDLE, (now_s, namespace, subject)) > 0
        if message:
            count = recorded.message_count
            rows = await tx.all(MESSAGE_SCHEDULES, (namespace, count, subject))
            for schedule_id, every_n in rows:
                await tx.execute(PENDING_MARK, (schedule_id, subject, count - every_n, now_s))
                await tx.execute(DUE_NOW, (now_s, schedule_id, now_s))
            woke = woke or bool(rows)
        return recorded, woke
