"""Store contract: claim_runs, extend_leases, finish_runs, reap_expired, next_available_at."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from store_helpers import (
    LEASE,
    MINUTE,
    MISSING_ID,
    SECOND,
    T0,
    claim,
    enqueue_one,
    finish,
    ids,
    make_run,
    make_spec,
    start_one,
)

from agentcron.models import Run, RunOutcome, RunStatus
from agentcron.store import Store

# -- claim_runs ------------------------------------------------------------------------------


async def test_claim_only_available_runs(store: Store) -> None:
    now_run = await enqueue_one(store, task="now")
    later_run = await enqueue_one(store, task="later", available_at=T0 + MINUTE)
    assert ids(await claim(store, now=T0 - SECOND)) == []
    assert ids(await claim(store, now=T0)) == [now_run.id]  # available_at <= now
    assert ids(await claim(store, now=T0 + MINUTE - SECOND)) == []
    assert ids(await claim(store, now=T0 + MINUTE)) == [later_run.id]


async def test_claim_sets_lease_fields(store: Store) -> None:
    run = await enqueue_one(store, max_attempts=3)
    now = T0 + 10 * SECOND
    (claimed,) = await store.claim_runs("worker-7", now=now, lease=LEASE, limit=5)
    assert claimed.id == run.id
    assert claimed.status is RunStatus.RUNNING
    assert claimed.attempts == 1
    assert claimed.started_at == now
    assert claimed.worker == "worker-7"
    assert claimed.lease_expires_at == now + LEASE
    assert claimed.lag == now - T0
    assert await store.get_run(run.id) == claimed


async def test_claim_order_is_priority_then_available_at_then_id(store: Store) -> None:
    spec = [  # (task, priority, available offset in seconds)
        ("low-early", 0, 0), ("high-late", 9, 20), ("high-early", 9, 10), ("mid", 5, 0),
        ("low-early-2", 0, 0), ("negative", -3, 0), ("high-early-2", 9, 10),
    ]  # fmt: skip
    runs = {
        task: await enqueue_one(store, task=task, priority=p, available_at=T0 + s * SECOND)
        for task, p, s in spec
    }
    expected = ["high-early", "high-early-2", "high-late", "mid", "low-early", "low-early-2",
                "negative"]  # fmt: skip
    now = T0 + MINUTE
    all_at_once = await claim(store, "w1", now, limit=10)
    assert [r.task for r in all_at_once] == expected
    # one at a time gives the same order
    for run in all_at_once:
        await finish(store, run, RunStatus.QUEUED, available_at=runs[run.task].available_at)
    one_by_one = [(await claim(store, "w2", now, limit=1))[0].task for _ in expected]
    assert one_by_one == expected


async def test_claim_respects_limit(store: Store) -> None:
    await store.enqueue([make_run() for _ in range(5)], T0)
    assert len(await claim(store, limit=2)) == 2
    assert len(await claim(store, limit=0)) == 0
    assert len(await claim(store, limit=10)) == 3
    assert await claim(store, limit=10) == []


async def test_claim_filters_by_queue_and_task(store: Store) -> None:
    a = await enqueue_one(store, task="t1", queue="a")
    b = await enqueue_one(store, task="t2", queue="b")
    c = await enqueue_one(store, task="t1", queue="c")
    assert await claim(store, queues=["zzz"]) == []
    assert await claim(store, tasks=["zzz"]) == []
    assert await claim(store, queues=[]) == []
    assert await claim(store, tasks=[]) == []
    assert ids(await claim(store, queues=["b", "c"], tasks=["t1"])) == [c.id]
    assert ids(await claim(store, queues=["a", "b"])) == [a.id, b.id]


async def test_claim_skips_finished_and_running_runs(store: Store) -> None:
    running = await start_one(store, task="r")
    await enqueue_one(store, task="s", status=RunStatus.SKIPPED)
    cancelled = await enqueue_one(store, task="c")
    await store.cancel_run(cancelled.id, T0)
    assert await claim(store) == []
    assert (await store.get_run(running.id)).attempts == 1


async def test_concurrent_claimers_never_share_a_run(store: Store, other_store: Store) -> None:
    runs = await store.enqueue([make_run(args={"i": i}) for i in range(40)], T0)
    claimed: dict[str, list[int]] = {}

    async def worker(name: str, target: Store) -> None:
        mine = claimed.setdefault(name, [])
        while batch := await claim(target, name, limit=3):
            mine += ids(batch)
            await asyncio.sleep(0)

    await asyncio.gather(*(worker(f"w{i}", store if i % 2 else other_store) for i in range(6)))
    every = [run_id for mine in claimed.values() for run_id in mine]
    assert sorted(every) == ids(runs)  # each run claimed exactly once
    for name, mine in claimed.items():
        for run_id in mine:
            assert (await store.get_run(run_id)).worker == name


async def test_serial_key_one_running_at_a_time(
    store: Store, request: pytest.FixtureRequest
) -> None:
    first, second, third = await store.enqueue(
        [make_run("s", serial_key="user:1", args={"n": n}) for n in (1, 2, 3)], T0
    )
    free = await enqueue_one(store, task="free")
    other_key = await enqueue_one(store, task="o", serial_key="user:2")
    claimed = await claim(store, limit=10)
    assert sorted(ids(claimed)) == sorted([first.id, free.id, other_key.id])
    assert await claim(store, limit=10) == []
    assert (await store.get_run(second.id)).status is RunStatus.QUEUED
    assert (await store.get_run(second.id)).attempts == 0
    running_first = next(r for r in claimed if r.id == first.id)
    await finish(store, running_first, RunStatus.SUCCEEDED)
    assert ids(await claim(store, limit=10)) == [second.id]
    assert await claim(store, limit=10) == []
    await store.cancel_run(third.id, T0)
    assert await claim(store, limit=10) == []


async def test_serial_key_under_concurrent_claimers(
    store: Store, other_store: Store, request: pytest.FixtureRequest
) -> None:
    await store.enqueue([make_run("s", serial_key="k") for _ in range(5)], T0)
    results = await asyncio.gather(
        *(claim(target, f"w{i}", limit=5) for i, target in enumerate([store, other_store] * 3))
    )
    assert sum(len(batch) for batch in results) == 1


async def test_serial_key_with_an_event_schedule_on_run_events(store: Store) -> None:
    """A claim that also fires event schedules (on ``run.*``) keeps one run per serial key."""
    await store.add_schedule(make_spec("audit", trigger={"event": "run.started"}), None)
    first, _ = await store.enqueue([make_run("s", serial_key="k") for _ in range(2)], T0)
    free = await enqueue_one(store, task="free")
    claimed = await claim(store, limit=10, tasks=["s", "free"])
    assert sorted(ids(claimed)) == sorted([first.id, free.id])
    assert await claim(store, limit=10, tasks=["s"]) == []


async def test_finish_writes_the_first_outcome_of_a_run(store: Store) -> None:
    run = await start_one(store)
    failed = RunOutcome(run.id, RunStatus.FAILED, error={"type": "E", "message": "m"})
    outcomes = [RunOutcome(run.id, RunStatus.SUCCEEDED, result=1), failed]
    assert await store.finish_runs("w1", outcomes, T0) == 1
    done = await store.get_run(run.id)
    assert (done.status, done.result, done.error) == (RunStatus.SUCCEEDED, 1, None)


# -- extend_leases ---------------------------------------------------------------------------


async def test_extend_leases_moves_the_lease(store: Store) -> None:
    a = await start_one(store, task="a")
    b = await start_one(store, task="b")
    until = T0 + 5 * MINUTE
    assert await store.extend_leases("w1", [a.id, b.id], until) == set()
    for run in (a, b):
        assert (await store.get_run(run.id)).lease_expires_at == until
    assert await store.extend_leases("w1", [], until) == set()


async def test_extend_leases_reports_cancellation_requests(store: Store) -> None:
    a = await start_one(store, task="a")
    b = await start_one(store, task="b")
    c = await start_one(store, task="c")
    await store.cancel_run(b.id, T0)
    await store.cancel_run(c.id, T0)
    # c was asked about by nobody: only ids among those passed come back
    assert await store.extend_leases("w1", [a.id, b.id], T0 + MINUTE) == {b.id}
    assert (await store.get_run(b.id)).lease_expires_at == T0 + MINUTE


async def test_extend_leases_never_extends_a_lost_lease(store: Store) -> None:
    reaped = await start_one(store, "w1", task="reaped")  # lease until T0 + 30s
    later = T0 + MINUTE
    mine = await start_one(store, "w1", now=later, task="mine")
    theirs = await start_one(store, "w2", now=later, task="theirs")
    done = await start_one(store, "w1", now=later, task="done")
    await finish(store, done, RunStatus.SUCCEEDED, now=later)
    assert ids(await store.reap_expired(T0 + LEASE + SECOND)) == [reaped.id]
    until = T0 + 20 * MINUTE
    ask = [mine.id, theirs.id, reaped.id, done.id]
    assert await store.extend_leases("w1", ask, until) == set()
    assert (await store.get_run(mine.id)).lease_expires_at == until
    assert (await store.get_run(theirs.id)).lease_expires_at == later + LEASE
    for run in (reaped, done):
        assert (await store.get_run(run.id)).lease_expires_at is None


async def test_extend_leases_only_extends_the_named_runs(
    store: Store, request: pytest.FixtureRequest
) -> None:
    """A worker restarted under the same id must not keep its predecessor's runs alive."""
    orphan = await start_one(store, "w1", task="orphan", max_attempts=2)  # then w1 dies
    current = await start_one(store, "w1", task="current")  # w1 again, after a restart
    await store.extend_leases("w1", [current.id], T0 + 10 * MINUTE)
    assert (await store.get_run(orphan.id)).lease_expires_at == T0 + LEASE
    assert ids(await store.reap_expired(T0 + MINUTE)) == [orphan.id]


