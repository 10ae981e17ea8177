"""Graph tasks get what a scheduler for LangGraph apps passes (messages, session_id, metadata,
a thread_id in the config), so a real LangGraph graph with a checkpointer keeps its thread
across runs; and result callbacks (config and code) are called with each run's result."""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agentcron import App, RunContext, RunStatus
from agentcron.config import ENV_VARS, load_config
from agentcron.errors import ConfigError

pytestmark = pytest.mark.timeout(60)

GRAPH_MODULE = """
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


class State(TypedDict):
    messages: Annotated[list, add_messages]
    session_id: str
    metadata: dict[str, Any]


SEEN = []
DONE = []


def remember(state: State, config: RunnableConfig) -> dict:
    SEEN.append({"session_id": state["session_id"], "metadata": state["metadata"],
                 "thread_id": config["configurable"]["thread_id"]})
    said = [m.content for m in state["messages"] if m.type == "human"]
    return {"messages": [("assistant", " | ".join(said))]}


builder = StateGraph(State)
builder.add_node("remember", remember)
builder.add_edge(START, "remember")
builder.add_edge("remember", END)
graph = builder.compile(checkpointer=MemorySaver())


async def task_done(result, *, ctx):
    DONE.append(("task", ctx.schedule, result))


def schedule_done(result):
    DONE.append(("schedule", None, result))


def broken(result):
    raise RuntimeError("the chat service is down")
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture
def graphs(tmp_path: Path) -> ModuleType:
    pytest.importorskip("langgraph", reason="langgraph is not installed (agentcron[langgraph])")
    name = f"agt_threads_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(GRAPH_MODULE)
    sys.path.insert(0, str(tmp_path))
    return __import__(name)


async def configured(tmp_path: Path, db_url: str, text: str, module: str) -> App:
    path = tmp_path / f"agentcron-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(textwrap.dedent(text).format(m=module))
    config = load_config(path)
    app = App.from_config(config, db_url)
    async with app:
        await app.sync_schedules(config.schedules)
    return app


CONFIG = """
[[task]]
name = "assistant"
kind = "graph"
graph = "{m}:graph"
prompt = "check in: {{args.topic}}"
result_callback = "{m}:task_done"

[[schedule]]
name = "checkin"
task = "assistant"
trigger = "manual"
args = {{ topic = "sales" }}
metadata = {{ team = "growth", channel = "slack" }}
result_callback = "{m}:schedule_done"

[[schedule]]
name = "shared"
task = "assistant"
trigger = "manual"
args = {{ topic = "ops" }}
thread_id = "ops-room"
result_callback = "{m}:broken"
"""


async def run_schedule(app: App, name: str) -> Any:
    async with app:
        run = await app.trigger(name)
        await asyncio.wait_for(app.run(burst=True), 30)
        return await app.get_run(run.id)


async def test_two_runs_of_a_schedule_share_the_thread(
    tmp_path: Path, db_url: str, graphs: ModuleType
) -> None:
    app = await configured(tmp_path, db_url, CONFIG, graphs.__name__)
    first = await run_schedule(app, "checkin")
    second = await run_schedule(app, "checkin")

    assert first.status is RunStatus.SUCCEEDED, first.error
    assert first.result["answer"] == "check in: sales"
    assert second.status is RunStatus.SUCCEEDED, second.error
    assert second.result["answer"] == "check in: sales | check in: sales"  # it saw run one
    assert second.result["messages"] == 4
    seen = graphs.SEEN[1]
    assert seen["thread_id"] == seen["session_id"] == "checkin"  # no subject: the name
    assert seen["metadata"] == {
        "channel": "slack",  # the schedule's own metadata comes last
        "run_id": second.id,
        "task": "assistant",
        "schedule": "checkin",
        "subject": None,
        "namespace": "default",
        "scheduled_for": second.to_dict()["scheduled_for"],
        "attempt": 1,
        "team": "growth",
    }
    assert second.trigger_info == {"schedule": "checkin", "metadata": {"team": "growth",
                              "channel": "slack"}, "kind": "manual"}  # fmt: skip
    done = graphs.DONE
    assert done == [
        ("task", "checkin", first.result), ("schedule", None, first.result),
        ("task", "checkin", second.result), ("schedule", None, second.result),
    ]  # fmt: skip


async def test_thread_id_of_the_schedule_and_a_failing_callback(
    tmp_path: Path, db_url: str, graphs: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    app = await configured(tmp_path, db_url, CONFIG, graphs.__name__)
    with caplog.at_level(logging.ERROR, logger="agentcron.worker"):
        run = await run_schedule(app, "shared")
    assert run.status is RunStatus.SUCCEEDED, run.error  # the callback's error is only logged
    assert graphs.SEEN[0]["thread_id"] == "ops-room"
    assert f"run {run.id}: result_callback {graphs.__name__}:broken failed" in caplog.text
    assert "the chat service is down" in caplog.text
    done = graphs.DONE
    assert done == [("task", "shared", run.result)]


async def test_runs_without_schedule_thread_by_subject_else_run_id(
    tmp_path: Path, db_url: str, graphs: ModuleType
) -> None:
    app = await configured(tmp_path, db_url, CONFIG, graphs.__name__)
    runs = []
    async with app:
        for args, subject in [({"topic": "a"}, "user:ada"), ({"topic": "b"}, "user:ada"),
                              ({"topic": "c"}, None)]:  # fmt: skip
            runs.append(await app.enqueue("assistant", args, subject=subject))
            await asyncio.wait_for(app.run(burst=True), 30)  # one after the other
        ada, again, alone = [await app.get_run(r.id) for r in runs]
    threads = {s["metadata"]["run_id"]: s["thread_id"] for s in graphs.SEEN}
    assert threads == {ada.id: "user:ada", again.id: "user:ada", alone.id: str(alone.id)}
    assert again.result["answer"] == "check in: a | check in: b"
    assert alone.result["answer"] == "check in: c"


async def test_code_callbacks(tmp_path: Path, db_url: str) -> None:
    got: list[tuple[str, Any, str | None]] = []

    def on_task(result: Any, *, ctx: RunContext) -> None:
        got.append(("task", result, ctx.schedule))

    async def on_schedule(result: Any) -> None:
        got.append(("schedule", result, None))

    app = App(db_url, maintenance=False)

    @app.task(result_callback=on_task)
    async def add(a: int, b: int) -> int:
        return a + b

    @app.task(result_callback=on_task)
    async def fails() -> None:
        raise ValueError("no")

    app.schedule(add, "manual", name="sum", args={"a": 2, "b": 3}, result_callback=on_schedule)
    async with app:
        await app.trigger("sum")
        await app.enqueue("fails")
        await asyncio.wait_for(app.run(burst=True), 30)
    assert got == [("task", 5, "sum"), ("schedule", 5, None)]  # none for the failed run


def test_config_names_the_callback_problem(tmp_path: Path) -> None:
    path = tmp_path / "agentcron.toml"
    path.write_text(textwrap.dedent("""
        [[schedule]]
        name = "a"
        task = "agentcron.maintenance"
        trigger = "manual"
        result_callback = "no_such_module_xyz:notify"

        [[schedule]]
        name = "b"
        task = "agentcron.maintenance"
        trigger = "manual"
        result_callback = "json"
        """))  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = "\n".join(info.value.problems)
    assert ":6: schedule[1] \"a\": result_callback: cannot import module 'no_such_module_xyz'" in (
        problems
    )
    assert "'json' is not an import path like 'myapp.hooks:notify'" in problems
