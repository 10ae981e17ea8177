"""Events, written once: publish (firing the event schedules they match in the same
transaction), the lifecycle events of runs (`emit`, on the hot path of every enqueue, claim
and result), reading and purging. (Contract: `agentcron.store.base.Store`; the rules:
`agentcron.rules.events`; debounce groups: ``core.debounce``.)

Writing a batch of events is the one step whose SQL differs as a whole: SQLite, whose
statements cost no round trip, writes them with one ``executemany`` and reads the enabled
event schedules only when an event might fire one; ids need no read-back, since every write
holds the database's one write lock and AUTOINCREMENT ids of one batch are consecutive.
PostgreSQL writes them and reads the schedules in one statement (``store/postgres/events.py``
registers it in `WRITERS`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from agentcron.models import Event, NewEvent, Run, Schedule
from agentcron.rules.events import (
    EVENT_COLUMNS,
    MAX_CHAIN,
    PURGE_BATCH,
    DefaultsPlanner,
    Emitted,
    Pending,
    Rule,
    chain_of,
    check_after,
    checked,
    event_filter,
    event_from_row,
    fire_info,
    matches,
    rules_of,
    run_event,
    wake,
)
from agentcron.store import _codec
from agentcron.store._codec import SCHEDULE_COLUMNS
from agentcron.store.base import Planner
from agentcron.store.core.debounce import insert_fired, join
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Tx

__all__ = [
    "RULES",
    "WRITERS",
    "EventVerbs",
    "Written",
    "emit",
    "fired_runs",
    "first_id_at",
    "runs_inserted",
]

log = logging.getLogger("agentcron.events")

INSERT_EVENT = (
    "INSERT INTO events (namespace, type, subject, data, created_at) VALUES (?, ?, ?, ?, ?)"
)
# The enabled event schedules. Repeats the partial index's condition so that SQLite reads
# schedules_kind, not the table.
RULES = (
    f"SELECT {SCHEDULE_COLUMNS} FROM schedules "
    "WHERE trigger_kind IN ('idle', 'messages', 'event') AND trigger_kind = 'event' "
    "AND enabled AND NOT parked"
)
_LAST_ID = "SELECT max(id) FROM events"
_EVENT_IDS = "SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?"
_BOUNDS = "SELECT min(id), max(id) FROM events"
_ID_AT = "SELECT id, created_at FROM events WHERE id >= ? ORDER BY id LIMIT 1"
_PURGE = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ? ORDER BY id LIMIT ?)"
_CHAIN = "SELECT trigger_info FROM runs WHERE id = ?"
_TASKS = "SELECT name, info FROM tasks"


class Written(NamedTuple):
    """What writing a batch of events gave: their ids (None: consecutive, ending at the
    largest id, as under SQLite's one write lock) and, when asked for, the enabled event
    schedules."""

    ids: list[int] | None
    schedules: list[Schedule]


Writer = Callable[[Tx, Sequence[Pending], float, bool, bool], Awaitable[Written]]


async def write_locked(
    tx: Tx, pending: Sequence[Pending], now_s: float, rules: bool, ids: bool
) -> Written:
    """Write ``pending`` in one ``executemany``; the event schedules if ``rules``. The ids
    are left to `emit`, which reads them only when it needs them."""
    await tx.many(INSERT_EVENT, [p.params(now_s) for p in pending])
    rows = await tx.all(RULES) if rules else []
    return Written(None, [_codec.schedule_from_row(r) for r in rows])


WRITERS: dict[str, Writer] = {"sqlite": write_locked}
"""How each dialect (`Dialect.name`) writes a batch of events: ``writer(tx, pending, now_s,
rules, ids)`` reads the event schedules if ``rules``; returns the ids if ``ids`` or ``rules``
(an empty list will do otherwise)."""


class EventVerbs(CoreOps):
    async def publish(
        self, events: Sequence[NewEvent], now: datetime, planner: Planner
    ) -> tuple[list[Event], list[Run]]:
        pending = [checked(e) for e in events]
        if not pending:
            return [], []
        now_s = now.timestamp()

        async def op(tx: Tx) -> Emitted:
            return await emit(tx, pending, now_s, planner, with_events=True)

        out = await self.write(op)
        self.emitted(out)
        return out.events, out.runs

    async def read_events(
        self,
        after_id: int,
        *,
        namespace: str | None = None,
        pattern: str | None = None,
        limit: int = 500,
        until: int | None = None,
    ) -> list[Event]:
        where, params = event_filter(after_id, namespace, pattern, until, dialect=self.dialect)
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        if limit <= 0:
            return []

        async def op(tx: Tx) -> list[Event]:
            return [event_from_row(r) for r in await tx.all(sql, (*params, limit))]

        return await self.read(op)

    async def event_ids(self, after_id: int, limit: int = 1000) -> list[int]:
        check_after(after_id)

        async def op(tx: Tx) -> list[int]:
            return [r[0] for r in await tx.all(_EVENT_IDS, (after_id, limit))]

        return await self.read(op)

    async def last_event_id(self) -> int:
        async def op(tx: Tx) -> int:
            row = await tx.one(_LAST_ID)
            return int(row[0] or 0) if row else 0

        return await self.read(op)

    async def purge_events(self, before: datetime) -> int:
        """Events are not indexed by time (an index entry less in every write): ids follow
        creation, so the cut is found by a binary search through the ids (`first_id_at`), then
        everything below it is deleted in batches (short transactions: SQLite's write lock is
        never held long)."""
        at_s = before.timestamp()
        cut = await self.read(lambda tx: first_id_at(tx, at_s))

        async def op(tx: Tx) -> int:
            return await tx.execute(_PURGE, (cut, PURGE_BATCH))

        total = 0
        while True:
            deleted = await self.write(op)
            total += deleted
            if deleted < PURGE_BATCH:
                return total

    def emitted(self, out: Emitted, *, announced: bool = False) -> None:
        """After a commit that wrote events: wake whoever waits on what it changed
        (``announced``: the write told other processes itself; see the PostgreSQL store)."""
        wake(self.notify, out)


async def first_id_at(tx: Tx, at_s: float) -> int:
    """The id of the first event created at or after ``at_s`` (one past the last id when
    none): a binary search over ids, each step one primary-key lookup. Ids are drawn just
    after the creation time is taken, so the two agree up to the length of a transaction (or
    the wait for SQLite's write lock); a retention cut that far off is immaterial."""
    bounds = await tx.one(_BOUNDS)
    if bounds is None or bounds[0] is None:
        return 0
    lo, hi = bounds
    hi += 1  # invariant: events below lo are older than at_s, the event at/after hi is not
    while lo < hi:
        mid = (lo + hi) // 2
        row = await tx.one(_ID_AT, (mid,))
        if row is None:  # deleted meanwhile, above mid
            hi = mid
        elif row[1] < at_s:
            lo = row[0] + 1
        else:
            hi = mid
    return int(lo)


# -- writing events and firing what they match --------------------------------------------------
async def emit(
    tx: Tx,
    pending: Sequence[Pending],
    now_s: float,
    planner: Planner | None,
    *,
    with_events: bool = False,
) -> Emitted:
    """Insert ``pending`` and fire the event schedules they match (see the module: one
    ``executemany`` and, when an event may fire, one indexed query on SQLite; one statement on
    PostgreSQL); more statements only when something matches.

    ``planner`` None: runs are planned from the ``tasks`` table (`DefaultsPlanner`).
    ``with_events``: return the stored events (otherwise they are only built when needed).
    """
    if not pending:
        return Emitted()
    fires = any(p.fires for p in pending)
    written = await WRITERS[tx.dialect.name](tx, pending, now_s, fires, with_events)
    rules = rules_of(written.schedules) if fires and written.schedules else []
    hits = matches(rules, pending) if rules else []
    if not hits and not with_events:
        return Emitted(wrote=True)
    ids = written.ids
    if ids is None:
        last = await tx.one(_LAST_ID)
        assert last is not None
        ids = list(range(last[0] - len(pending) + 1, last[0] + 1))
    events = [p.event(i, now_s) for i, p in zip(ids, pending, strict=True)]
    out = Emitted(events if with_events else [], wrote=True)
    if hits:
        out += await _fire(tx, hits, pending, events, now_s, planner)
    return out


async def runs_inserted(
    tx: Tx, runs: Sequence[Run], now_s: float, planner: Planner | None = None, *, fires: bool = True
) -> Emitted:
    """The lifecycle events of newly inserted runs (``run.queued`` / ``run.skipped``).
    ``fires`` False for runs that event schedules fired (they fire nothing more here)."""
    return await emit(tx, [run_event(r, fires=fires) for r in runs], now_s, planner)


async def fired_runs(tx: Tx, runs: Sequence[Run], now_s: float, planner: Planner | None) -> Emitted:
    """The lifecycle events of the runs `fire_due` inserted; those of runs that event
    schedules fired (debounce groups) fire nothing more."""
    return await emit(
        tx,
        [run_event(r, fires=(r.trigger_info or {}).get("kind") != "event") for r in runs],
        now_s,
        planner,
    )


async def _fire(
    tx: Tx,
    hits: list[tuple[int, Rule]],
    pending: Sequence[Pending],
    events: list[Event],
    now_s: float,
    planner: Planner | None,
) -> Emitted:
    out = Emitted()
    slot = datetime.fromtimestamp(now_s, UTC)
    plan = planner or await _defaults_planner(tx, slot)
    for index, rule in hits:
        event, origin = events[index], pending[index].origin_run
        if rule.debounce_s is not None:
            await join(tx, rule, event, now_s)
            out.debounced = True
            continue
        chain = 0
        if origin is not None:
            chain = await _chain(tx, origin) + 1
            if chain > MAX_CHAIN:
                log.warning(
                    "schedule %s not fired by %s of run %s: a chain of %d runs fired by run "
                    "events", rule.schedule.name, event.type, origin, MAX_CHAIN,
                )  # fmt: skip
                continue
        new = plan.for_subject(rule.schedule, event.subject, slot, fire_info(event, chain))
        out.runs += await insert_fired(tx, rule.schedule, new, now_s)
    out += await runs_inserted(tx, out.runs, now_s, fires=False)
    return out


async def _chain(tx: Tx, run_id: int) -> int:
    row = await tx.one(_CHAIN, (run_id,))
    return chain_of(_codec.loads(row[0]) if row and row[0] else None)


async def _defaults_planner(tx: Tx, now: datetime) -> DefaultsPlanner:
    tasks = {n: _codec.loads(i) for n, i in await tx.all(_TASKS)}
    return DefaultsPlanner(tasks, now)