async def test_extend_leases_of_another_worker_does_nothing(store: Store) -> None:
    run = await start_one(store, "w1")
    await store.cancel_run(run.id, T0)
    assert await store.extend_leases("w2", [run.id], T0 + MINUTE) == set()
    assert (await store.get_run(run.id)).lease_expires_at == T0 + LEASE


# -- finish_runs -----------------------------------------------------------------------------


async def test_finish_succeeded(store: Store) -> None:
    run = await start_one(store)
    later = T0 + 3 * SECOND
    result = {"answer": 42, "items": ["a", None], "text": "ok ✓"}
    done = await finish(store, run, RunStatus.SUCCEEDED, now=later, result=result)
    assert done.status is RunStatus.SUCCEEDED
    assert done.result == result
    assert done.error is None
    assert done.finished_at == later
    assert done.duration == 3 * SECOND
    assert done.lease_expires_at is None
    assert done.worker == "w1"
    assert done.attempts == 1


@pytest.mark.parametrize("result", [None, 0, "text", [1, 2], True])
async def test_finish_succeeded_with_any_json_result(
    store: Store, result: object, request: pytest.FixtureRequest
) -> None:
    done = await finish(store, await start_one(store), RunStatus.SUCCEEDED, result=result)
    assert done.result == result


async def test_finish_with_retry_requeues_at_available_at(store: Store) -> None:
    run = await start_one(store, max_attempts=3)
    error = {"type": "TimeoutError", "message": "provider timed out", "traceback": "..."}
    retry_at = T0 + 30 * SECOND
    queued = await finish(
        store, run, RunStatus.QUEUED, now=T0 + SECOND, error=error, available_at=retry_at
    )
    assert queued.status is RunStatus.QUEUED
    assert queued.available_at == retry_at
    assert queued.finished_at is None
    assert queued.lease_expires_at is None
    assert queued.error == error
    assert queued.attempts == 1
    assert await claim(store, now=retry_at - SECOND) == []
    (again,) = await claim(store, "w2", now=retry_at)
    assert (again.id, again.attempts, again.worker) == (run.id, 2, "w2")


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.DEAD, RunStatus.CANCELLED])
async def test_finish_final_failures(store: Store, status: RunStatus) -> None:
    run = await start_one(store)
    error = {"type": "RuntimeError", "message": "boom", "traceback": "Traceback..."}
    done = await finish(store, run, status, now=T0 + SECOND, error=error)
    assert done.status is status
    assert done.error == error
    assert done.result is None
    assert done.finished_at == T0 + SECOND
    assert done.lease_expires_at is None
    assert await claim(store, now=T0 + MINUTE) == []


