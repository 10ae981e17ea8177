"""Agent tasks without I/O: prompt templates, tool schemas, the result size cap."""

from __future__ import annotations

import json
from typing import Any, Literal, Optional

import pytest

from agentcron import RunContext, ValidationError
from agentcron.agents import PromptError, Tool, ToolRegistry, make_tool
from agentcron.agents.agent import user_prompt
from agentcron.agents.prompt import check_template, render
from agentcron.agents.result import ToolCallRecord, fit
from agentcron.agents.tools import find_tool, parameters_schema
from agentcron.tasks import TaskRegistry

EVENT = {"type": "user.signup", "data": {"email": "ada@example.com", "tags": ["a", "b"]}}


# -- prompt templates --------------------------------------------------------------------------
def test_render_fills_args_subject_and_event() -> None:
    text = render(
        "Grade {subject}. Notes: {args.notes}. Event: {event.type} {event.data.email} "
        "{event.data.tags[1]} {args[notes]!r} {args.n:>4} {args.meta} {{literal}}",
        args={"notes": "ok", "n": 7, "meta": {"k": [1, None]}},
        subject="user:42",
        event=EVENT,
    )
    assert text == (
        "Grade user:42. Notes: ok. Event: user.signup ada@example.com b 'ok'    7 "
        '{"k": [1, null]} {literal}'
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{foo}", "prompt: unknown field {foo}; use {args.NAME}, {subject}"),
        ("{0}", "prompt: positional field {0} is not supported"),
        ("{}", "prompt: positional field {} is not supported"),
        ("{subject.id}", "prompt: {subject.id}: the subject is a string; write {subject}"),
        ("Grade {subject", "prompt: invalid template: expected '}' before end of string"),
        ("{args.x:{bar}}", "prompt: unknown field {bar}"),
        ("{args.x!z}", "prompt: {args.x!z}: unknown conversion"),
        ("{args.x.}", "prompt: invalid field {args.x.}"),
    ],
)
def test_check_template_rejects_what_cannot_be_filled(template: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_template(template)
    assert info.value.field == "prompt"
    assert str(info.value).startswith(message)


def test_check_template_accepts_the_three_fields() -> None:
    check_template("{args.a} {args[b]} {subject!r} {event.data.items[0].name} {{x}}")


@pytest.mark.parametrize(
    ("template", "kwargs", "message"),
    [
        ("{args.x}", {"args": {"y": 1}}, "prompt: {args.x} is missing (keys of args: y)"),
        ("{subject}", {}, "prompt: the template uses {subject} but the run has no subject"),
        ("{event.type}", {}, "prompt: the template uses {event} but the run has no event"),
        ("{event.data.tags[5]}", {"event": EVENT},
         "prompt: {event.data.tags[5]} is out of range (2 items)"),
        ("{args.s.upper}", {"args": {"s": "x"}},
         "prompt: cannot look up 'upper' in {args.s}, which is a str"),
        ("{args.n:d}", {"args": {"n": "x"}}, "prompt: cannot fill the template: Unknown format"),
    ],
)  # fmt: skip
def test_render_raises_prompt_error(template: str, kwargs: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"args": {}, "subject": None, "event": None} | kwargs
    with pytest.raises(PromptError) as info:
        render(template, **values)
    assert str(info.value).startswith(message)
    assert info.value.__cause__ is None


def test_no_attribute_access_on_objects() -> None:
    class Secret:
        token = "s3cret"

    with pytest.raises(PromptError, match="which is a Secret"):
        render("{args.obj.token}", args={"obj": Secret()}, subject=None, event=None)
    with pytest.raises(PromptError, match="which is a str"):
        render("{args.s.__class__}", args={"s": "x"}, subject=None, event=None)


def _ctx(**kwargs: Any) -> RunContext:
    base: dict[str, Any] = {"run_id": 1, "task": "t", "attempt": 1, "max_attempts": 1,
                            "scheduled_for": None, "schedule": None, "subject": None,
                            "namespace": "default", "args": {}, "worker": "w"}  # fmt: skip
    return RunContext(**(base | kwargs))


def test_without_a_template_the_prompt_lists_what_the_run_has() -> None:
    assert user_prompt(None, {}, _ctx()) == "Run the task now."
    ctx = _ctx(subject="user:1", event={"type": "x", "data": {}})
    assert user_prompt(None, {"n": 1}, ctx) == (
        'Subject: user:1\nArgs: {"n": 1}\nEvent: {"type": "x", "data": {}}'
    )
    assert user_prompt("Hi {event.type}", {}, ctx) == "Hi x"


# -- tools -------------------------------------------------------------------------------------
def test_parameters_schema_from_type_hints() -> None:
    def fn(
        text: str,
        count: int,
        ratio: float,
        flag: bool,
        tags: list[str],
        meta: dict[str, int],
        mode: Literal["a", "b"] = "a",
        maybe: Optional[int] = None,  # noqa: UP045 - both spellings are supported
        other: str | None = None,
        anything: Any = None,
        untyped=None,  # type: ignore[no-untyped-def]
        *rest: int,
        ctx: RunContext,
        **extra: Any,
    ) -> None: ...

    assert parameters_schema(fn) == {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "count": {"type": "integer"},
            "ratio": {"type": "number"},
            "flag": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {"type": "object", "additionalProperties": {"type": "integer"}},
            "mode": {"enum": ["a", "b"]},
            "maybe": {"type": "integer"},
            "other": {"type": "string"},
            "anything": {},
            "untyped": {},
        },
        "required": ["text", "count", "ratio", "flag", "tags", "meta"],
    }


