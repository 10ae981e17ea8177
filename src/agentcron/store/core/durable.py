"""Durable runs, written once for both stores: a run's steps, its waits, signals sent to it.

A step's row is written once when it finished (and once more before, when it runs long); a
wait is a step too (``sleep:1``, ``signal:approve:1``, ``event:user.*:1``) whose row is
written when the run suspends and finished by whatever ends the wait: `wake_due` (a sleep's
end, a timeout, a matching event) or `signal_run`. A waiting run (status ``waiting``) holds
no lease; waking it queues it again, and its next execution replays finished steps from
their rows (see `agentcron.durable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.errors import InvalidRunState, RunNotFound
from agentcron.models import Run, RunStatus, Step, iso
from agentcron.rules.durable import event_cursor, matching_event, timed_out_wait
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS
from agentcron.store._event_rules import Emitted, Pending, lifecycle, run_event
from agentcron.store.core import _legacy
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Row, Tx
from agentcron.store.durable_contract import DurableState

__all__ = ["EVENT_POLL_S", "SAVE_STEP", "DurableVerbs", "step_values"]

EVENT_POLL_S = 1.0
"""How often runs waiting for an event are checked against new events (at most)."""
WAKE_BATCH = 500  # runs woken per transaction
EVENT_WAITERS = 100  # runs waiting for an event checked per transaction
EVENT_SCAN = 1000  # events read per waiting run and pass
SETTLED_S = 10.0  # events older than this are taken as all committed (PostgreSQL ids)

# The run's state and its steps in one statement (one row per step; one row without a step
# when it has none): what an execution replays, and whether signals wait to be taken.
_STATE = (
    "SELECT r.waiting_for, r.active_s, EXISTS (SELECT 1 FROM run_signals AS g "
    "WHERE g.run_id = r.id AND g.taken_at IS NULL), s.name, s.status, s.started_at, "
    "s.finished_at, s.result, s.error FROM runs AS r LEFT JOIN run_steps AS s "
    "ON s.run_id = r.id WHERE r.id = ? ORDER BY s.started_at, s.name"
)
SAVE_STEP = (
    "INSERT INTO run_steps (run_id, name, status, started_at, finished_at, result, error) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET "
    "status = excluded.status, finished_at = excluded.finished_at, result = excluded.result, "
    "error = excluded.error WHERE run_steps.status <> 'succeeded'"
)
_START_WAIT = (
    "INSERT INTO run_steps (run_id, name, status, started_at, result) "
    "VALUES (?, ?, 'running', ?, ?) ON CONFLICT (run_id, name) DO NOTHING"
)
_EVENT_COLUMNS = "namespace, task, schedule_id, subject, attempts"
_HELD = (
    f"SELECT cancel_requested, {_EVENT_COLUMNS} FROM runs "
    "WHERE id = ? AND status = 'running' AND lease_owner = ?"
)
_RELEASE = "lease_owner = NULL, lease_expires_at = NULL, max_attempts = max_attempts + 1"
_SUSPEND = (
    f"UPDATE runs SET status = 'waiting', waiting_for = ?, wake_at = ?, active_s = ?, {_RELEASE}, "
    "finished_at = NULL WHERE id = ?"
)
_REQUEUE_HELD = (
    f"UPDATE runs SET status = 'queued', available_at = ?, active_s = ?, {_RELEASE} WHERE id = ?"
)
_CANCEL_HELD = (
    "UPDATE runs SET status = 'cancelled', finished_at = ?, active_s = ?, "
    "lease_owner = NULL, lease_expires_at = NULL WHERE id = ?"
)
_WAKE = (
    "UPDATE runs SET status = 'queued', available_at = ?, waiting_for = NULL, wake_at = NULL "
    "WHERE id = ? AND status = 'waiting'"
)
_PENDING_SIGNAL = (
    "SELECT id, data FROM run_signals WHERE run_id = ? AND name = ? AND taken_at IS NULL "
    "ORDER BY id LIMIT 1"
)
_TAKE_SIGNAL = "UPDATE run_signals SET taken_at = ? WHERE id = ?"
_ADD_SIGNAL = "INSERT INTO run_signals (run_id, name, data, sent_at) VALUES (?, ?, ?, ?)"
_SIGNALLED = f"SELECT status, waiting_for, {_EVENT_COLUMNS} FROM runs WHERE id = ?"
_DUE = (
    f"SELECT id, waiting_for, {_EVENT_COLUMNS} FROM runs "
    "WHERE status = 'waiting' AND wake_at <= ? ORDER BY wake_at LIMIT ?"
)
_EVENT_WAITERS = (
    f"SELECT id, waiting_for, {_EVENT_COLUMNS} FROM runs "
    "WHERE status = 'waiting' AND waiting_for LIKE '{\"kind\":\"event\"%' ORDER BY id LIMIT ?"
)
_ANY_EVENT_WAITER = (
    "SELECT 1 FROM runs WHERE status = 'waiting' AND waiting_for LIKE '{\"kind\":\"event\"%' "
    "LIMIT 1"
)
_NEXT_WAKE = "SELECT min(wake_at) FROM runs WHERE status = 'waiting' AND wake_at IS NOT NULL"
_EVENTS_AFTER = (
    "SELECT id, type, subject, data, created_at FROM events "
    "WHERE id > ? AND namespace = ? ORDER BY id LIMIT ?"
)
_SET_WAITING_FOR = "UPDATE runs SET waiting_for = ? WHERE id = ? AND status = 'waiting'"
_CANCEL_WAITING = (
    "UPDATE runs SET status = 'cancelled', finished_at = ?, waiting_for = NULL, wake_at = NULL "
    f"WHERE id = ? AND status = 'waiting' RETURNING {RUN_COLUMNS}"
)
_FINAL = {s.value for s in RunStatus if s.final}


class DurableVerbs(CoreOps):
    """Steps, waits and signals (contract: `agentcron.store.base.Store`)."""

    if TYPE_CHECKING:

        def emitted(self, out: Emitted) -> None: ...

    async def load_steps(self, run_id: int) -> DurableState:
        async def op(tx: Tx) -> list[Row]:
            return await tx.all(_STATE, (run_id,))

        rows = await self.read(op, small=True)
        if not rows:
            return DurableState()
        waiting, active_s, signals = rows[0][:3]
        steps = [_step(r[3:]) for r in rows if r[3] is not None]
        return DurableState(
            {s.name: s for s in steps},
            float(active_s or 0.0),
            _codec.loads(waiting) if waiting is not None else None,
            bool(signals),
        )

    async def save_step(
        self,
        run_id: int,
        name: str,
        status: str,
        *,
        started_at: datetime,
        now: datetime,
        result_json: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        values = step_values(run_id, name, status, started_at, now, result_json, error)

        async def op(tx: Tx) -> None:
            await tx.execute(SAVE_STEP, values)

        await self.write(op)

    async def suspend_run(
        self,
        run_id: int,
        worker_id: str,
        waiting_for: dict[str, Any],
        wake_at: datetime | None,
        active_s: float,
        now: datetime,
    ) -> RunStatus | None:
        now_s = now.timestamp()
        wake_s = wake_at.timestamp() if wake_at is not None else None
        params = {k: v for k, v in waiting_for.items() if k in ("until", "after")}
        step_row = (run_id, waiting_for["step"], now_s, _codec.dumps(params))

        async def op(tx: Tx) -> tuple[RunStatus | None, Emitted]:
            held = await tx.one(_HELD + tx.dialect.lock_rows, (run_id, worker_id))
            if held is None:
                return None, Emitted()
            await tx.execute(_START_WAIT, step_row)
            if held[0]:  # its cancellation was asked for: it ends here
                await tx.execute(_CANCEL_HELD, (now_s, active_s, run_id))
                return RunStatus.CANCELLED, await _emit(tx, held[1:], run_id, "cancelled", now_s)
            if waiting_for["kind"] == "signal":
                pending = await tx.one(_PENDING_SIGNAL, (run_id, waiting_for["name"]))
                if pending is not None:  # sent while it ran: taken now, queued again at once
                    await _deliver(tx, run_id, waiting_for["step"], pending, now_s)
                    await tx.execute(_REQUEUE_HELD, (now_s, active_s, run_id))
                    return RunStatus.QUEUED, await _emit(tx, held[1:], run_id, "queued", now_s)
            await tx.execute(_SUSPEND, (_codec.dumps(waiting_for), wake_s, active_s, run_id))
            return RunStatus.WAITING, await _emit(tx, held[1:], run_id, "waiting", now_s)

        status, emitted = await self.write(op)
        self.emitted(emitted)
        if status is RunStatus.QUEUED:
            self.notify("runs")
        elif status is RunStatus.WAITING and wake_s is not None:
            self.notify("schedules")  # a scheduler asleep past wake_at must look again
        return status

    async def signal_run(self, run_id: int, name: str, data: Any, now: datetime) -> bool:
        now_s = now.timestamp()
        data_json = _codec.dumps(data)

        async def op(tx: Tx) -> tuple[bool, Emitted]:
            row = await tx.one(_SIGNALLED + tx.dialect.lock_rows, (run_id,))
            if row is None:
                raise RunNotFound(run_id)
            if row[0] in _FINAL:
                raise InvalidRunState(f"run {run_id} is already {row[0]}; it takes no signals")
            await tx.execute(_ADD_SIGNAL, (run_id, name, data_json, now_s))
            waiting = _codec.loads(row[1]) if row[0] == "waiting" and row[1] else None
            if waiting is None or waiting.get("kind") != "signal" or waiting["name"] != name:
                return False, Emitted()  # kept until a wait takes it
            pending = await tx.one(_PENDING_SIGNAL, (run_id, name))
            assert pending is not None  # the one just added, if no other
            await _deliver(tx, run_id, waiting["step"], pending, now_s)
            await tx.execute(_WAKE, (now_s, run_id))
            return True, await _emit(tx, row[2:], run_id, "queued", now_s)

        woken, emitted = await self.write(op)
        self.emitted(emitted)
        if woken:
            self.notify("runs")
        return woken

    async def take_signal(
        self, run_id: int, name: str, step: str, now: datetime
    ) -> tuple[bool, Any]:
        now_s = now.timestamp()

        async def op(tx: Tx) -> tuple[bool, Any]:
            pending = await tx.one(_PENDING_SIGNAL, (run_id, name))
            if pending is None:
                return False, None
            await _deliver(tx, run_id, step, pending, now_s)
            return True, _codec.loads(pending[1]) if pending[1] is not None else None

        return await self.write(op)

    async def wake_due(self, now: datetime) -> tuple[int, datetime | None]:
        now_s = now.timestamp()

        async def look(tx: Tx) -> tuple[float | None, bool]:
            row = await tx.one(_NEXT_WAKE)
            return (row[0] if row else None), await tx.one(_ANY_EVENT_WAITER) is not None

        next_s, events = await self.read(look, small=True)
        woken = 0
        if (next_s is not None and next_s <= now_s) or events:
            woken, emitted = await self.write(lambda tx: _wake(tx, now_s))
            self.emitted(emitted)
            if woken:
                self.notify("runs")
            next_s, events = await self.read(look, small=True)
        if events:
            next_s = min(next_s if next_s is not None else now_s + EVENT_POLL_S,
                         now_s + EVENT_POLL_S)  # fmt: skip
        return woken, _codec.dt(next_s)

    async def cancel_waiting(self, run_id: int, now: datetime) -> Run | None:
        now_s = now.timestamp()

        async def op(tx: Tx) -> tuple[Run | None, Emitted]:
            row = await tx.one(_CANCEL_WAITING, (now_s, run_id))
            if row is None:
                return None, Emitted()
            run = _codec.run_from_row(row)
            event = run_event(run, status=RunStatus.CANCELLED, error=None)
            return run, await _legacy.emit(tx, [event], now_s, None)

        run, emitted = await self.write(op)
        self.emitted(emitted)
        return run

    async def waiting_for_runs(self, run_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        ids = [i for i in run_ids if isinstance(i, int)]
        if not ids:
            return {}
        sql = (
            f"SELECT id, waiting_for FROM runs WHERE id IN ({', '.join('?' * len(ids))}) "
            "AND waiting_for IS NOT NULL"
        )

        async def op(tx: Tx) -> dict[int, dict[str, Any]]:
            return {r[0]: _codec.loads(r[1]) for r in await tx.all(sql, ids)}

        return await self.read(op, small=True)


def step_values(
    run_id: int,
    name: str,
    status: str,
    started_at: datetime,
    now: datetime,
    result_json: str | None,
    error: dict[str, Any] | None,
) -> tuple[Any, ...]:
    """The parameters of `SAVE_STEP`."""
    finished = None if status == "running" else now.timestamp()
    err = _codec.dumps(error) if error is not None else None
    return (run_id, name, status, started_at.timestamp(), finished, result_json, err)


# -- inside transactions -----------------------------------------------------------------------
async def _deliver(tx: Tx, run_id: int, step: str, signal: Row, now_s: float) -> None:
    """Signal ``signal`` (``(id, data)``) taken by the wait ``step``: its data is the step's
    result."""
    await tx.execute(_TAKE_SIGNAL, (now_s, signal[0]))
    await tx.execute(SAVE_STEP, (run_id, step, "succeeded", now_s, now_s, signal[1], None))


async def _emit(tx: Tx, cols: Sequence[Any], run_id: int, status: str, now_s: float) -> Emitted:
    """The lifecycle event of ``run_id`` now in ``status`` (``cols``: `_EVENT_COLUMNS`)."""
    namespace, task, schedule_id, subject, attempts = cols
    event = lifecycle(run_id, namespace, task, status, schedule_id, subject, attempts, None)
    return await _legacy.emit(tx, [event], now_s, None)


async def _wake(tx: Tx, now_s: float) -> tuple[int, Emitted]:
    """Queue the waiting runs whose time came (a sleep ended: its step succeeded; a wait timed
    out: its step failed with `WaitTimeout`), then those whose event was published."""
    events: list[Pending] = []
    rows = await tx.all(_DUE + tx.dialect.skip_locked, (now_s, WAKE_BATCH))
    for row in rows:
        waiting = _codec.loads(row[1])
        await tx.execute(SAVE_STEP, _ended_wait(row[0], waiting, now_s))
        await tx.execute(_WAKE, (now_s, row[0]))
        events.append(_queued(row))
    for row in await tx.all(_EVENT_WAITERS + tx.dialect.skip_locked, (EVENT_WAITERS,)):
        if await _match_event(tx, row, now_s):
            events.append(_queued(row))
    return len(events), await _legacy.emit(tx, events, now_s, None)


def _queued(row: Row) -> Pending:
    namespace, task, schedule_id, subject, attempts = row[2:]
    return lifecycle(row[0], namespace, task, "queued", schedule_id, subject, attempts, None)


def _ended_wait(run_id: int, waiting: dict[str, Any], now_s: float) -> tuple[Any, ...]:
    """The step row of a wait whose time came (`timed_out_wait`)."""
    end = timed_out_wait(waiting)
    err = _codec.dumps(end.error) if end.error is not None else None
    return (run_id, waiting["step"], end.status, now_s, now_s, None, err)


async def _match_event(tx: Tx, row: Row, now_s: float) -> bool:
    """Whether an event the run waits for (``waiting_for``: pattern, subject, after) was
    published (`matching_event`); then it is the wait's result and the run is queued.
    Otherwise the run's cursor moves past the events read that are surely all committed."""
    run_id, waiting, namespace = row[0], _codec.loads(row[1]), row[2]
    after = int(waiting.get("after") or 0)
    events: list[Any] = await tx.all(_EVENTS_AFTER, (after, namespace, EVENT_SCAN))
    found = matching_event(waiting, events)
    if found is not None:
        id_, type_, subject, data, created_at = found
        event = {"id": id_, "type": type_, "namespace": namespace, "subject": subject,
                 "data": _codec.loads(data), "created_at": iso(_codec.dt(created_at))}  # fmt: skip
        step = (run_id, waiting["step"], "succeeded", now_s, now_s, _codec.dumps(event), None)
        await tx.execute(SAVE_STEP, step)
        await tx.execute(_WAKE, (now_s, run_id))
        return True
    cursor = event_cursor(after, events, now_s, SETTLED_S)
    if cursor > after:
        await tx.execute(_SET_WAITING_FOR, (_codec.dumps({**waiting, "after": cursor}), run_id))
    return False


def _step(row: Row) -> Step:
    name, status, started_at, finished_at, result, error = row
    return Step(
        name=name,
        status=status,
        started_at=_codec.dt(started_at),  # type: ignore[arg-type]
        finished_at=_codec.dt(finished_at),
        result=_codec.loads(result) if result is not None else None,
        error=_codec.loads(error) if error is not None else None,
    )