async def test_finish_only_by_the_lease_owner(store: Store) -> None:
    run = await start_one(store, "w1")
    outcome = RunOutcome(run.id, RunStatus.SUCCEEDED, result=1)
    assert await store.finish_runs("w2", [outcome], T0) == 0
    assert await store.get_run(run.id) == run


async def test_finish_after_lease_lost_is_ignored(store: Store) -> None:
    run = await start_one(store, "w1", max_attempts=2)
    await store.reap_expired(T0 + LEASE + SECOND)
    (again,) = await claim(store, "w2", now=T0 + LEASE + SECOND)
    stale = RunOutcome(run.id, RunStatus.SUCCEEDED, result="stale")
    assert await store.finish_runs("w1", [stale], T0 + MINUTE) == 0
    assert await store.get_run(run.id) == again
    assert await store.finish_runs("w2", [stale], T0 + MINUTE) == 1


async def test_finish_a_queued_run_is_ignored(store: Store) -> None:
    run = await enqueue_one(store)
    assert await store.finish_runs("w1", [RunOutcome(run.id, RunStatus.SUCCEEDED)], T0) == 0
    assert await store.finish_runs("w1", [RunOutcome(MISSING_ID, RunStatus.SUCCEEDED)], T0) == 0
    assert await store.get_run(run.id) == run


