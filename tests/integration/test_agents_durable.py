"""Agent tasks are durable: every model call (``llm:N``) and tool call (``tool:K:name``) is a
step, so a run executed again repeats none that completed; ``approve`` makes a tool wait for
a person's approval (signal ``approve``), who may edit its arguments or reject the call.
Against the scripted provider on loopback (`fake_llm.FakeLLM`), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_llm import FakeLLM

from agentcron import App, Run, RunContext, RunStatus
from agentcron.agents import AgentSpec, Endpoint, agent_task, make_tool, tool
from agentcron.config import ENV_VARS, load_config
from agentcron.errors import ConfigError, ValidationError
from conftest import final, running

pytestmark = pytest.mark.timeout(60)

SENT: list[dict[str, Any]] = []


@tool
def dur_send(to: str, text: str, *, ctx: RunContext) -> dict[str, Any]:
    """Send a message to someone."""
    SENT.append({"to": to, "text": text, "run": ctx.run_id})
    return {"sent": True, "n": len(SENT)}


@tool
def dur_lookup(user: str) -> dict[str, Any]:
    """Look a user up."""
    SENT.append({"lookup": user})
    return {"user": user, "lessons": 3}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'agentcron.db'}"
        return
    from pg_support import fresh_database

    with fresh_database() as url:
        yield url


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    SENT.clear()


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


CONFIG = """
[[task]]
name = "helper"
model = "gpt-test"
base_url = "{url}"
prompt = "Help {{subject}}."
tools = ["dur_lookup", "dur_send"]
approve = {approve}
retries = 2
backoff = "10ms"
"""


def helper(tmp_path: Path, db_url: str, llm: FakeLLM, approve: str = "[]") -> App:
    path = tmp_path / f"agentcron-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(textwrap.dedent(CONFIG).format(url=llm.base_url, approve=approve))
    return App.from_config(load_config(path), db_url)


async def _waiting(app: App, run_id: int, step: str) -> Run:
    for _ in range(400):
        run = await app.get_run(run_id)
        if run.status is RunStatus.WAITING and (run.waiting_for or {}).get("step") == step:
            return run
        assert not run.status.final, (run.status, run.error)
        await asyncio.sleep(0.025)
    raise AssertionError(f"run {run_id} never waited at {step}")


async def test_a_retried_agent_run_repeats_no_model_or_tool_call(
    tmp_path: Path, any_db: str, llm: FakeLLM
) -> None:
    llm.script(
        llm.tool_call(("dur_lookup", {"user": "a"})),
        llm.tool_call(("dur_send", {"to": "a", "text": "one"})),
        llm.tool_call(("dur_send", {"to": "a", "text": "two"}), ("dur_lookup", {"user": "b"})),
        llm.error(503, "overloaded"),  # the fourth model call fails: the run is retried
        llm.answer("All done."),
    )
    app = helper(tmp_path, any_db, llm)
    async with app:
        run = await app.enqueue("helper", subject="user:1")
        await asyncio.wait_for(app.run(burst=True, scheduler=False), 30)
        done = await app.get_run(run.id)

    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.attempts == 2
    assert done.result["answer"] == "All done."
    assert [c["name"] for c in done.result["tool_calls"]] == [
        "dur_lookup", "dur_send", "dur_send", "dur_lookup",
    ]  # fmt: skip
    # every tool acted once; the model was asked 4 times, then once more (the failed call)
    assert [s.get("text") or s.get("lookup") for s in SENT] == ["a", "one", "two", "b"]
    assert len(llm.requests) == 5
    assert llm.requests[3] == llm.requests[4]  # the retry sent what the failed call sent
    assert done.steps is not None
    assert [(s.name, s.status) for s in done.steps] == [
        ("llm:1", "succeeded"), ("tool:1:dur_lookup", "succeeded"),
        ("llm:2", "succeeded"), ("tool:2:dur_send", "succeeded"),
        ("llm:3", "succeeded"), ("tool:3:dur_send", "succeeded"),
        ("tool:4:dur_lookup", "succeeded"), ("llm:4", "succeeded"),
    ]  # fmt: skip


async def test_an_approved_call_runs_once_with_the_edited_arguments(
    tmp_path: Path, any_db: str, llm: FakeLLM
) -> None:
    llm.script(
        llm.tool_call(("dur_lookup", {"user": "a"})),
        llm.tool_call(("dur_send", {"to": "a", "text": "hi!!"})),
        llm.answer("Sent."),
    )
    app = helper(tmp_path, any_db, llm, approve='["dur_send"]')
    async with running(app):
        run = await app.enqueue("helper", subject="user:1")
        waiting = await _waiting(app, run.id, "signal:approve:1")
        assert waiting.to_dict()["waiting_for"] == {
            "kind": "signal", "name": "approve", "until": None, "step": "signal:approve:1",
            "call": {"tool": "dur_send", "args": {"to": "a", "text": "hi!!"}},
        }  # fmt: skip
        assert [s.get("lookup") for s in SENT] == ["a"]  # the tool waits; the other ran
        edited = {"to": "a", "text": "Hi, keep going."}
        await app.signal(run.id, "approve", {"approved": True, "note": "gentler", "args": edited})
        done = await final(app, run.id, 10)

    assert done.status is RunStatus.SUCCEEDED, done.error
    assert SENT[1:] == [{"to": "a", "text": "Hi, keep going.", "run": run.id}]
    assert len(llm.requests) == 3  # resuming asked the model nothing again
    send = done.result["tool_calls"][1]
    assert send["arguments"] == edited
    assert send["approval"] == {"approved": True, "note": "gentler", "edited": True}
    assert llm.requests[2]["messages"][-1]["content"] == '{"sent": true, "n": 2}'
    assert done.waiting_for is None


async def test_a_rejected_call_goes_back_to_the_model_and_the_loop_goes_on(
    tmp_path: Path, any_db: str, llm: FakeLLM
) -> None:
    llm.script(
        llm.tool_call(("dur_send", {"to": "a", "text": "BUY NOW"})),
        llm.tool_call(("dur_send", {"to": "a", "text": "How are lessons going?"})),
        llm.answer("Asked politely."),
    )
    app = helper(tmp_path, any_db, llm, approve='["dur_send"]')
    async with running(app):
        run = await app.enqueue("helper", subject="user:1")
        await _waiting(app, run.id, "signal:approve:1")
        await app.signal(run.id, "approve", {"approved": False, "note": "too pushy"})
        second = await _waiting(app, run.id, "signal:approve:2")
        assert second.waiting_for is not None
        assert second.waiting_for["call"]["args"]["text"] == "How are lessons going?"
        await app.signal(run.id, "approve", {"approved": True})
        done = await final(app, run.id, 10)

    assert done.status is RunStatus.SUCCEEDED, done.error
    assert [s["text"] for s in SENT] == ["How are lessons going?"]  # the rejected one never ran
    rejected = llm.requests[1]["messages"][-1]
    assert rejected["role"] == "tool"
    assert "a person rejected this call" in rejected["content"]
    assert "too pushy" in rejected["content"]
    first, second_call = done.result["tool_calls"]
    assert (first["ok"], first["approval"]) == (False, {"approved": False, "note": "too pushy"})
    assert (second_call["ok"], second_call["approval"]) == (True, {"approved": True})
    assert len(llm.requests) == 3


async def test_approval_data_that_is_not_an_approval_is_a_rejection(
    tmp_path: Path, llm: FakeLLM
) -> None:
    llm.script(llm.tool_call(("dur_send", {"to": "a", "text": "x"})), llm.answer("ok"))
    app = helper(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", llm, approve='["dur_send"]')
    async with running(app):
        run = await app.enqueue("helper", subject="user:2")
        await _waiting(app, run.id, "signal:approve:1")
        await app.signal(run.id, "approve", "yes please")
        done = await final(app, run.id, 10)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert SENT == []
    assert "was not" in done.result["tool_calls"][0]["error"]


async def test_python_agent_tasks_take_approve_too(tmp_path: Path, llm: FakeLLM) -> None:
    send = make_tool(dur_send)
    with pytest.raises(ValidationError, match="approve: 'dur_lookup' is not one of"):
        AgentSpec(name="x", model="m", tools=(send,), approve=("dur_lookup",))
    spec = AgentSpec(name="py-agent", model="m", endpoint=Endpoint(base_url=llm.base_url),
                     tools=(send,), approve=("dur_send",))  # fmt: skip
    llm.script(llm.tool_call(("dur_send", {"to": "b", "text": "x"})), llm.answer("ok"))
    app = App(f"sqlite:///{tmp_path / 'py.db'}", maintenance=False)
    app.registry.add(agent_task(spec))
    async with running(app):
        run = await app.enqueue("py-agent")
        await _waiting(app, run.id, "signal:approve:1")
        await app.signal(run.id, "approve", {"approved": True})
        done = await final(app, run.id, 10)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert [s["to"] for s in SENT] == ["b"]


def test_the_config_checks_approve(tmp_path: Path, llm: FakeLLM) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    with pytest.raises(ConfigError) as stray:
        helper(tmp_path, db, llm, approve='["dur_nope"]')
    assert any("approve: 'dur_nope' is not in tools" in p for p in stray.value.problems)
    with pytest.raises(ConfigError) as bad:
        helper(tmp_path, db, llm, approve='"dur_send"')
    assert any("approve: expected a list of names" in p for p in bad.value.problems)
