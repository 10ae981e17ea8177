"""Inserting runs, shared by every part that makes them (enqueue, firing, fan-out, events).

A taken ``dedup_key`` skips its run (``ON CONFLICT DO NOTHING``); the runs written come back
in input order, built from what was sent (no read-back). PostgreSQL writes a batch in one
statement (`RUNS_FROM_JSON`); SQLite, whose statements cost no round trip, one at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentcron.models import NewRun, Run
from agentcron.store import _codec
from agentcron.store._codec import RUN_INSERT_COLUMNS, RUN_INSERT_MARKS
from agentcron.store.db import Tx

__all__ = ["RUNS_FROM_JSON", "insert_runs", "inserted_runs"]

INSERT_ONE = (
    f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({RUN_INSERT_MARKS}) "
    "ON CONFLICT DO NOTHING RETURNING id"
)
# Many runs from one JSON array of `_codec.run_insert_params` rows (PostgreSQL): one
# parameter, far cheaper to send than 19 arrays; ids follow the input order. Read as jsonb:
# parsed once per row (``json``'s ``->>`` parses the row again for every field).
RUNS_FROM_JSON = (
    f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) SELECT "
    "e->>0, e->>1, e->>2, (e->>3)::integer, e->>4, (e->>5)::jsonb, e->>6, e->>7, "
    "(e->>8)::float8, e->>9, e->>10, (e->>11)::jsonb, (e->>12)::integer, "
    "(e->>13)::float8, (e->>14)::float8, (e->>15)::float8, (e->>16)::float8, "
    "(e->>17)::jsonb, (e->>18)::integer "
    "FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS v(e, n){where} ORDER BY n "
    "ON CONFLICT DO NOTHING"
)
_INSERT_MANY = RUNS_FROM_JSON.format(where="") + " RETURNING id, dedup_key"


async def insert_runs(tx: Tx, runs: Sequence[NewRun], now_s: float) -> list[Run]:
    """Insert ``runs``; those written, in input order."""
    if not runs:
        return []
    params = [_codec.run_insert_params(r, now_s) for r in runs]
    if tx.dialect.name == "postgres" and len(runs) > 1:
        rows = await tx.all(_INSERT_MANY, (_codec.dumps(params),))
        return inserted_runs(runs, params, rows, now_s)
    out: list[Run] = []
    for run, values in zip(runs, params, strict=True):
        row = await tx.one(INSERT_ONE, values)
        if row is not None:
            out.append(_codec.run_from_new(row[0], run, now_s, values))
    return out


def inserted_runs(
    runs: Sequence[NewRun], params: list[tuple[Any, ...]], rows: list[Any], now_s: float
) -> list[Run]:
    """The runs a batched insert wrote, in input order, from its ``(id, dedup_key)`` rows:
    only a taken dedup key skips a run, and ids follow the input order."""
    out: list[Run] = []
    it = iter(sorted(rows))
    row = next(it, None)
    for run, values in zip(runs, params, strict=True):
        if row is not None and (run.dedup_key is None or row[1] == run.dedup_key):
            out.append(_codec.run_from_new(row[0], run, now_s, values))
            row = next(it, None)
    return out