async def test_finish_many_counts_what_was_written(store: Store) -> None:
    runs = await store.enqueue([make_run(args={"i": i}) for i in range(4)], T0)
    claimed = await claim(store, limit=4)
    assert ids(claimed) == ids(runs)
    outcomes = [
        RunOutcome(claimed[0].id, RunStatus.SUCCEEDED, result=0),
        RunOutcome(claimed[1].id, RunStatus.FAILED, error={"type": "E", "message": "m"}),
        RunOutcome(claimed[2].id, RunStatus.QUEUED, available_at=T0 + MINUTE),
        RunOutcome(MISSING_ID, RunStatus.SUCCEEDED),
    ]
    assert await store.finish_runs("w1", outcomes, T0) == 3
    assert await store.finish_runs("w1", [], T0) == 0
    statuses = [(await store.get_run(r.id)).status for r in runs]
    assert statuses == [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.QUEUED,
                        RunStatus.RUNNING]  # fmt: skip


# -- reap_expired ----------------------------------------------------------------------------


async def test_reap_requeues_whatever_the_retries(store: Store) -> None:
    """A run without retries whose worker died is queued again: a recovery, which leaves its
    retries for failures the task raises (max_attempts grows with the attempt)."""
    run = await start_one(store, max_attempts=1)
    assert await store.reap_expired(T0 + LEASE - SECOND) == []
    now = T0 + LEASE + SECOND
    (reaped,) = await store.reap_expired(now)
    assert reaped.id == run.id
    assert reaped.status is RunStatus.QUEUED
    assert reaped.error is not None
    assert reaped.error["type"] == "LeaseExpired"
    assert "queued again" in reaped.error["message"]
    assert reaped.lease_expires_at is None
    assert reaped.finished_at is None
    assert (reaped.attempts, reaped.max_attempts) == (1, 2)
    assert (reaped.recoveries, reaped.max_recoveries) == (1, 3)
    assert await store.get_run(run.id) == reaped
    assert await store.reap_expired(now) == []
    (again,) = await claim(store, "w2", now=now)
    assert (again.id, again.attempts, again.max_attempts) == (run.id, 2, 2)


async def test_reap_dead_when_recoveries_spent(store: Store) -> None:
    run = await start_one(store, max_attempts=5, max_recoveries=0)
    now = T0 + 2 * LEASE
    (reaped,) = await store.reap_expired(now)
    assert reaped.status is RunStatus.DEAD
    assert reaped.error is not None
    assert reaped.error["type"] == "LeaseExpired"
    assert "max_recoveries" in reaped.error["message"]
    assert reaped.finished_at == now
    assert (reaped.attempts, reaped.max_attempts, reaped.recoveries) == (1, 5, 0)
    assert await claim(store, now=now) == []
    assert (await store.get_run(run.id)).status is RunStatus.DEAD


async def test_reap_cancelled_when_cancellation_requested(store: Store) -> None:
    run = await start_one(store, max_attempts=5)
    await store.cancel_run(run.id, T0)
    now = T0 + 2 * LEASE
    (reaped,) = await store.reap_expired(now)
    assert reaped.status is RunStatus.CANCELLED
    assert reaped.error is not None
    assert reaped.error["type"] == "LeaseExpired"
    assert reaped.finished_at == now
    assert await claim(store, now=now) == []


async def test_reap_leaves_live_leases_and_other_states(store: Store) -> None:
    alive = await start_one(store, "w2", task="alive")
    expired = await start_one(store, task="expired")
    await store.extend_leases("w2", [alive.id], T0 + 10 * MINUTE)
    await enqueue_one(store, task="queued")
    done = await finish(store, await start_one(store, task="done"), RunStatus.SUCCEEDED)
    reaped = await store.reap_expired(T0 + 5 * MINUTE)
    assert ids(reaped) == [expired.id]
    assert (await store.get_run(alive.id)).status is RunStatus.RUNNING
    assert await store.get_run(done.id) == done


# -- next_available_at -----------------------------------------------------------------------


async def test_next_available_at(store: Store) -> None:
    assert await store.next_available_at() is None
    await enqueue_one(store, task="a", queue="q1", available_at=T0 + 2 * MINUTE)
    await enqueue_one(store, task="b", queue="q2", available_at=T0 + MINUTE)
    running = await start_one(store, task="c")
    assert running.available_at == T0
    await enqueue_one(store, task="d", status=RunStatus.SKIPPED)
    assert await store.next_available_at() == T0 + MINUTE
    assert await store.next_available_at(queues=["q1"]) == T0 + 2 * MINUTE
    assert await store.next_available_at(tasks=["a", "b"]) == T0 + MINUTE
    assert await store.next_available_at(queues=["q2"], tasks=["a"]) is None
    assert await store.next_available_at(queues=["nope"]) is None


async def test_next_available_at_includes_overdue_runs(store: Store) -> None:
    run: Run = await enqueue_one(store, available_at=T0 - timedelta(hours=1))
    assert await store.next_available_at() == run.available_at
