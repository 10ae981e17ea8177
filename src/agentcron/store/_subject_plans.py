"""What both stores share for per-subject firing: row decoding, the idle watermark, and the
runs of one fanned-out slot. (The SQL lives in ``_sqlite_subjects`` / ``_pg_subjects``.)"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agentcron.durations import parse_duration
from agentcron.errors import ValidationError
from agentcron.models import NewRun, RunStatus, Schedule
from agentcron.store import _codec
from agentcron.store.base import Planner
from agentcron.subjects import Subject

IDLE_BATCH = 1000
"""Subjects one idle evaluation handles; more are left to the next (at once)."""
MARKS_BATCH = 1000
"""Deferred or pending subject marks one evaluation handles."""
NEXT_SCAN = 256
"""Subjects read to find the next idle deadline of a filtered schedule (bounded: beyond,
the schedule wakes early and looks again)."""
SUBJECT_COLUMNS = "namespace, subject, last_activity_at, message_count, first_seen_at"

_STAND_IN = "{agentcron:subject}"


def subject_from_row(row: tuple[Any, ...] | Any) -> Subject:
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


def cooldown_s(schedule: Schedule) -> float | None:
    value = schedule.trigger.get("cooldown")
    return parse_duration(value).total_seconds() if value else None


@dataclasses.dataclass
class IdleWatermark:
    """How far an idle schedule has looked: every subject whose ``last_activity_at`` is below
    ``activity`` (or equal to it, with a name up to ``after``) was evaluated. Kept in the
    schedule's ``state`` as ``{"idle_activity": ..., "idle_after": ...}``; missing means the
    schedule has looked at nothing yet (`record_activity` sets it at the first activity)."""

    activity: float | None
    after: str | None
    state: dict[str, Any]

    @classmethod
    def load(cls, text: str | None) -> IdleWatermark:
        state = _codec.loads(text) if text else {}
        if not isinstance(state, dict):
            state = {}
        return cls(state.get("idle_activity"), state.get("idle_after"), state)

    def dump(self) -> str:
        state = {**self.state, "version": 1, "idle_activity": self.activity}
        state["idle_after"] = self.after
        return _codec.dumps(state)


def skipped(run: NewRun, reason: str) -> NewRun:
    return dataclasses.replace(
        run, status=RunStatus.SKIPPED, error={"type": "Skipped", "message": reason}
    )


def fan_out_info(slot_run: NewRun) -> dict[str, Any]:
    """The trigger info of a slot's per-subject runs: the slot's (``missed``...), kind fan-out
    (a manual trigger's stay ``manual``)."""
    info = {k: v for k, v in (slot_run.trigger_info or {}).items() if k not in ("schedule",)}
    info["kind"] = "manual" if info.get("kind") == "manual" else "fan-out"
    return info


NEW_RUNS_BY_STATUS = (
    "SELECT status, count(*) FROM runs WHERE schedule_id = {p} AND id > {p} GROUP BY status"
)
"""How many runs of a schedule a transaction inserted, by status: those with an id above the
largest before it (through the ``runs_schedule`` index: cost O(runs inserted))."""


def fired_before(schedule: Schedule, slot_run: NewRun) -> bool:
    """A slot at or before the schedule's last fired slot was fanned out already (its runs
    carry per-subject dedup keys, so nothing holds the slot's own key): fire it once only."""
    done, slot = schedule.last_run_at, slot_run.scheduled_for
    return done is not None and slot is not None and slot <= done


class SlotRuns:
    """The runs of one fanned-out slot, one per subject.

    The planner is asked once, for a stand-in subject; when its run depends on the subject
    only through ``subject`` and the dedup key (what `Planner.for_subject` promises), each
    subject's insert parameters are that template with both replaced, which is several times
    cheaper than planning 100,000 runs. Otherwise the planner is asked per subject.
    """

    def __init__(
        self, schedule: Schedule, planner: Planner, slot_run: NewRun, now_s: float
    ) -> None:
        assert slot_run.scheduled_for is not None
        self.schedule, self.planner, self.now_s = schedule, planner, now_s
        self.slot: datetime = slot_run.scheduled_for
        self.info = fan_out_info(slot_run)
        self.available_at = slot_run.available_at
        template = self.run(_STAND_IN)
        self._params = _codec.run_insert_params(template, now_s)
        key = template.dedup_key or ""
        self._key = key.split(_STAND_IN) if key.count(_STAND_IN) == 1 else None
        text = (self._params[5] or "") + (self._params[11] or "")
        self._fast = self._key is not None and template.subject == _STAND_IN
        self._fast = self._fast and _STAND_IN not in text

    def run(self, subject: str) -> NewRun:
        new = self.planner.for_subject(self.schedule, subject, self.slot, dict(self.info))
        return dataclasses.replace(new, available_at=self.available_at or new.available_at)

    def params(self, subject: str) -> tuple[Any, ...]:
        if not self._fast:
            return _codec.run_insert_params(self.run(subject), self.now_s)
        assert self._key is not None
        p = self._params
        key = subject.join(self._key)
        return (*p[:7], subject, p[8], key, *p[10:])

    def batch(self, subjects: Iterable[str], over_quota: dict[str, str]) -> list[tuple[Any, ...]]:
        """Insert parameters for ``subjects``; those in ``over_quota`` as skipped runs."""
        out = []
        for subject in subjects:
            reason = over_quota.get(subject)
            if reason is None:
                out.append(self.params(subject))
            else:
                out.append(_codec.run_insert_params(skipped(self.run(subject), reason), self.now_s))
        return out
