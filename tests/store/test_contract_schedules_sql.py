"""Store contract: the scheduler's queries find due schedules through the partial index
``schedules_fire`` in both dialects (its predicate is spelled as each migration spells it),
so that their cost does not grow with the number of schedules stored."""

from __future__ import annotations

from typing import cast

import pytest

from agentcron.store import Store
from agentcron.store.core.firing import DUE
from agentcron.store.core.ops import CoreOps
from agentcron.store.core.schedules import NEXT_DUE
from agentcron.store.db import Tx


async def _plan(store: Store, template: str, params: tuple[float, ...]) -> str:
    async def op(tx: Tx) -> str:
        sql = template.format(d=tx.dialect)
        if tx.dialect.name == "sqlite":
            rows = await tx.all("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in rows)
        await tx.execute("SET LOCAL enable_seqscan = off")  # an empty table: prefer no scan
        rows = await tx.all("EXPLAIN " + sql, params)
        return "\n".join(str(row[0]) for row in rows)

    return await cast(CoreOps, store).read(op)


@pytest.mark.parametrize(
    ("template", "params"), [(DUE, (0.0, 500)), (NEXT_DUE, ())], ids=["due", "next-due"]
)
async def test_due_queries_use_the_partial_index(
    store: Store, template: str, params: tuple[float, ...]
) -> None:
    plan = await _plan(store, template, params)
    assert "schedules_fire" in plan, plan
