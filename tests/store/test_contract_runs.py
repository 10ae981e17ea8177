"""Store contract: enqueue, get_run, list_runs, cancel_run, retry_run, purge_runs."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from store_helpers import (
    LEASE,
    MINUTE,
    MISSING_ID,
    T0,
    all_runs,
    claim,
    enqueue_one,
    finish,
    ids,
    make_run,
    start_one,
)

from agentcron.errors import AgentcronError, InvalidRunState, RunNotFound, ValidationError
from agentcron.models import NewRun, Run, RunStatus
from agentcron.store import RunFilter, Store

FULL_RUN = NewRun(
    task="summarize",
    args={"conversation": "c-1", "limits": [1, 2.5], "note": "ünïcode", "none": None},
    namespace="tenant-a",
    queue="llm",
    priority=5,
    available_at=T0 + timedelta(seconds=30, microseconds=123456),
    dedup_key="summary:c-1",
    max_attempts=4,
    timeout=timedelta(seconds=45.5),
    subject="user:42",
    schedule_id="sched-1",
    scheduled_for=T0 - timedelta(milliseconds=250),
    trigger_info={"kind": "interval", "missed": 2},
    serial_key="user:42",
)


async def test_enqueue_stores_every_field(store: Store) -> None:
    (run,) = await store.enqueue([FULL_RUN], T0)
    assert run.status is RunStatus.QUEUED
    assert run.attempts == 0
    assert run.queued_at == T0
    assert (run.started_at, run.finished_at, run.worker, run.lease_expires_at) == (None,) * 4
    assert (run.result, run.error, run.cancel_requested) == (None, None, False)
    for name in ("task", "args", "namespace", "queue", "priority", "available_at", "dedup_key",
                 "max_attempts", "timeout", "subject", "schedule_id", "scheduled_for",
                 "trigger_info"):  # fmt: skip
        assert getattr(run, name) == getattr(FULL_RUN, name), name
    assert await store.get_run(run.id) == run


async def test_enqueue_defaults(store: Store) -> None:
    run = await enqueue_one(store, task="bare")
    assert run.available_at == T0  # None: now
    assert (run.namespace, run.queue, run.priority, run.max_attempts) == (
        "default",
        "default",
        0,
        1,
    )
    assert (run.args, run.subject, run.schedule_id, run.scheduled_for) == ({}, None, None, None)
    assert await store.get_run(run.id) == run


async def test_enqueue_returns_runs_in_input_order(store: Store) -> None:
    batch = [make_run(f"t{i}", args={"i": i}) for i in range(5)]
    runs = await store.enqueue(batch, T0)
    assert [r.task for r in runs] == [f"t{i}" for i in range(5)]
    assert ids(runs) == sorted(ids(runs))
    assert len(set(ids(runs))) == 5
    for run in runs:
        assert await store.get_run(run.id) == run
    assert await store.enqueue([], T0) == []


async def test_enqueue_dedup_returns_the_existing_run(store: Store) -> None:
    first = await enqueue_one(store, task="once", args={"v": 1}, dedup_key="k")
    again = await store.enqueue(
        [make_run("other"), make_run("once", args={"v": 2}, dedup_key="k")], T0 + MINUTE
    )
    assert again[1] == first  # the existing run, as it is: first args, first queued_at
    assert again[0].task == "other"
    assert len(await all_runs(store)) == 2


async def test_enqueue_dedup_within_one_batch(store: Store) -> None:
    runs = await store.enqueue(
        [make_run("a", dedup_key="same"), make_run("b", dedup_key="same")], T0
    )
    assert runs[0].id == runs[1].id
    assert runs[1].task == "a"
    assert len(await all_runs(store)) == 1


async def test_enqueue_dedup_holds_after_the_run_finished(store: Store) -> None:
    run = await start_one(store, task="once", dedup_key="k")
    await finish(store, run, RunStatus.SUCCEEDED, result=1)
    (again,) = await store.enqueue([make_run("once", dedup_key="k")], T0)
    assert again.id == run.id
    assert again.status is RunStatus.SUCCEEDED


async def test_enqueue_out_of_range_number_is_a_store_error(
    store: Store, request: pytest.FixtureRequest
) -> None:
    """Driver errors never leave a store; a value the database cannot hold is no exception."""
    with pytest.raises(AgentcronError):
        await store.enqueue([make_run(priority=2**70)], T0)
    assert await all_runs(store) == []


async def test_get_run_missing_raises(store: Store) -> None:
    with pytest.raises(RunNotFound) as caught:
        await store.get_run(MISSING_ID)
    assert str(MISSING_ID) in str(caught.value)


async def test_list_runs_newest_first_with_cursor(store: Store) -> None:
    runs = await store.enqueue([make_run(f"t{i}") for i in range(7)], T0)
    pages, cursor, seen = 0, None, []
    while True:
        page, cursor = await store.list_runs(limit=3, cursor=cursor)
        pages += 1
        seen += ids(page)
        if cursor is None:
            break
    assert seen == sorted(ids(runs), reverse=True)
    assert pages == 3
    page, cursor = await store.list_runs(limit=7)
    assert (len(page), cursor) == (7, None)


async def test_list_runs_filters(store: Store) -> None:
    a = await enqueue_one(store, task="a", namespace="n1", subject="user:1", schedule_id="s1")
    b = await enqueue_one(store, task="b", namespace="n1", subject="user:2")
    c = await enqueue_one(store, task="a", namespace="n2", schedule_id="s1")
    await store.cancel_run(b.id, T0)

    async def listed(**kw: object) -> list[int]:
        page, _ = await store.list_runs(RunFilter(**kw))  # type: ignore[arg-type]
        return ids(page)

    assert await listed() == [c.id, b.id, a.id]
    assert await listed(namespace="n1") == [b.id, a.id]
    assert await listed(task="a") == [c.id, a.id]
    assert await listed(status=RunStatus.CANCELLED) == [b.id]
    assert await listed(status=RunStatus.QUEUED) == [c.id, a.id]
    assert await listed(schedule_id="s1") == [c.id, a.id]
    assert await listed(subject="user:1") == [a.id]
    assert await listed(task="a", namespace="n2", schedule_id="s1") == [c.id]
    assert await listed(task="zzz") == []


async def test_list_runs_cursor_with_filter(store: Store) -> None:
    for i in range(6):
        await enqueue_one(store, task="even" if i % 2 == 0 else "odd")
    evens = await all_runs(store, RunFilter(task="even"))
    page1, cursor = await store.list_runs(RunFilter(task="even"), limit=2)
    page2, last = await store.list_runs(RunFilter(task="even"), limit=2, cursor=cursor)
    assert ids(page1) + ids(page2) == ids(evens)
    assert last is None


async def test_listings_and_counts_see_runs_in_every_state(store: Store) -> None:
    """Runs of one task in every state, between another task's: listed by task (page by page),
    by status and by both, newest first, and counted by status."""
    mine: dict[RunStatus, list[int]] = {}
    for _ in range(3):
        other = await enqueue_one(store, task="other")
        done = await finish(store, await start_one(store, task="mine"), RunStatus.SUCCEEDED)
        dead = await finish(store, await start_one(store, task="mine"), RunStatus.DEAD)
        running = await start_one(store, task="mine")
        cancelled = await store.cancel_run((await enqueue_one(store, task="mine")).id, T0)
        queued = await enqueue_one(store, task="mine", available_at=T0 + 60 * MINUTE)
        for run in (done, dead, running, cancelled, queued):
            mine.setdefault(run.status, []).insert(0, run.id)
        assert other.status is RunStatus.QUEUED
    newest_first = sorted((i for ids_ in mine.values() for i in ids_), reverse=True)
    pages = []
    cursor = None
    while True:
        page, cursor = await store.list_runs(RunFilter(task="mine"), limit=4, cursor=cursor)
        pages.append(ids(page))
        if cursor is None:
            break
    assert [i for page in pages for i in page] == newest_first
    assert all(len(page) == 4 for page in pages[:-1])
    for status, expected in mine.items():
        assert ids(await all_runs(store, RunFilter(status=status, task="mine"))) == expected
        listed = ids(await all_runs(store, RunFilter(status=status)))
        assert [i for i in listed if i in newest_first] == expected
    stats = await store.stats()
    assert stats.runs_by_status == {"succeeded": 3, "dead": 3, "running": 3, "cancelled": 3,
                                    "queued": 6}  # fmt: skip


async def test_list_runs_bad_cursor_is_a_validation_error(store: Store) -> None:
    with pytest.raises(ValidationError):
        await store.list_runs(cursor="%%% not a cursor %%%")


def forged(value: object) -> str:
    """A cursor that decodes (base64 JSON) but was not made by the store."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


