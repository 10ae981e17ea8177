"""Durable runs through the App: steps replayed on later executions, sleeps, signals and
event waits that leave the worker, timeouts that do not count waiting, cancelling a waiting
run, and signals through REST and MCP."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agentcron import App, RunContext, RunStatus, WaitTimeout
from agentcron.api import ApiServer, create_api
from agentcron.auth import Principal
from agentcron.mcp.tools import Toolbox
from agentcron.models import Scope
from conftest import WaitFor, final

pytestmark = pytest.mark.timeout(60)


async def _waiting(app: App, run_id: int, wait_for: WaitFor, kind: str = "signal") -> Any:
    async def check() -> Any:
        run = await app.get_run(run_id)
        ok = run.status is RunStatus.WAITING and (run.waiting_for or {}).get("kind") == kind
        return run if ok else None

    return await wait_for(check, 10, what=f"run {run_id} waiting for a {kind}")


async def test_completed_steps_are_not_repeated_when_the_run_is_retried(
    db_url: str, run_app: Callable[..., Any]
) -> None:
    app, calls = App(db_url, maintenance=False), Counter[str]()

    @app.task(retries=2, backoff=0)
    async def flow(*, ctx: RunContext) -> dict[str, Any]:
        first = await ctx.step("charge", lambda: calls.update(["charge"]) or {"paid": 10})
        second = await ctx.step("notify", _flaky, calls)
        return {"first": first, "second": second}

    async with run_app(app):
        run = await app.enqueue("flow")
        done = await final(app, run.id, 10)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result == {"first": {"paid": 10}, "second": "sent"}
    assert calls == {"charge": 1, "notify": 2}  # the failed step ran again, the other did not
    assert done.steps is not None
    assert [(s.name, s.status) for s in done.steps] == [
        ("charge", "succeeded"), ("notify", "succeeded"),
    ]  # fmt: skip


async def _flaky(calls: Counter[str]) -> str:
    calls.update(["notify"])
    if calls["notify"] == 1:
        raise ConnectionError("the provider hung up")
    return "sent"


async def test_sleep_signal_and_event_waits_leave_the_worker(
    db_url: str, run_app: Callable[..., Any], wait_for: WaitFor
) -> None:
    app, calls = App(db_url, maintenance=False), Counter[str]()

    @app.task(timeout=1)  # the waits last longer: waiting does not count
    async def flow(*, ctx: RunContext) -> dict[str, Any]:
        await ctx.step("before", lambda: calls.update(["before"]))
        await ctx.sleep(1.2)
        approval = await ctx.wait_for_signal("approve")
        event = await ctx.wait_for_event("user.*")
        try:
            await ctx.wait_for_signal("never", timeout=0.2)
        except WaitTimeout:
            timed_out = True
        await ctx.step("after", lambda: calls.update(["after"]))
        return {"approval": approval, "event": event["data"], "timed_out": timed_out}

    async with run_app(app):
        run = await app.enqueue("flow", subject="user:1")
        await _waiting(app, run.id, wait_for, "sleep")
        assert app.worker is not None
        assert not app.worker._active
        await _waiting(app, run.id, wait_for, "signal")
        await app.signal(run.id, "approve", {"approved": True})
        await _waiting(app, run.id, wait_for, "event")
        await app.publish("user.reply", {"text": "elsewhere"}, subject="user:2")
        await app.publish("user.reply", {"text": "yes"}, subject="user:1")
        done = await final(app, run.id, 15)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result == {"approval": {"approved": True}, "event": {"text": "yes"},
                           "timed_out": True}  # fmt: skip
    assert calls == {"before": 1, "after": 1}
    names = [s.name for s in done.steps or ()]
    assert names == ["before", "sleep:1", "signal:approve:1", "event:user.*:1",
                     "signal:never:1", "after"]  # fmt: skip


async def test_a_signal_sent_early_is_kept_and_a_waiting_run_can_be_cancelled(
    db_url: str, run_app: Callable[..., Any], wait_for: WaitFor
) -> None:
    app = App(db_url, maintenance=False)
    gate = asyncio.Event()

    @app.task
    async def early(*, ctx: RunContext) -> Any:
        await gate.wait()
        return await ctx.wait_for_signal("go")

    @app.task
    async def forever(*, ctx: RunContext) -> None:
        await ctx.wait_for_signal("never")

    async with run_app(app):
        run = await app.enqueue("early")
        await wait_for(lambda: app.worker is not None and run.id in app.worker._active, 10)
        await app.signal(run.id, "go", [1, 2])  # before the run waits
        gate.set()
        assert (await final(app, run.id)).result == [1, 2]
        other = await app.enqueue("forever")
        await _waiting(app, other.id, wait_for)
        listed, _ = await app.list_runs(status="waiting")
        assert [(r.id, (r.waiting_for or {}).get("name")) for r in listed] == [(other.id, "never")]
        cancelled = await app.cancel_run(other.id)
        assert cancelled.status is RunStatus.CANCELLED
    stats = await _stats(app)
    assert stats.get("waiting", 0) == 0
    assert stats["cancelled"] == 1


async def _stats(app: App) -> dict[str, int]:
    async with app:
        return (await app.stats()).runs_by_status


async def test_bad_steps_are_clear_errors(db_url: str, run_app: Callable[..., Any]) -> None:
    app = App(db_url, maintenance=False)

    @app.task
    async def not_json(*, ctx: RunContext) -> None:
        await ctx.step("make", lambda: object())

    @app.task
    async def twice(*, ctx: RunContext) -> None:
        await ctx.step("same", lambda: 1)
        await ctx.step("same", lambda: 2)

    async with run_app(app):
        bad = await final(app, (await app.enqueue("not_json")).id)
        dup = await final(app, (await app.enqueue("twice")).id)
    assert bad.error is not None
    assert bad.error["type"] == "TypeError"
    assert "step 'make' returned object" in bad.error["message"]
    assert dup.error is not None
    assert dup.error["type"] == "ValueError"
    assert "step 'same' ran already" in dup.error["message"]


async def test_signals_through_rest_and_mcp(
    db_url: str, run_app: Callable[..., Any], wait_for: WaitFor
) -> None:
    app = App(db_url, maintenance=False)

    @app.task
    async def review(*, ctx: RunContext) -> list[Any]:
        return [await ctx.wait_for_signal("approve"), await ctx.wait_for_signal("approve")]

    async with run_app(app):
        server = ApiServer(create_api(app), "127.0.0.1", 0)
        async with server, httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            run = await app.enqueue("review")
            await _waiting(app, run.id, wait_for)
            shown = (await http.get(f"/v1/runs/{run.id}")).json()
            assert shown["status"] == "waiting"
            assert shown["waiting_for"] == {"kind": "signal", "name": "approve", "until": None,
                                            "step": "signal:approve:1"}  # fmt: skip
            listed = (await http.get("/v1/runs", params={"status": "waiting"})).json()
            assert [r["id"] for r in listed["items"]] == [run.id]
            sent = await http.post(f"/v1/runs/{run.id}/signals/approve", json={"ok": 1})
            assert sent.status_code == 202, sent.text
            missing = await http.post("/v1/runs/999999/signals/approve", json=None)
            assert missing.status_code == 404
            await wait_for(
                lambda: _step_waits(app, run.id, "signal:approve:2"), 10, what="second wait"
            )
            box = Toolbox(app)
            who = Principal(Scope.WRITE, ("default",), "tok")
            answer = await box.call("signal_run", {"id": run.id, "name": "approve",
                                                   "data": "yes"}, who)  # fmt: skip
            assert answer["id"] == run.id
            done = await final(app, run.id)
            finished = await http.post(f"/v1/runs/{run.id}/signals/approve")
            assert finished.status_code == 409
    assert done.result == [{"ok": 1}, "yes"]


async def _step_waits(app: App, run_id: int, step: str) -> bool:
    run = await app.get_run(run_id)
    return run.status is RunStatus.WAITING and (run.waiting_for or {}).get("step") == step
