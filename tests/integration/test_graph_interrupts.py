"""Graph tasks and LangGraph's ``interrupt()``: the run waits (no worker held) for signal
``resume``, whose data resumes the graph; a graph compiled without a checkpointer keeps its
checkpoints in the run's durable steps, so the thread resumes in another App (a restart),
on SQLite and PostgreSQL, and nodes that completed before the interrupt do not run again."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agentcron import App, Run, RunStatus
from agentcron.config import ENV_VARS, load_config
from conftest import final, running

pytestmark = pytest.mark.timeout(60)

GRAPH_MODULE = """
from typing import Annotated

from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from typing_extensions import TypedDict


class State(TypedDict):
    messages: Annotated[list, add_messages]
    draft: str


DRAFTED = []
SENT = []


def draft(state: State) -> dict:
    DRAFTED.append(state["messages"][-1].content)
    return {"draft": "Hello from the graph"}


def review(state: State) -> dict:
    answer = interrupt({"question": "send this?", "draft": state["draft"]})
    if not answer.get("approved"):
        return {"messages": [("assistant", "not sent: " + answer.get("note", ""))]}
    text = answer.get("text", state["draft"])
    SENT.append(text)
    return {"messages": [("assistant", "sent: " + text)]}


builder = StateGraph(State)
builder.add_node("draft", draft)
builder.add_node("review", review)
builder.add_edge(START, "draft")
builder.add_edge("draft", "review")
builder.add_edge("review", END)
graph = builder.compile()  # no checkpointer: the run keeps the checkpoints
"""
CONFIG = """
[[task]]
name = "reviewed"
kind = "graph"
graph = "{m}:graph"
prompt = "write to {{subject}}"
"""


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


@pytest.fixture
def graphs(tmp_path: Path) -> ModuleType:
    pytest.importorskip("langgraph", reason="langgraph is not installed (agentcron[langgraph])")
    name = f"agt_interrupts_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(GRAPH_MODULE)
    sys.path.insert(0, str(tmp_path))
    return __import__(name)


def configured(tmp_path: Path, db_url: str, module: str) -> App:
    path = tmp_path / f"agentcron-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(textwrap.dedent(CONFIG).format(m=module))
    return App.from_config(load_config(path), db_url)


async def _waiting(app: App, run_id: int) -> Run:
    for _ in range(400):
        run = await app.get_run(run_id)
        if run.status is RunStatus.WAITING:
            return run
        assert not run.status.final, (run.status, run.error)
        await asyncio.sleep(0.025)
    raise AssertionError(f"run {run_id} never waited")


async def test_an_interrupted_graph_resumes_with_the_signal_after_a_restart(
    tmp_path: Path, any_db: str, graphs: Any
) -> None:
    first = configured(tmp_path, any_db, graphs.__name__)
    async with running(first):
        run = await first.enqueue("reviewed", subject="user:7")
        waiting = await _waiting(first, run.id)
    assert waiting.waiting_for is not None
    shown = waiting.to_dict()["waiting_for"]
    assert shown is not None
    assert (shown["kind"], shown.get("name")) == ("signal", "resume")
    [interrupt] = shown["interrupts"]
    assert interrupt["value"] == {"question": "send this?", "draft": "Hello from the graph"}
    assert graphs.DRAFTED == ["write to user:7"]
    assert graphs.SENT == []

    # another App on the same database (the first one, and its memory, are gone)
    second = configured(tmp_path, any_db, graphs.__name__)
    async with running(second):
        await second.signal(run.id, "resume", {"approved": True, "text": "Hi there"})
        done = await final(second, run.id, 15)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result["answer"] == "sent: Hi there"
    assert done.result["messages"] == 2
    assert graphs.SENT == ["Hi there"]
    assert graphs.DRAFTED == ["write to user:7"]  # the node before the interrupt ran once
    assert done.steps is not None
    assert [(s.name, s.status) for s in done.steps] == [
        ("graph:1", "succeeded"), ("signal:resume:1", "succeeded"), ("graph:2", "succeeded"),
    ]  # fmt: skip


async def test_a_graph_can_be_resumed_with_a_refusal(tmp_path: Path, graphs: Any) -> None:
    app = configured(tmp_path, f"sqlite:///{tmp_path / 'g.db'}", graphs.__name__)
    async with running(app):
        run = await app.enqueue("reviewed", subject="user:8")
        await _waiting(app, run.id)
        await app.signal(run.id, "resume", {"approved": False, "note": "too early"})
        done = await final(app, run.id, 15)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result["answer"] == "not sent: too early"
    assert graphs.SENT == []