FORGED_CURSORS = [forged(v) for v in (["abc"], [], [None], [{"a": 1}])]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
async def test_list_runs_forged_cursor_is_a_validation_error(
    store: Store, cursor: str, request: pytest.FixtureRequest
) -> None:
    """A cursor from a client (stale, forged, or another list's) is bad input, not a crash."""
    await enqueue_one(store)
    with pytest.raises(ValidationError) as caught:
        await store.list_runs(cursor=cursor)
    assert caught.value.field == "cursor"


async def test_list_runs_huge_cursor_is_not_a_crash(
    store: Store, request: pytest.FixtureRequest
) -> None:
    run = await enqueue_one(store)
    try:
        page, _ = await store.list_runs(cursor=forged([2**70]))
    except ValidationError:
        return
    assert ids(page) == [run.id]  # read as "before every id"


async def test_cancel_queued_run_at_once(store: Store) -> None:
    run = await enqueue_one(store)
    cancelled = await store.cancel_run(run.id, T0 + MINUTE)
    assert cancelled.status is RunStatus.CANCELLED
    assert cancelled.finished_at == T0 + MINUTE
    assert await store.get_run(run.id) == cancelled
    assert await claim(store, now=T0 + MINUTE) == []


async def test_cancel_running_run_requests_cancellation(store: Store) -> None:
    run = await start_one(store)
    requested = await store.cancel_run(run.id, T0)
    assert requested.status is RunStatus.RUNNING
    assert requested.cancel_requested is True
    assert requested.finished_at is None
    assert await store.get_run(run.id) == requested


