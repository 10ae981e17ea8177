"""Tools an agent task may call: ``@agentcron.tool`` functions, and registered tasks.

A tool is a Python function; the model sees its name, the first paragraph of its docstring,
and a JSON schema of its parameters made from the signature (``str``, ``int``, ``float``,
``bool``, ``list[...]``, ``dict[...]``, ``Literal[...]``, ``X | None``; anything else is left
untyped). Parameters without a default are required. A keyword-only ``ctx`` parameter is not
shown to the model: it receives the agent run's `agentcron.RunContext`.
"""

from __future__ import annotations

import difflib
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, Union, overload

from agentcron.errors import ValidationError
from agentcron.tasks import TaskRegistry, _takes_ctx, default_registry

__all__ = [
    "Tool",
    "ToolRegistry",
    "default_tools",
    "find_tool",
    "make_tool",
    "parameters_schema",
    "tool",
]

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SIMPLE: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    list: {"type": "array"},
    dict: {"type": "object"},
}


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call, with what the model is told about it."""

    name: str
    fn: Callable[..., Any]
    description: str
    parameters: dict[str, Any]
    is_async: bool
    takes_ctx: bool

    def schema(self) -> dict[str, Any]:
        """The tool in the OpenAI function-calling format."""
        function = {"name": self.name, "description": self.description,
                    "parameters": self.parameters}  # fmt: skip
        return {"type": "function", "function": function}


def make_tool(
    fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> Tool:
    """A `Tool` from a function; the name must be one a model can call (``[A-Za-z0-9_-]``)."""
    tool_name = name or fn.__name__
    if not _NAME.fullmatch(tool_name):
        raise ValidationError(
            f"{tool_name!r} cannot be a tool name: 1-64 letters, digits, _ and -", field="tools"
        )
    doc = description if description is not None else inspect.getdoc(fn) or ""
    return Tool(
        name=tool_name,
        fn=fn,
        description=doc.split("\n\n")[0].strip(),
        parameters=parameters_schema(fn),
        is_async=inspect.iscoroutinefunction(fn),
        takes_ctx=_takes_ctx(fn),
    )


def parameters_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """JSON schema (an object) of ``fn``'s parameters, from its signature and type hints."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve: leave the parameters untyped
        hints = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name == "ctx" and param.kind is param.KEYWORD_ONLY:
            continue
        properties[param.name] = _schema(hints.get(param.name, Any))
        if param.default is param.empty:
            required.append(param.name)
    return {"type": "object", "properties": properties, "required": required}


def _schema(hint: Any) -> dict[str, Any]:
    if hint in _SIMPLE:
        return dict(_SIMPLE[hint])
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _schema(options[0]) if len(options) == 1 else {}
    return _generic_schema(origin, args)


def _generic_schema(origin: Any, args: tuple[Any, ...]) -> dict[str, Any]:
    """The schema of ``origin[args]``: a Literal, a sequence, a dict, or a bare container."""
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, set, frozenset) and args:
        return {"type": "array", "items": _schema(args[0])}
    if origin is dict and len(args) == 2:
        return {"type": "object", "additionalProperties": _schema(args[1])}
    return dict(_SIMPLE[origin]) if origin in _SIMPLE else {}


class ToolRegistry:
    """Name -> `Tool`. ``registry.tool`` is a decorator with or without options."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def add(self, item: Tool) -> Tool:
        self._tools[item.name] = item
        return item

    def get(self, name: str) -> Tool:
        return self._tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return sorted(self._tools)

    @overload
    def tool(self, fn: F, /) -> F: ...
    @overload
    def tool(
        self, fn: None = None, /, *, name: str | None = None, description: str | None = None
    ) -> Callable[[F], F]: ...

    def tool(
        self, fn: F | None = None, /, *, name: str | None = None, description: str | None = None
    ) -> F | Callable[[F], F]:
        """Register a function as a tool: ``@agentcron.tool`` or ``@agentcron.tool(name=...)``."""

        def register(func: F) -> F:
            self.add(make_tool(func, name=name, description=description))
            return func

        return register(fn) if fn is not None else register


default_tools = ToolRegistry()
"""Where ``@agentcron.tool`` registers; ``[[task]] tools = [...]`` names are looked up here."""

tool = default_tools.tool


def find_tool(
    name: str, tools: ToolRegistry = default_tools, tasks: TaskRegistry = default_registry
) -> Tool:
    """The tool called ``name``, or else the registered task of that name used as a tool.

    Raises `ValidationError` (field ``tools``) naming what is registered when neither is.
    """
    if name in tools:
        return tools.get(name)
    if name in tasks:
        registered = tasks.get(name)
        return make_tool(registered.fn, name=name, description=registered.description)
    known = sorted({*tools.names(), *(t for t in tasks.names() if not t.startswith("agentcron."))})
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        hint = f"; did you mean {close[0]!r}?"
    elif known:
        hint = f"; registered: {', '.join(known[:10])}{', ...' if len(known) > 10 else ''}"
    else:
        hint = ""
    raise ValidationError(
        f"unknown tool {name!r}: register it with @agentcron.tool or @agentcron.task in a "
        f"module listed in [agentcron] tasks{hint}",
        field="tools",
    )
