"""SQLite's hot path: `enqueue`, the verb a producer calls once per run.

The shared verb is correct everywhere; this one does the same in fewer steps, because on
SQLite every step is paid on the event loop and every microsecond inside the write lock is
a microsecond another process waits:

- one transaction: the run, its ``run.queued`` event, nothing else. Whether any event
  schedule could fire is asked by the statement that inserts the first run (an indexed
  probe, no schedule rows decoded); only when one exists do the events go through the
  shared `emit`, which matches and fires them;
- the statements are constant texts (the driver keeps them prepared);
- the `Run` answered is built after the commit, from what was sent (no read-back), except
  for a taken dedup key, whose run is read back in the transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agentcron.models import NewRun, Run
from agentcron.rules.events import Emitted, Pending, new_run_event
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS, RUN_INSERT_COLUMNS, RUN_INSERT_MARKS
from agentcron.store.core.events import emit
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import drive
from agentcron.store.sqlite.tx import SqliteTx

__all__ = ["HotEnqueue"]

INSERT_RUN = (
    f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({RUN_INSERT_MARKS}) ON CONFLICT DO NOTHING"
)
# Could an event schedule fire? Almost always not: the partial index schedules_kind answers
# without reading the table (its condition is repeated so that SQLite picks it). Asked by the
# statement that inserts the first run of a transaction.
ANY_EVENT_RULE = (
    "(SELECT EXISTS (SELECT 1 FROM schedules WHERE trigger_kind IN ('idle', 'messages', "
    "'event') AND trigger_kind = 'event' AND enabled = 1 AND parked = 0))"
)
INSERT_RUN_PROBING = f"{INSERT_RUN} RETURNING id, {ANY_EVENT_RULE}"
INSERT_EVENT = (
    "INSERT INTO events (namespace, type, subject, data, created_at) VALUES (?, ?, ?, ?, ?)"
)
RUN_BY_DEDUP = f"SELECT {RUN_COLUMNS} FROM runs WHERE dedup_key = ?"

# What the op hands back: per run, its new id or the row of the run holding its dedup key;
# and what firing event schedules did (None: no event schedule exists).
_Written = tuple[list[int | tuple[Any, ...]], Emitted | None]


class HotEnqueue(CoreOps):
    """`Store.enqueue` on SQLite (first in `SqliteStore`'s bases)."""

    async def _write(self, op: Any) -> Any:  # `SqliteStore._write`
        raise NotImplementedError

    async def enqueue(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        now_s = now.timestamp()
        params = [_codec.run_insert_params(run, now_s) for run in runs]
        written, emitted = await self._write(
            lambda conn: _insert(conn, runs, params, now_s)
        )  # fmt: skip
        if emitted is None:
            self.notify("events")
        else:
            self.emitted(emitted)
        self.notify("runs")
        return [
            _codec.run_from_new(got, run, now_s, values)
            if type(got) is int
            else _codec.run_from_row(got)
            for got, run, values in zip(written, runs, params, strict=True)
        ]


def _insert(
    conn: sqlite3.Connection,
    runs: Sequence[NewRun],
    params: list[tuple[Any, ...]],
    now_s: float,
) -> _Written:
    """The transaction of `HotEnqueue.enqueue`."""
    if len(runs) > 1 and all(run.dedup_key is None for run in runs):
        return _insert_many(conn, runs, params, now_s)
    out: list[int | tuple[Any, ...]] = []
    events: list[Pending] = []
    execute = conn.execute
    fires: bool | None = None  # could an event schedule fire (asked with the first run)
    for run, values in zip(runs, params, strict=True):
        if fires is None:
            row = execute(INSERT_RUN_PROBING, values).fetchone()
            run_id = None if row is None else row[0]
            fires = None if row is None else bool(row[1])
        else:
            cur = execute(INSERT_RUN, values)
            run_id = cur.lastrowid if cur.rowcount == 1 else None
        if run_id is None:  # dedup key taken: hand back the run that holds it
            out.append(execute(RUN_BY_DEDUP, (run.dedup_key,)).fetchone())
        else:
            out.append(run_id)
            events.append(new_run_event(run_id, run))
    if not events:
        return out, Emitted()
    return out, _events(conn, events, now_s, fires=bool(fires))


def _insert_many(
    conn: sqlite3.Connection,
    runs: Sequence[NewRun],
    params: list[tuple[Any, ...]],
    now_s: float,
) -> _Written:
    """A batch without dedup keys: every run is written, one ``executemany``. The transaction
    holds the database's one write lock, so the ids are consecutive (also when they start
    above the floor of schema 6) and end at ``last_insert_rowid()``."""
    conn.executemany(INSERT_RUN, params)
    last, fires = conn.execute(f"SELECT last_insert_rowid(), {ANY_EVENT_RULE}").fetchone()
    ids = list(range(last - len(runs) + 1, last + 1))
    events = [new_run_event(run_id, run) for run_id, run in zip(ids, runs, strict=True)]
    return list(ids), _events(conn, events, now_s, fires=bool(fires))


def _events(
    conn: sqlite3.Connection, events: list[Pending], now_s: float, *, fires: bool
) -> Emitted | None:
    """Write the ``run.queued`` events; through the shared `emit` when an event schedule could
    fire (what it did is returned), else directly (None)."""
    if fires:
        return drive(emit(SqliteTx(conn), events, now_s, None))
    if len(events) == 1:
        conn.execute(INSERT_EVENT, events[0].params(now_s))
    else:
        conn.executemany(INSERT_EVENT, [p.params(now_s) for p in events])
    return None