@pytest.mark.parametrize(
    "status", [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.DEAD, RunStatus.CANCELLED]
)
async def test_cancel_finished_run_raises(store: Store, status: RunStatus) -> None:
    run = await finish(store, await start_one(store), status)
    with pytest.raises(InvalidRunState):
        await store.cancel_run(run.id, T0)
    assert await store.get_run(run.id) == run


async def test_cancel_skipped_record_raises(store: Store) -> None:
    run = await enqueue_one(store, status=RunStatus.SKIPPED)
    with pytest.raises(InvalidRunState):
        await store.cancel_run(run.id, T0)


async def test_cancel_missing_run_raises(store: Store) -> None:
    with pytest.raises(RunNotFound):
        await store.cancel_run(MISSING_ID, T0)


@pytest.mark.parametrize("status", [RunStatus.DEAD, RunStatus.FAILED, RunStatus.CANCELLED])
async def test_retry_finished_run_queues_one_more_attempt(store: Store, status: RunStatus) -> None:
    run = await finish(store, await start_one(store, max_attempts=2), status)
    later = T0 + 5 * MINUTE
    retried = await store.retry_run(run.id, later)
    assert retried.status is RunStatus.QUEUED
    assert retried.attempts == 1
    assert retried.max_attempts == 2  # attempts + 1
    assert retried.available_at == later
    assert retried.finished_at is None
    assert retried.cancel_requested is False
    assert await store.get_run(run.id) == retried
    assert await claim(store, now=later - timedelta(seconds=1)) == []
    (again,) = await claim(store, now=later)
    assert (again.id, again.attempts) == (run.id, 2)