def test_tool_registry_decorator_and_names() -> None:
    registry = ToolRegistry()

    @registry.tool
    def lookup(user: str) -> dict[str, str]:
        """Look a user up.

        More detail the model does not need."""
        return {"user": user}

    @registry.tool(name="send-mail", description="Send an email.")
    async def send(to: str, *, ctx: RunContext) -> None: ...

    assert registry.names() == ["lookup", "send-mail"]
    first = registry.get("lookup")
    assert isinstance(first, Tool)
    assert (first.description, first.is_async, first.takes_ctx) == ("Look a user up.", False, False)
    second = registry.get("send-mail")
    assert (second.is_async, second.takes_ctx) == (True, True)
    assert second.schema()["function"] == {
        "name": "send-mail", "description": "Send an email.",
        "parameters": {"type": "object", "properties": {"to": {"type": "string"}},
                       "required": ["to"]},
    }  # fmt: skip
    assert lookup("x") == {"user": "x"}  # the decorator returns the function


def test_tool_names_must_be_callable_by_a_model() -> None:
    with pytest.raises(ValidationError, match="cannot be a tool name"):
        make_tool(len, name="mail.send")


def test_find_tool_falls_back_to_tasks_and_suggests() -> None:
    tools, tasks = ToolRegistry(), TaskRegistry()

    @tasks.task
    def record_grade(subject: str, grade: str) -> None:
        """Record a grade."""

    found = find_tool("record_grade", tools, tasks)
    assert (found.name, found.description) == ("record_grade", "Record a grade.")
    assert found.parameters["required"] == ["subject", "grade"]
    with pytest.raises(ValidationError) as info:
        find_tool("record_grad", tools, tasks)
    assert info.value.field == "tools"
    assert "unknown tool 'record_grad'" in str(info.value)
    assert "did you mean 'record_grade'?" in str(info.value)


# -- the result size cap -----------------------------------------------------------------------
def test_tool_call_records_are_excerpts() -> None:
    record = ToolCallRecord("t", {"blob": "x" * 5000}, ok=True, output=json.dumps("y" * 5000))
    shown = record.to_dict()
    assert len(shown["result"]) < 1100
    assert shown["result"].endswith("(5002 characters)")
    assert isinstance(shown["arguments"], str)
    assert len(shown["arguments"]) < 1100
    failed = ToolCallRecord("t", {}, ok=False, output="boom").to_dict()
    assert failed == {"name": "t", "arguments": {}, "ok": False, "error": "boom"}
    content = ToolCallRecord("t", {}, ok=False, output="boom").content
    assert json.loads(content) == {"error": "boom"}


def test_fit_drops_tool_calls_then_shortens_the_answer() -> None:
    calls = [{"name": "t", "result": "r" * 900} for _ in range(200)]
    result = fit({"answer": "short", "tool_calls": calls}, limit=20_000)
    assert len(json.dumps(result).encode()) <= 20_000
    assert result["answer"] == "short"
    assert 0 < len(result["tool_calls"]) < 200
    assert result["tool_calls_omitted"] == 200 - len(result["tool_calls"])

    answer = "é" * 50_000
    result = fit({"answer": answer, "tool_calls": calls[:3]}, limit=10_000)
    assert len(json.dumps(result, ensure_ascii=False).encode()) <= 10_000
    assert result["tool_calls"] == []
    assert result["tool_calls_omitted"] == 3
    assert result["answer"].endswith("... (truncated from 50000 characters)")

    small = {"answer": "a", "steps": 1}
    assert fit(small) == small
