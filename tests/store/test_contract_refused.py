"""Values a store cannot hold: refused with `StoreRefused`, nothing written, and never a
poison pill (one bad result must not keep a worker from recording all the others). Also the
run-side guards that keep such values out: a result or an error message with a NUL character
(PostgreSQL cannot store one; neither store takes one) or with a lone surrogate (not UTF-8)."""

from __future__ import annotations

import pytest
from store_helpers import LEASE, T0, claim, enqueue_one, start_one

from agentcron import App, RunStatus
from agentcron.errors import StoreRefused, ValidationError
from agentcron.models import RunOutcome
from agentcron.store import Store
from agentcron.worker import Worker

NOT_UTF8 = "lone \ud800 surrogate"


async def test_finish_with_a_value_the_store_cannot_hold_is_refused(store: Store) -> None:
    run = await start_one(store)
    with pytest.raises(StoreRefused):
        await store.finish_runs("w1", [RunOutcome(run.id, RunStatus.SUCCEEDED, NOT_UTF8)], T0)
    assert (await store.get_run(run.id)).status is RunStatus.RUNNING  # nothing written


async def test_a_refused_result_is_recorded_apart_and_the_others_are_recorded(
    store: Store,
) -> None:
    """A batch of results the store refuses is recorded outcome by outcome: the refused one
    as a dead run that says why, the others as they were."""
    worker = Worker(store, App(store).registry, worker_id="w1", lease=LEASE)
    for _ in range(3):
        await enqueue_one(store)
    good1, bad, good2 = await claim(store, "w1", limit=3)
    for run, result in ((good1, 1), (bad, NOT_UTF8), (good2, 2)):
        worker._pending.append(RunOutcome(run.id, RunStatus.SUCCEEDED, result=result))
    await worker._flush()
    assert worker._pending == []
    runs = {r.id: await store.get_run(r.id) for r in (good1, bad, good2)}
    assert (runs[good1.id].status, runs[good1.id].result) == (RunStatus.SUCCEEDED, 1)
    assert (runs[good2.id].status, runs[good2.id].result) == (RunStatus.SUCCEEDED, 2)
    assert runs[bad.id].status is RunStatus.DEAD
    assert runs[bad.id].error is not None
    assert runs[bad.id].error["type"] == "OutcomeRefused"


async def test_results_and_errors_no_store_can_hold_fail_only_their_own_run(
    store: Store,
) -> None:
    app = App(store, maintenance=False)

    @app.task
    async def nul() -> str:
        return "a\x00b"

    @app.task
    async def surrogate() -> str:
        return NOT_UTF8

    @app.task
    async def shout() -> None:
        raise RuntimeError("bad \x00 and \ud800 message")

    @app.task
    async def fine() -> int:
        return 7

    async with app:
        runs = {name: await app.enqueue(name) for name in ("nul", "surrogate", "shout", "fine")}
        await app.run(scheduler=False, burst=True)
        done = {name: await app.get_run(run.id) for name, run in runs.items()}
    assert done["fine"].status is RunStatus.SUCCEEDED
    assert done["fine"].result == 7
    for name in ("nul", "surrogate"):  # permanent: the same result would come back
        assert done[name].status is RunStatus.FAILED, name
    assert done["nul"].error is not None
    assert "NUL" in done["nul"].error["message"]
    assert done["shout"].status is RunStatus.DEAD
    assert done["shout"].error is not None
    assert done["shout"].error["message"] == "bad \\x00 and \\ud800 message"


@pytest.mark.parametrize("bad", ["a\x00b", NOT_UTF8])
async def test_args_no_store_can_hold_are_refused_at_the_edge(store: Store, bad: str) -> None:
    app = App(store, maintenance=False)
    app.task(name="t")(lambda **kw: None)
    async with app:
        for args in ({"s": bad}, {bad: 1}, {"deep": [{"s": bad}]}):
            with pytest.raises(ValidationError) as caught:
                await app.enqueue("t", args)
            assert caught.value.field == "args"
        assert (await app.list_runs())[0] == []
