"""``for_each_subject`` fan-out: each fired slot of such a schedule becomes one run per
matching subject, read in batches of ``batch_size`` by name; runs over the schedule's quota
are written as skipped. Only the first `FAN_OUT_RETURNED` runs of a slot are read back (all
are inserted): PostgreSQL writes a batch in one statement, SQLite one row at a time.

(Contract: `agentcron.store.base.Store.fire_due` and `Store.fan_out_now`; the schedule's
firing calls `fan_out`, its manual trigger `fan_out_now`, in their own transaction.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agentcron.models import NewRun, Run, Schedule
from agentcron.rules.fanout import fan_out_info, fans_out, fired_before
from agentcron.rules.quotas import skipped
from agentcron.rules.subjects import glob_to_like
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS, RUN_INSERT_COLUMNS, RUN_INSERT_MARKS
from agentcron.store.base import FAN_OUT_RETURNED, FirePlan, Planner
from agentcron.store.core.insert import RUNS_FROM_JSON, insert_runs
from agentcron.store.core.quotas import over_quota_of
from agentcron.store.db import Tx

__all__ = ["SlotRuns", "fan_out", "fan_out_now", "subject_glob"]

NEW_RUNS_BY_STATUS = (
    "SELECT status, count(*) FROM runs WHERE schedule_id = ? AND id > ? GROUP BY status"
)
"""How many runs of a schedule a transaction inserted, by status: those with an id above the
largest before it (through the ``runs_schedule`` index: cost O(runs inserted))."""
LAST_RUN_ID = "SELECT coalesce(max(id), 0) FROM runs"
SUBJECTS_AFTER = (
    "SELECT subject FROM subjects WHERE namespace = ? AND subject > ? {glob}"
    "ORDER BY subject LIMIT ?"
)
_INSERT = f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({RUN_INSERT_MARKS}) "
INSERT_ROW = _INSERT + "ON CONFLICT DO NOTHING"
INSERT_ROW_RETURNING = INSERT_ROW + f" RETURNING {RUN_COLUMNS}"
# PostgreSQL: a batch of rows in one statement, the first ``?`` of them read back by id.
INSERT_ROWS = RUNS_FROM_JSON.format(where="")
INSERT_ROWS_RETURNING = (
    f"WITH new AS ({INSERT_ROWS} RETURNING {RUN_COLUMNS}) SELECT * FROM new ORDER BY id LIMIT ?"
)
_STAND_IN = "{agentcron:subject}"


def subject_glob(tx: Tx, glob: str, column: str = "subject") -> tuple[str, str]:
    """``column`` matching ``glob`` and its parameter: ``GLOB`` on SQLite, ``LIKE`` on
    PostgreSQL (`glob_to_like`; bracket classes match literally there)."""
    if tx.dialect.name == "postgres":
        return f"{column} LIKE ?", glob_to_like(glob)
    return f"{column} GLOB ?", glob


async def fan_out(
    tx: Tx, schedule: Schedule, plan: FirePlan, planner: Planner, now_s: float
) -> list[Run]:
    """Write ``plan`` of a ``for_each_subject`` schedule: each queued slot run is replaced by
    one run per matching subject; the plan's other runs (skipped slot records) are inserted
    as planned, here too; slots fanned out before (at or before ``last_run_at``) are left.
    The caller moves the schedule to the plan's next time. The runs written (the first
    `FAN_OUT_RETURNED` of each slot)."""
    fired: list[Run] = []
    for slot_run in plan.runs:
        if fired_before(schedule.last_run_at, slot_run):
            continue
        if fans_out(slot_run):
            fired += await _fan_out_slot(tx, schedule, SlotRuns(schedule, planner, slot_run, now_s))
        else:
            fired += await insert_runs(tx, [slot_run], now_s)
    return fired


async def fan_out_now(
    tx: Tx, schedule: Schedule, slot_run: NewRun, planner: Planner, now_s: float
) -> tuple[list[Run], dict[str, int]]:
    """Fan ``slot_run`` (a manual trigger's) out as `fan_out` does a fired slot; the runs
    returned (the first `FAN_OUT_RETURNED`) and how many were inserted, by status."""
    row = await tx.one(LAST_RUN_ID)
    before = row[0] if row else 0
    fired = await _fan_out_slot(tx, schedule, SlotRuns(schedule, planner, slot_run, now_s))
    counts = await tx.all(NEW_RUNS_BY_STATUS, (schedule.id, before))
    return fired, {str(status): int(n) for status, n in counts}


async def _fan_out_slot(tx: Tx, schedule: Schedule, runs: SlotRuns) -> list[Run]:
    assert schedule.for_each_subject is not None
    glob, batch_size = schedule.for_each_subject.subjects, schedule.for_each_subject.batch_size
    match, pattern = subject_glob(tx, glob) if glob else ("", "")
    sql = SUBJECTS_AFTER.format(glob=f"AND {match} " if glob else "")
    fired: list[Run] = []
    after = ""
    while True:
        params = (schedule.namespace, after, *((pattern,) if glob else ()), batch_size)
        subjects = [r[0] for r in await tx.all(sql, params)]
        if not subjects:
            return fired
        over = await over_quota_of(tx, schedule, subjects, runs.slot)
        wanted = max(0, FAN_OUT_RETURNED - len(fired))  # read back only the first ones
        fired += await _insert_rows(tx, runs.batch(subjects, over), wanted)
        if len(subjects) < batch_size:
            return fired
        after = subjects[-1]


async def _insert_rows(tx: Tx, rows: list[tuple[Any, ...]], wanted: int) -> list[Run]:
    """Insert run rows (`_codec.run_insert_params`; a taken dedup key skips one); the first
    ``wanted`` of those written."""
    if tx.dialect.name == "postgres":
        if not wanted:
            await tx.execute(INSERT_ROWS, (_codec.dumps(rows),))
            return []
        found = await tx.all(INSERT_ROWS_RETURNING, (_codec.dumps(rows), wanted))
        return [_codec.run_from_row(r) for r in found]
    fired: list[Run] = []
    for row in rows[:wanted]:
        written = await tx.one(INSERT_ROW_RETURNING, row)
        if written is not None:
            fired.append(_codec.run_from_row(written))
    await tx.many(INSERT_ROW, rows[wanted:])
    return fired


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
