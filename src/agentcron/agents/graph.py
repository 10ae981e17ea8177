"""``kind = "graph"``: invoke a LangGraph compiled graph named by import path.

The graph gets what a scheduler for LangGraph apps passes (``ainvoke``, or ``invoke`` in a
thread when it has no ``ainvoke``)::

    input  {"messages": [{"role": "user", "content": <the prompt>}],
            "session_id": <the thread>,
            "metadata": {"channel": "scheduler", "run_id", "task", "schedule", "subject",
                         "namespace", "scheduled_for", "attempt", **<the schedule's metadata>}}
    config {"configurable": {"thread_id": <the thread>}, "metadata": <the same metadata>}

The thread (`RunContext.thread`) is the schedule's ``thread_id``, else the run's subject,
else the schedule's name, else the run id: a graph compiled with a checkpointer keeps one
conversation per subject (or per schedule) across runs. A graph's state without
``session_id`` or ``metadata`` keys ignores them (``MessagesState``).

The run's result is the content of the last message of the state it returns and the number
of messages. Only config written by the operator names graphs, so importing by path is fine
here (the API never can). ``pip install 'agentcron[langgraph]'``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentcron._imports import import_object
from agentcron.agents.agent import user_prompt
from agentcron.agents.approval import wait_showing
from agentcron.agents.errors import GraphError
from agentcron.agents.graph_state import restore, run_saver, snapshot
from agentcron.agents.result import fit
from agentcron.context import RunContext
from agentcron.errors import ValidationError
from agentcron.models import iso

__all__ = ["RESUME_SIGNAL", "GraphSpec", "graph_input", "import_graph", "run_graph"]

RESUME_SIGNAL = "resume"


@dataclass(frozen=True, slots=True)
class GraphSpec:
    name: str
    path: str  # "pkg.mod:attr"
    graph: Any
    prompt: str | None = None


def import_graph(path: str) -> Any:
    """The object at ``pkg.mod:attr`` (``attr`` may be dotted); it must have ``ainvoke`` or
    ``invoke``. Raises `ValidationError` (field ``graph``)."""
    obj = import_object(path, field="graph", example="mypkg.graphs:graph")
    if not hasattr(obj, "ainvoke") and not hasattr(obj, "invoke"):
        hint = "; call .compile() on the StateGraph" if hasattr(obj, "compile") else ""
        raise ValidationError(
            f"{path!r} is a {type(obj).__name__}, not a compiled graph (no invoke/ainvoke){hint}",
            field="graph",
        )
    return obj


def graph_input(prompt: str, ctx: RunContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """The input state and the config of one run (see the module docstring)."""
    metadata = {
        "channel": "scheduler",
        "run_id": ctx.run_id,
        "task": ctx.task,
        "schedule": ctx.schedule,
        "subject": ctx.subject,
        "namespace": ctx.namespace,
        "scheduled_for": iso(ctx.scheduled_for),
        "attempt": ctx.attempt,
        **ctx.metadata,
    }
    state = {
        "messages": [{"role": "user", "content": prompt}],
        "session_id": ctx.thread,
        "metadata": metadata,
    }
    return state, {"configurable": {"thread_id": ctx.thread}, "metadata": dict(metadata)}


async def run_graph(spec: GraphSpec, args: Mapping[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Invoke the graph for one run; the answer and the message count, under the size cap.

    Each invocation is a durable step (``graph:1``, ``graph:2``...). A graph that stops at
    ``interrupt()`` makes the run wait for signal ``resume``, whose data resumes it
    (``Command(resume=data)``), in a later step."""
    state_in, config = graph_input(user_prompt(spec.prompt, args, ctx), ctx)
    outcome = await ctx.step("graph:1", _turn, spec, state_in, config, None)
    turn = 1
    while "interrupts" in outcome:
        data = await wait_showing(ctx, RESUME_SIGNAL, interrupts=outcome["interrupts"])
        turn += 1
        outcome = await ctx.step(f"graph:{turn}", _turn, spec, _resume(data), config,
                                 outcome.get("checkpoints"))  # fmt: skip
    result: dict[str, Any] = outcome["result"]
    return result


async def _turn(spec: GraphSpec, given: Any, config: dict[str, Any],
                kept: list[dict[str, Any]] | None) -> dict[str, Any]:  # fmt: skip
    """One invocation: ``{"result": ...}``, or ``{"interrupts": [{id, value}]}`` and, when
    the graph runs on the run's own checkpointer, its ``checkpoints``."""
    graph, saver = spec.graph, None
    thread = config["configurable"]["thread_id"]
    if _without_checkpointer(graph):
        saver = run_saver()
        if kept:
            restore(saver, thread, kept)
        graph = graph.copy(update={"checkpointer": saver})
    state = await _invoke(graph, given, config)
    stopped = state.get("__interrupt__") if isinstance(state, Mapping) else None
    if not stopped:
        return {"result": _result(spec, state)}
    interrupts = [{"id": getattr(i, "id", None), "value": _jsonable(getattr(i, "value", i))}
                  for i in stopped]  # fmt: skip
    if saver is None:
        return {"interrupts": interrupts}
    return {"interrupts": interrupts, "checkpoints": snapshot(saver, thread)}


async def _invoke(graph: Any, given: Any, config: dict[str, Any]) -> Any:
    if hasattr(graph, "ainvoke"):
        call = graph.ainvoke
        return await (call(given, config) if _takes_config(call) else call(given))
    call = graph.invoke
    return await asyncio.to_thread(call, *((given, config) if _takes_config(call) else (given,)))


def _result(spec: GraphSpec, state: Any) -> dict[str, Any]:
    messages = state.get("messages") if isinstance(state, Mapping) else None
    if not isinstance(messages, list) or not messages:
        raise GraphError(
            f"graph {spec.path!r} returned {type(state).__name__} without messages; "
            "it must return a state with a 'messages' list"
        )
    return fit({"answer": _content(messages[-1]), "messages": len(messages), "graph": spec.path})


def _without_checkpointer(graph: Any) -> bool:
    """A LangGraph graph compiled without a checkpointer (it gets the run's own)."""
    try:
        from langgraph.pregel import Pregel
    except ImportError:
        return False
    return isinstance(graph, Pregel) and graph.checkpointer is None


def _resume(data: Any) -> Any:
    from langgraph.types import Command

    return Command(resume=data)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _takes_config(method: Any) -> bool:
    """A compiled graph's ``invoke(input, config)``; a plain object may take the input only."""
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    return sum(p.kind in positional for p in params) >= 2


def _content(message: Any) -> str:
    if isinstance(message, tuple) and len(message) == 2:
        content = message[1]
    elif isinstance(message, Mapping):
        content = message.get("content")
    else:
        content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks: keep the text ones
        texts = [b.get("text") if isinstance(b, Mapping) else b for b in content]
        return "".join(t for t in texts if isinstance(t, str))
    return json.dumps(content, ensure_ascii=False, default=str)