async def test_retry_cancelled_queued_run(store: Store) -> None:
    run = await enqueue_one(store)
    await store.cancel_run(run.id, T0)
    retried = await store.retry_run(run.id, T0)
    assert retried.status is RunStatus.QUEUED
    assert retried.max_attempts == 1
    assert ids(await claim(store)) == [run.id]


async def test_retry_cancel_requested_then_cancelled_run(store: Store) -> None:
    run = await start_one(store)
    await store.cancel_run(run.id, T0)
    await finish(store, run, RunStatus.CANCELLED)
    retried = await store.retry_run(run.id, T0)
    assert retried.cancel_requested is False
    (again,) = await claim(store)
    assert (await store.extend_leases("w1", [again.id], T0 + MINUTE)) == set()


async def test_retry_unfinished_or_succeeded_run_raises(store: Store) -> None:
    queued = await enqueue_one(store, task="q")
    running = await start_one(store, task="r")
    succeeded = await finish(store, await start_one(store, task="s"), RunStatus.SUCCEEDED)
    skipped = await enqueue_one(store, task="k", status=RunStatus.SKIPPED)
    for run in (queued, running, succeeded, skipped):
        with pytest.raises(InvalidRunState):
            await store.retry_run(run.id, T0)
        assert (await store.get_run(run.id)).status is run.status
    with pytest.raises(RunNotFound):
        await store.retry_run(MISSING_ID, T0)


async def test_purge_runs_deletes_only_finished_before_cutoff(store: Store) -> None:
    old_done = await finish(store, await start_one(store, task="a"), RunStatus.SUCCEEDED)
    old_dead = await finish(store, await start_one(store, task="b"), RunStatus.DEAD)
    new_done = await finish(
        store, await start_one(store, task="c"), RunStatus.SUCCEEDED, now=T0 + 2 * MINUTE
    )
    queued = await enqueue_one(store, task="d")
    running = await start_one(store, task="e")
    assert await store.purge_runs(T0 + MINUTE) == 2
    left = set(ids(await all_runs(store)))
    assert left == {new_done.id, queued.id, running.id}
    for run in (old_done, old_dead):
        with pytest.raises(RunNotFound):
            await store.get_run(run.id)
    assert await store.purge_runs(T0 + MINUTE) == 0


def utc_times(run: Run) -> dict[str, datetime]:
    """The run's datetimes that are not in UTC."""
    times = {
        name: getattr(run, name)
        for name in ("scheduled_for", "queued_at", "available_at", "started_at", "finished_at",
                     "lease_expires_at")
    }  # fmt: skip
    return {k: v for k, v in times.items() if v is not None and v.utcoffset() != timedelta(0)}


async def test_times_come_back_in_utc(store: Store, request: pytest.FixtureRequest) -> None:
    """Times in may be in any zone; times out are aware UTC (the same instants)."""
    berlin = ZoneInfo("Europe/Berlin")
    local = T0.astimezone(berlin)
    new = make_run(available_at=local + MINUTE, scheduled_for=local, dedup_key="berlin")
    (run,) = await store.enqueue([new], local)
    stored = await store.get_run(run.id)
    assert utc_times(stored) == {}
    assert stored.available_at == T0 + MINUTE
    assert (stored.queued_at, stored.scheduled_for) == (T0, T0)
    (again,) = await store.enqueue([new], local)  # the dedup path reads the row back
    assert utc_times(again) == {}
    (claimed,) = await store.claim_runs("w", now=local + MINUTE, lease=LEASE, limit=1)
    assert utc_times(claimed) == {}
    assert claimed.started_at == T0 + MINUTE
    assert utc_times(run) == {}


@pytest.mark.parametrize("run_id", [-1, 0, 2**63 - 1, 2**63, 2**70])
async def test_any_missing_run_id_is_not_found(
    store: Store, run_id: int, request: pytest.FixtureRequest
) -> None:
    """An id from a URL is any integer: one no run has is RunNotFound, never a crash."""
    with pytest.raises(RunNotFound):
        await store.get_run(run_id)
    with pytest.raises(RunNotFound):
        await store.cancel_run(run_id, T0)
    with pytest.raises(RunNotFound):
        await store.retry_run(run_id, T0)
