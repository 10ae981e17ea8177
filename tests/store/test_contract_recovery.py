"""Store contract: a run whose worker died (its lease expired) is queued again whatever its
retries, up to its ``max_recoveries`` (stored at enqueue), then ``dead`` with ``LeaseExpired``;
only failures the task raised use up its retries."""

from __future__ import annotations

from datetime import datetime

from store_helpers import LEASE, SECOND, T0, claim, enqueue_one, finish

from agentcron.models import DEFAULT_MAX_RECOVERIES, RunStatus
from agentcron.store import Store


async def lose_lease(store: Store, run_id: int, now: datetime) -> datetime:
    """Claim run ``run_id`` at ``now``, let its lease expire, reap; return the reap time."""
    (claimed,) = await claim(store, "doomed", now=now)
    assert claimed.id == run_id
    later = now + LEASE + SECOND
    reaped = await store.reap_expired(later)
    assert [r.id for r in reaped] == [run_id]
    return later


async def test_max_recoveries_is_stored_with_the_run(store: Store) -> None:
    default = await enqueue_one(store, task="a")
    chosen = await enqueue_one(store, task="b", max_recoveries=7)
    assert (default.max_recoveries, default.recoveries) == (DEFAULT_MAX_RECOVERIES, 0)
    assert (await store.get_run(default.id)).max_recoveries == DEFAULT_MAX_RECOVERIES
    assert (await store.get_run(chosen.id)).max_recoveries == 7
    assert DEFAULT_MAX_RECOVERIES == 3


async def test_a_run_is_recovered_max_recoveries_times_then_dead(store: Store) -> None:
    run = await enqueue_one(store, max_attempts=1)  # retries = 0
    now = T0
    for recovery in range(1, DEFAULT_MAX_RECOVERIES + 1):
        now = await lose_lease(store, run.id, now)
        back = await store.get_run(run.id)
        assert back.status is RunStatus.QUEUED
        assert back.recoveries == recovery
        assert back.attempts == recovery  # every start is counted...
        assert back.max_attempts == recovery + 1  # ...none uses up a retry
    now = await lose_lease(store, run.id, now)
    dead = await store.get_run(run.id)
    assert dead.status is RunStatus.DEAD
    assert dead.error is not None
    assert dead.error["type"] == "LeaseExpired"
    assert dead.recoveries == DEFAULT_MAX_RECOVERIES
    assert dead.finished_at == now
    assert dead.to_dict()["recoveries"] == DEFAULT_MAX_RECOVERIES


async def test_a_recovered_run_keeps_its_retries_for_task_failures(store: Store) -> None:
    """retries = 1: after a lost lease, a failure the task raises may still be retried once
    (the worker's retry policy compares attempts with max_attempts)."""
    run = await enqueue_one(store, max_attempts=2)
    now = await lose_lease(store, run.id, T0)
    (second,) = await claim(store, "w2", now=now)
    assert second.max_attempts - second.attempts == 1  # the one retry is still there
    retried = await finish(store, second, RunStatus.QUEUED, worker="w2", now=now,
                           available_at=now)  # fmt: skip
    (third,) = await claim(store, "w2", now=now)
    assert third.id == retried.id
    assert (third.attempts, third.max_attempts) == (3, 3)  # the last attempt
    done = await finish(store, third, RunStatus.SUCCEEDED, worker="w2", now=now)
    assert (done.status, done.recoveries) == (RunStatus.SUCCEEDED, 1)


async def test_a_retried_dead_run_keeps_its_recoveries(store: Store) -> None:
    """Retried by hand, a run that died of lost leases gets one more attempt, not more
    recoveries: a task that kills its worker every time does not loop."""
    run = await enqueue_one(store, max_recoveries=0)
    now = await lose_lease(store, run.id, T0)
    assert (await store.get_run(run.id)).status is RunStatus.DEAD
    await store.retry_run(run.id, now)
    now = await lose_lease(store, run.id, now)
    again = await store.get_run(run.id)
    assert again.status is RunStatus.DEAD
    assert again.attempts == 2
