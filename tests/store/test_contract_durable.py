"""Store contract: durable runs. Steps are stored and never overwritten once succeeded; a run
suspended at a wait holds no lease and is ``waiting`` (neither queued nor finished); sleeps,
timeouts, signals and events wake it, each with the wait's step finished in the same
transaction; a waiting run can be cancelled; deleting a run deletes its steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_helpers import LEASE, MISSING_ID, SECOND, T0, claim, enqueue_one, finish, start_one

from agentcron.errors import InvalidRunState, RunNotFound
from agentcron.models import NewEvent, RunStatus
from agentcron.store import RunFilter, Store


def _sleep(step: str = "sleep:1", until: float | None = None) -> dict[str, object]:
    return {"kind": "sleep", "step": step, "until": until}


async def _suspend(store: Store, run_id: int, waiting: dict[str, object], wake_s: float | None,
                   worker: str = "w1") -> RunStatus | None:  # fmt: skip
    wake = T0 + timedelta(seconds=wake_s - T0.timestamp()) if wake_s is not None else None
    return await store.suspend_run(run_id, worker, waiting, wake, 1.5, T0)


async def test_steps_are_saved_loaded_and_a_success_is_never_overwritten(store: Store) -> None:
    run = await start_one(store)
    assert (await store.load_steps(run.id)).steps == {}
    await store.save_step(run.id, "fetch", "running", started_at=T0, now=T0)
    await store.save_step(run.id, "fetch", "succeeded", started_at=T0, now=T0 + SECOND,
                          result_json='{"n": 1}')  # fmt: skip
    await store.save_step(run.id, "fetch", "failed", started_at=T0, now=T0 + 2 * SECOND,
                          error={"type": "Late", "message": "a zombie"})  # fmt: skip
    await store.save_step(run.id, "send", "failed", started_at=T0 + SECOND, now=T0 + SECOND,
                          error={"type": "Boom", "message": "no"})  # fmt: skip
    state = await store.load_steps(run.id)
    assert list(state.steps) == ["fetch", "send"]
    fetch, send = state.steps["fetch"], state.steps["send"]
    assert (fetch.status, fetch.result, fetch.finished_at) == ("succeeded", {"n": 1}, T0 + SECOND)
    assert (send.status, send.error) == ("failed", {"type": "Boom", "message": "no"})
    await store.save_step(run.id, "send", "succeeded", started_at=T0, now=T0, result_json="2")
    assert (await store.load_steps(run.id)).steps["send"].result == 2
    assert (await store.load_steps(MISSING_ID)).steps == {}


async def test_a_suspended_run_waits_without_a_lease_and_a_sleep_wakes_it(store: Store) -> None:
    run = await start_one(store, max_attempts=2)
    until = (T0 + 60 * SECOND).timestamp()
    assert await _suspend(store, run.id, _sleep(until=until), until) is RunStatus.WAITING
    waiting = await store.get_run(run.id)
    assert waiting.status is RunStatus.WAITING
    assert (waiting.worker, waiting.lease_expires_at, waiting.finished_at) == ("w1", None, None)
    assert waiting.max_attempts == 3  # the wait uses up no retry
    state = await store.load_steps(run.id)
    assert state.active_s == 1.5
    assert state.waiting_for == _sleep(until=until)
    assert state.steps["sleep:1"].status == "running"
    assert await claim(store, now=T0 + 3600 * SECOND) == []  # not claimable
    assert await store.reap_expired(T0 + 3600 * SECOND) == []  # not reaped
    assert await store.extend_leases("w1", [run.id], T0 + LEASE) == set()
    woken, nxt = await store.wake_due(T0 + 59 * SECOND)
    assert (woken, nxt) == (0, T0 + 60 * SECOND)
    woken, nxt = await store.wake_due(T0 + 60 * SECOND)
    assert (woken, nxt) == (1, None)
    back = await store.get_run(run.id)
    assert (back.status, back.available_at) == (RunStatus.QUEUED, T0 + 60 * SECOND)
    assert (await store.load_steps(run.id)).steps["sleep:1"].status == "succeeded"
    (again,) = await claim(store, now=T0 + 61 * SECOND)
    assert again.attempts == 2


async def test_only_the_lease_holder_suspends(store: Store) -> None:
    run = await start_one(store)
    assert await _suspend(store, run.id, _sleep(), None, worker="other") is None
    assert (await store.get_run(run.id)).status is RunStatus.RUNNING
    queued = await enqueue_one(store)
    assert await _suspend(store, queued.id, _sleep(), None) is None


async def test_a_run_whose_cancellation_was_asked_is_cancelled_at_its_wait(store: Store) -> None:
    run = await start_one(store)
    await store.cancel_run(run.id, T0)
    assert await _suspend(store, run.id, _sleep(), None) is RunStatus.CANCELLED
    assert (await store.get_run(run.id)).status is RunStatus.CANCELLED


async def test_a_signal_wakes_its_waiting_run_with_its_data(store: Store) -> None:
    run = await start_one(store)
    waiting = {"kind": "signal", "name": "approve", "step": "signal:approve:1", "until": None}
    assert await _suspend(store, run.id, waiting, None) is RunStatus.WAITING
    assert await store.signal_run(run.id, "other", {"x": 1}, T0) is False
    assert (await store.get_run(run.id)).status is RunStatus.WAITING
    assert await store.signal_run(run.id, "approve", {"approved": True}, T0 + SECOND) is True
    back = await store.get_run(run.id)
    assert (back.status, back.available_at) == (RunStatus.QUEUED, T0 + SECOND)
    step = (await store.load_steps(run.id)).steps["signal:approve:1"]
    assert (step.status, step.result) == ("succeeded", {"approved": True})
    # taken: not taken again; the other one is kept for a wait of its name
    assert await store.take_signal(run.id, "approve", "signal:approve:2", T0) == (False, None)
    assert await store.take_signal(run.id, "other", "signal:other:1", T0) == (True, {"x": 1})
    assert (await store.load_steps(run.id)).steps["signal:other:1"].result == {"x": 1}


async def test_a_signal_sent_before_the_wait_is_kept_and_taken_oldest_first(store: Store) -> None:
    run = await enqueue_one(store)
    assert await store.signal_run(run.id, "go", 1, T0) is False
    assert await store.signal_run(run.id, "go", 2, T0) is False
    assert (await store.load_steps(run.id)).signals  # signals wait to be taken
    assert await store.take_signal(run.id, "go", "signal:go:1", T0) == (True, 1)
    (running,) = await claim(store)
    waiting = {"kind": "signal", "name": "go", "step": "signal:go:2", "until": None}
    # a signal already there when the run suspends: taken, and the run is queued at once
    assert await _suspend(store, running.id, waiting, None) is RunStatus.QUEUED
    back = await store.get_run(running.id)
    assert (back.status, back.lease_expires_at) == (RunStatus.QUEUED, None)
    state = await store.load_steps(run.id)
    assert (state.steps["signal:go:2"].result, state.signals) == (2, False)


async def test_signals_to_missing_or_finished_runs_are_refused(store: Store) -> None:
    with pytest.raises(RunNotFound):
        await store.signal_run(MISSING_ID, "go", None, T0)
    run = await start_one(store)
    await finish(store, run, RunStatus.SUCCEEDED, result=1)
    with pytest.raises(InvalidRunState):
        await store.signal_run(run.id, "go", None, T0)


async def test_a_timed_out_wait_fails_its_step_and_queues_the_run(store: Store) -> None:
    run = await start_one(store)
    until = (T0 + 5 * SECOND).timestamp()
    waiting = {"kind": "signal", "name": "approve", "step": "signal:approve:1", "until": until}
    await _suspend(store, run.id, waiting, until)
    assert await store.wake_due(T0 + 5 * SECOND) == (1, None)
    step = (await store.load_steps(run.id)).steps["signal:approve:1"]
    assert step.status == "failed"
    assert step.error is not None
    assert step.error["type"] == "WaitTimeout"
    assert (await store.get_run(run.id)).status is RunStatus.QUEUED


async def test_an_event_after_the_wait_began_wakes_the_run(store: Store) -> None:
    before, _ = await store.publish([NewEvent("user.reply", {"n": 0}, subject="u:1")], T0,
                                    _planner())  # fmt: skip
    run = await start_one(store, subject="u:1")
    waiting = {"kind": "event", "pattern": "user.*", "subject": "u:1", "step": "event:user.*:1",
               "until": None, "after": before[0].id}  # fmt: skip
    await _suspend(store, run.id, waiting, None)
    woken, nxt = await store.wake_due(T0)
    assert woken == 0
    assert nxt is not None
    assert nxt <= T0 + 2 * SECOND
    later = [NewEvent("user.reply", {"n": 1}, subject="u:2"),
             NewEvent("order.placed", {"n": 2}, subject="u:1"),
             NewEvent("user.reply", {"n": 3}, subject="u:1")]  # fmt: skip
    await store.publish(later, T0, _planner())
    assert (await store.wake_due(T0))[0] == 1
    step = (await store.load_steps(run.id)).steps["event:user.*:1"]
    assert step.status == "succeeded"
    assert (step.result["type"], step.result["data"], step.result["subject"]) == (
        "user.reply", {"n": 3}, "u:1",
    )  # fmt: skip
    assert (await store.get_run(run.id)).status is RunStatus.QUEUED


async def test_a_waiting_run_is_listed_counted_cancelled_and_not_purged(store: Store) -> None:
    run = await start_one(store)
    await _suspend(store, run.id, _sleep(until=None), None)
    page, _ = await store.list_runs(RunFilter(status=RunStatus.WAITING))
    assert [r.id for r in page] == [run.id]
    assert (await store.stats()).runs_by_status.get("waiting") == 1
    assert await store.waiting_for_runs([run.id]) == {run.id: _sleep(until=None)}
    assert await store.purge_runs(T0 + 3600 * SECOND) == 0
    assert await store.cancel_waiting(MISSING_ID, T0) is None
    cancelled = await store.cancel_waiting(run.id, T0 + SECOND)
    assert cancelled is not None
    assert cancelled.status is RunStatus.CANCELLED
    assert cancelled.finished_at == T0 + SECOND
    assert await store.cancel_waiting(run.id, T0) is None
    assert await store.purge_runs(T0 + 3600 * SECOND) == 1  # its steps go with it
    assert (await store.load_steps(run.id)).steps == {}


def _planner() -> object:
    from agentcron.scheduler import RunPlanner
    from agentcron.tasks import TaskRegistry

    return RunPlanner(TaskRegistry(), T0)
