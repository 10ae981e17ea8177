"""Activity: `record_activity` (the subject's upsert and, in the same transaction, the
wake-ups of the per-subject schedules it concerns) and `list_subjects`. (Contract:
`agentcron.store.base.Store`.)

A wake-up makes an idle schedule matching the subject due at the latest ``now + idle``
(the first activity it sees starts its watermark: subjects idle before are not its
business), and a messages schedule whose N divides the subject's new count due now, with a
pending mark for the subject. Wake-ups find the schedules of the namespace through the
``schedules_kind`` partial index: no scan, whatever the number of schedules or subjects.

The recording is the hottest write after enqueueing, and its statements differ as a whole:
each dialect writes it (`ActivityVerbs.record`) in ``store/sqlite/activity.py`` (a few short
statements) and ``store/postgres/activity.py`` (one round trip).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentcron.errors import ValidationError
from agentcron.store import _codec
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Tx
from agentcron.subjects import Subject, check_kind, check_subject

__all__ = ["KINDS", "SUBJECT_COLUMNS", "ActivityVerbs", "subject_from_row"]

SUBJECT_COLUMNS = "namespace, subject, last_activity_at, message_count, first_seen_at"
KINDS = "trigger_kind IN ('idle', 'messages', 'event')"
"""What ``schedules_kind`` indexes: a wake-up repeats it so that the index is used."""
SUBJECTS_PAGE = (
    f"SELECT {SUBJECT_COLUMNS} FROM subjects WHERE namespace = ? AND subject > ? "
    "ORDER BY subject LIMIT ?"
)


class ActivityVerbs(CoreOps):
    async def record(
        self, tx: Tx, namespace: str, subject: str, message: bool, now_s: float
    ) -> tuple[Subject, bool]:
        """Upsert the subject (its latest activity, ``message`` adds one to its count) and
        wake its schedules, in ``tx``; the subject as it is now, and whether a schedule
        woke. Each dialect writes it."""
        raise NotImplementedError

    async def record_activity(
        self, namespace: str, subject: str, kind: str, now: datetime
    ) -> Subject:
        """See `Store.record_activity`."""
        from agentcron.specs import check_name

        check_name(namespace, "namespace")
        check_subject(subject)
        check_kind(kind)
        message, now_s = kind == "message", now.timestamp()

        async def op(tx: Tx) -> tuple[Subject, bool]:
            return await self.record(tx, namespace, subject, message, now_s)

        recorded, woke = await self.write(op)
        if woke:
            self.notify("schedules")
        return recorded

    async def list_subjects(
        self, namespace: str = "default", *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Subject], str | None]:
        """See `Store.list_subjects`."""
        after, size = subjects_cursor(cursor), max(1, limit)

        async def op(tx: Tx) -> list[Subject]:
            rows = await tx.all(SUBJECTS_PAGE, (namespace, after, size + 1))
            return [subject_from_row(r) for r in rows]

        items = await self.read(op, small=True)
        if len(items) > size:
            items = items[:size]
            return items, _codec.encode_cursor(items[-1].subject)
        return items, None


def subject_from_row(row: tuple[Any, ...] | Any) -> Subject:
    """A `Subject` from a row of `SUBJECT_COLUMNS`."""
    namespace, subject, last_activity_at, message_count, first_seen_at = row
    return Subject(
        namespace=namespace,
        subject=subject,
        last_activity_at=_codec.dt(last_activity_at),
        message_count=int(message_count),
        first_seen_at=_codec.dt(first_seen_at),
    )


def subjects_cursor(cursor: str | None) -> str:
    """The subject after which a page starts (``""``: the first page)."""
    if not cursor:
        return ""
    value = _codec.decode_cursor(cursor)
    if len(value) != 1 or not isinstance(value[0], str):
        raise ValidationError("invalid cursor", field="cursor")
    return value[0]
