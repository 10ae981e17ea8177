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
from agentcron.agents.errors import GraphError
from agentcron.agents.result import fit
from agentcron.context import RunContext
from agentcron.errors import ValidationError
from agentcron.models import iso

__all__ = ["GraphSpec", "graph_input", "import_graph", "run_graph"]


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
    """Invoke the graph for one run; the answer and the message count, under the size cap."""
    state_in, config = graph_input(user_prompt(spec.prompt, args, ctx), ctx)
    if hasattr(spec.graph, "ainvoke"):
        call = spec.graph.ainvoke
        state = await (call(state_in, config) if _takes_config(call) else call(state_in))
    else:
        call = spec.graph.invoke
        given = (state_in, config) if _takes_config(call) else (state_in,)
        state = await asyncio.to_thread(call, *given)
    messages = state.get("messages") if isinstance(state, Mapping) else None
    if not isinstance(messages, list) or not messages:
        raise GraphError(
            f"graph {spec.path!r} returned {type(state).__name__} without messages; "
            "it must return a state with a 'messages' list"
        )
    return fit({"answer": _content(messages[-1]), "messages": len(messages), "graph": spec.path})


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
