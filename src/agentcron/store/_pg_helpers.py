"""PostgreSQL helpers shared by the per-dialect modules not yet written once (see
`agentcron.store.core`); goes with the last of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from agentcron.models import NewRun, Run
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS, RUN_INSERT_COLUMNS

Conn = psycopg.AsyncConnection[Any]

RUN_VALUES = (
    "%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s::jsonb, "
    "%s"
)
INSERT_RUN = (
    f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({RUN_VALUES}) "
    f"ON CONFLICT DO NOTHING RETURNING {RUN_COLUMNS}"
)


async def fetchall(conn: Conn, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql, params)
    return await cur.fetchall()


async def fetchone(conn: Conn, sql: str, params: Any = ()) -> tuple[Any, ...] | None:
    cur = await conn.execute(sql, params)
    return await cur.fetchone()


async def insert_runs(conn: Conn, runs: list[Any], now_s: float) -> list[Run]:
    """Insert runs (ignoring taken dedup keys) in one statement; return those inserted, in
    input order."""
    if not runs:
        return []
    params = [_codec.run_insert_params(r, now_s) for r in runs]
    rows = await fetchall(conn, INSERT_MANY, (_codec.dumps(params),))
    return inserted_runs(runs, params, rows, now_s)


def inserted_runs(
    runs: Sequence[NewRun], params: list[tuple[Any, ...]], rows: list[Any], now_s: float
) -> list[Run]:
    """The runs that `INSERT_MANY` wrote, in input order, from its ``(id, dedup_key)`` rows
    (no read-back): only a taken dedup key skips a run, and ids follow the input order."""
    rows = sorted(rows)
    out: list[Run] = []
    it = iter(rows)
    row = next(it, None)
    for run, values in zip(runs, params, strict=True):
        if row is not None and (run.dedup_key is None or row[1] == run.dedup_key):
            out.append(_codec.run_from_new(row[0], run, now_s, values))
            row = next(it, None)
    return out


# Many runs from one JSON array of `_codec.run_insert_params` rows: one parameter, far
# cheaper to send than 18 arrays of text; ids follow the input order. Read as jsonb: parsed
# once per row (``json``'s ``->>`` parses the row again for every field: 2-3x the cost).
RUNS_FROM_JSON = (
    f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) SELECT "
    "e->>0, e->>1, e->>2, (e->>3)::integer, e->>4, (e->>5)::jsonb, e->>6, e->>7, "
    "(e->>8)::float8, e->>9, e->>10, (e->>11)::jsonb, (e->>12)::integer, "
    "(e->>13)::float8, (e->>14)::float8, (e->>15)::float8, (e->>16)::float8, "
    "(e->>17)::jsonb, (e->>18)::integer "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS v(e, n){where} ORDER BY n "
    "ON CONFLICT DO NOTHING"
)
INSERT_MANY = RUNS_FROM_JSON.format(where="") + " RETURNING id, dedup_key"
