"""Turn a ``[[task]]`` config entry into a `Task` that runs like any other (retries, timeout,
ctx). Every bad field is reported, each naming its key; `agentcron.config` adds the place in
the file, and resolves the endpoint (base URL, API key) from settings and environment."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from agentcron.agents.agent import DEFAULT_MAX_STEPS, AgentSpec, run_agent
from agentcron.agents.graph import GraphSpec, import_graph, run_graph
from agentcron.agents.llm import DEFAULT_REQUEST_TIMEOUT_S, Endpoint, httpx_missing
from agentcron.agents.prompt import check_template
from agentcron.agents.tools import Tool, ToolRegistry, default_tools, find_tool
from agentcron.callbacks import as_callback
from agentcron.context import RunContext
from agentcron.durations import parse_duration
from agentcron.errors import ValidationError
from agentcron.specs import MAX_PRIORITY, MAX_RETRIES, check_name
from agentcron.tasks import Task, TaskRegistry, default_registry, make_task

__all__ = [
    "KINDS",
    "MAX_STEPS_LIMIT",
    "TASK_FIELDS",
    "agent_task",
    "build_task",
    "graph_task",
    "read_fields",
]

COMMON_FIELDS = frozenset(
    {"name", "kind", "prompt", "description", "retries", "backoff", "timeout", "queue",
     "priority", "max_concurrency", "max_recoveries", "result_callback"}
)  # fmt: skip
KINDS: dict[str, frozenset[str]] = {
    "agent": COMMON_FIELDS
    | {
        "model",
        "system",
        "tools",
        "max_steps",
        "temperature",
        "base_url",
        "api_key_env",
        "approve",
    },
    "graph": COMMON_FIELDS | {"graph"},
}
TASK_FIELDS = frozenset().union(*KINDS.values())
MAX_STEPS_LIMIT = 100
Errors = list[tuple[str, str]]  # (field, message)


def agent_task(spec: AgentSpec, *, description: str = "", **options: Any) -> Task:
    """A `Task` that runs ``spec``'s tool loop; ``options`` are `make_task`'s."""

    async def run(*, ctx: RunContext, **args: Any) -> dict[str, Any]:
        return await run_agent(spec, args, ctx)

    tools = ", ".join(t.name for t in spec.tools) or "no tools"
    text = description or f"agent: {spec.model} with {tools}"
    return dataclasses.replace(make_task(run, name=spec.name, **options), description=text)


def graph_task(spec: GraphSpec, *, description: str = "", **options: Any) -> Task:
    """A `Task` that invokes ``spec``'s LangGraph graph; ``options`` are `make_task`'s."""

    async def run(*, ctx: RunContext, **args: Any) -> dict[str, Any]:
        return await run_graph(spec, args, ctx)

    text = description or f"graph: {spec.path}"
    return dataclasses.replace(make_task(run, name=spec.name, **options), description=text)


def build_task(
    entry: Mapping[str, Any],
    *,
    endpoint: Endpoint,
    default_model: str | None = None,
    tools: ToolRegistry = default_tools,
    tasks: TaskRegistry = default_registry,
    check_tools: bool = True,
) -> tuple[Task | None, Errors]:
    """Build one entry; the `Task`, or None and every problem as ``(field, message)``.
    Keys outside `KINDS` for the entry's kind are the caller's to report."""
    errors: Errors = []
    kind = entry.get("kind", "agent")
    if not isinstance(kind, str) or kind not in KINDS:
        errors.append(("kind", f"kind: {kind!r} is not one of: {', '.join(KINDS)}"))
    elif kind == "agent" and (missing := httpx_missing()):
        errors.append(("kind", f"kind: {missing}"))
    values = read_fields(entry, _READERS, errors)
    if "name" not in entry:
        errors.append(("name", "name: required"))
    options = _options(values)
    spec: AgentSpec | GraphSpec | None = None
    if kind == "agent":
        lookup = (tools, tasks, check_tools)
        spec = _agent(entry, values, endpoint, default_model, lookup, errors)
    elif kind == "graph":
        spec = _graph(entry, values, errors)
    if errors or spec is None:
        return None, errors
    try:
        description = values.get("description", "")
        if isinstance(spec, AgentSpec):
            return agent_task(spec, description=description, **options), []
        return graph_task(spec, description=description, **options), []
    except ValidationError as exc:
        return None, [(exc.field or "name", str(exc))]


def read_fields(entry: Mapping[str, Any], readers: Mapping[str, Callable[[Any, str], Any]],
                errors: Errors) -> dict[str, Any]:  # fmt: skip
    """Each key of ``entry`` that has a reader, read; a `ValidationError` is noted in
    ``errors`` as ``(key, message)`` and the key left out."""
    values: dict[str, Any] = {}
    for key, reader in readers.items():
        if key in entry:
            try:
                values[key] = reader(entry[key], key)
            except ValidationError as exc:
                errors.append((key, str(exc)))
    return values


def _options(values: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("retries", "backoff", "timeout", "queue", "priority", "max_concurrency",
            "max_recoveries", "result_callback")  # fmt: skip
    return {k: values[k] for k in keys if k in values}


def _agent(entry: Mapping[str, Any], values: dict[str, Any], endpoint: Endpoint,
           default_model: str | None, lookup: tuple[ToolRegistry, TaskRegistry, bool],
           errors: Errors) -> AgentSpec | None:  # fmt: skip
    model = values.get("model", default_model)
    if model is None and "model" not in entry:
        errors.append(("model", "model: required (or set a default model in [agentcron.llm])"))
    found = _tools(values.get("tools", ()), *lookup, errors)
    approve = values.get("approve", ())
    strays = [name for name in approve if name not in values.get("tools", ())]
    if strays:
        errors.append(("approve", f"approve: {', '.join(map(repr, strays))} is not in tools"))
    if errors or model is None or "name" not in values:
        return None
    timeout = values.get("timeout")
    return AgentSpec(
        name=values["name"],
        model=model,
        endpoint=endpoint,
        system=values.get("system"),
        prompt=values.get("prompt"),
        tools=found,
        max_steps=values.get("max_steps", DEFAULT_MAX_STEPS),
        temperature=values.get("temperature"),
        approve=tuple(n for n in approve if n in {t.name for t in found}),  # unchecked: found
        request_timeout_s=timeout.total_seconds() if timeout else DEFAULT_REQUEST_TIMEOUT_S,
    )


def _tools(names: tuple[str, ...], registry: ToolRegistry, tasks: TaskRegistry, check: bool,
           errors: Errors) -> tuple[Tool, ...]:  # fmt: skip
    found: list[Tool] = []
    for name in names:
        try:
            found.append(find_tool(name, registry, tasks))
        except ValidationError as exc:
            if check:
                errors.append(("tools", str(exc)))
    if len(set(names)) != len(names):
        errors.append(("tools", "tools: a tool is listed twice"))
    return tuple(found)


def _graph(entry: Mapping[str, Any], values: dict[str, Any], errors: Errors) -> GraphSpec | None:
    if "graph" not in entry:
        errors.append(("graph", "graph: required: the import path of a compiled graph, "
                                "such as 'mypkg.graphs:graph'"))  # fmt: skip
    if errors or "name" not in values:
        return None
    path = values["graph"]
    try:
        graph = import_graph(path)
    except ValidationError as exc:
        errors.append(("graph", str(exc)))
        return None
    return GraphSpec(name=values["name"], path=path, graph=graph, prompt=values.get("prompt"))


# -- field readers: (value, key) -> value, raising ValidationError(field=key) ----------------
def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"expected a non-empty string, got {value!r}", field=key)
    return value


def _template(value: Any, key: str) -> str:
    check_template(_text(value, key), key)
    return str(value)


def _whole(low: int, high: int) -> Callable[[Any, str], int]:
    def read(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"expected a whole number from {low} to {high}, got {value!r}",
                                  field=key)  # fmt: skip
        return value

    return read


def _temperature(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
        raise ValidationError(f"expected a number from 0 to 2, got {value!r}", field=key)
    return float(value)


def _names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError(f"expected a list of names, got {value!r}", field=key)
    return tuple(value)


def _duration(value: Any, key: str) -> Any:
    if isinstance(value, bool):
        raise ValidationError(f"expected a duration such as '30s', got {value!r}", field=key)
    return parse_duration(value, field=key)


def _backoff(value: Any, key: str) -> Any:
    if isinstance(value, list):
        if len(value) != 2:
            raise ValidationError("expected a duration or [base, cap]", field=key)
        return (_duration(value[0], key), _duration(value[1], key))
    return _duration(value, key)


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "name": check_name,
    "prompt": _template,
    "description": _text,
    "retries": _whole(0, MAX_RETRIES),
    "max_recoveries": _whole(0, MAX_RETRIES),
    "backoff": _backoff,
    "timeout": _duration,
    "queue": check_name,
    "priority": _whole(-MAX_PRIORITY, MAX_PRIORITY),
    "max_concurrency": _whole(1, 1_000_000),
    "model": _text,
    "system": _text,
    "tools": _names,
    "approve": _names,
    "max_steps": _whole(1, MAX_STEPS_LIMIT),
    "temperature": _temperature,
    "graph": _text,
    "result_callback": lambda value, key: as_callback(_text(value, key), key),
}
