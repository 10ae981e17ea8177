"""``kind = "agent"``: a bounded tool loop against a Chat Completions endpoint.

Each step is one model call. A reply with tool calls has each tool run and its result sent
back as a ``role: tool`` message; a reply without tool calls ends the run with its text as the
answer. A model that still asks for tools at step ``max_steps`` fails the run with
`AgentStepLimit` (permanent: the same prompt would loop again); the tools of that last reply
are not run. A tool the model names but the task does not offer, bad JSON arguments, or a tool
that raises, is sent back to the model as an error it can recover from, and recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentcron.agents.errors import AgentStepLimit
from agentcron.agents.llm import DEFAULT_REQUEST_TIMEOUT_S, ChatClient, Endpoint, ToolCall
from agentcron.agents.prompt import default_prompt, render
from agentcron.agents.result import ToolCallRecord, add_usage, fit
from agentcron.agents.tools import Tool
from agentcron.context import RunContext

__all__ = ["DEFAULT_MAX_STEPS", "AgentSpec", "run_agent", "user_prompt"]

DEFAULT_MAX_STEPS = 8


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """A declarative agent task, validated (see `agentcron.agents.specs`)."""

    name: str
    model: str
    endpoint: Endpoint = field(default_factory=Endpoint)
    system: str | None = None
    prompt: str | None = None
    tools: tuple[Tool, ...] = ()
    max_steps: int = DEFAULT_MAX_STEPS
    temperature: float | None = None
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S


def user_prompt(template: str | None, args: Mapping[str, Any], ctx: RunContext) -> str:
    """The first user message: the template filled from the run, or `default_prompt`."""
    event = ctx.event if isinstance(ctx.event, Mapping) else None
    if template is None:
        return default_prompt(args=args, subject=ctx.subject, event=event)
    return render(template, args=args, subject=ctx.subject, event=event)


async def run_agent(spec: AgentSpec, args: Mapping[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Run the tool loop for one run; the result is JSON under the result size cap."""
    messages: list[dict[str, Any]] = []
    if spec.system:
        messages.append({"role": "system", "content": spec.system})
    messages.append({"role": "user", "content": user_prompt(spec.prompt, args, ctx)})
    tools = {t.name: t for t in spec.tools}
    schemas = [t.schema() for t in spec.tools]
    records: list[ToolCallRecord] = []
    usage: dict[str, int] = {}
    async with ChatClient(spec.endpoint, timeout_s=spec.request_timeout_s) as client:
        for step in range(1, spec.max_steps + 1):
            reply = await client.complete(
                spec.model, messages, schemas, temperature=spec.temperature
            )
            add_usage(usage, reply.usage)
            messages.append(reply.message)
            if not reply.tool_calls:
                return fit({
                    "answer": reply.content,
                    "steps": step,
                    "tool_calls": [r.to_dict() for r in records],
                    "tool_errors": sum(not r.ok for r in records),
                    "usage": usage,
                    "model": reply.model or spec.model,
                    "finish_reason": reply.finish_reason,
                })  # fmt: skip
            if step == spec.max_steps:
                break
            for call in reply.tool_calls:
                record = await _call_tool(call, tools, ctx)
                records.append(record)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": record.content}
                )
            ctx.logger.debug("agent step %d: %d tool calls", step, len(reply.tool_calls))
    raise AgentStepLimit(_limit_message(spec.max_steps, records))


def _limit_message(max_steps: int, records: list[ToolCallRecord]) -> str:
    counts = Counter(r.name for r in records)
    made = ", ".join(f"{name} x{n}" for name, n in counts.most_common()) or "none"
    return (
        f"the model still asked for tools after max_steps={max_steps} model calls, without a "
        f"final answer (tool calls made: {made}); raise max_steps or narrow the prompt"
    )


async def _call_tool(call: ToolCall, tools: Mapping[str, Tool], ctx: RunContext) -> ToolCallRecord:
    try:
        arguments: Any = json.loads(call.arguments or "{}")
    except ValueError as exc:
        return _failed(call.name, call.arguments, f"arguments are not valid JSON: {exc}")
    found = tools.get(call.name)
    if found is None:
        offered = ", ".join(sorted(tools)) or "none"
        return _failed(call.name, arguments, f"unknown tool {call.name!r}; tools: {offered}")
    if not isinstance(arguments, dict):
        return _failed(call.name, arguments, "arguments must be a JSON object")
    kwargs = dict(arguments)
    if found.takes_ctx:
        kwargs["ctx"] = ctx
    try:
        if found.is_async:
            value = await found.fn(**kwargs)
        else:
            value = await asyncio.to_thread(found.fn, **kwargs)
        output = json.dumps(value, ensure_ascii=False, default=str)
    except Exception as exc:  # the model sees the error and may recover
        ctx.logger.info("tool %s failed: %s: %s", call.name, type(exc).__name__, exc)
        return _failed(call.name, arguments, f"{type(exc).__name__}: {exc}")
    return ToolCallRecord(call.name, arguments, ok=True, output=output)


def _failed(name: str, arguments: Any, error: str) -> ToolCallRecord:
    return ToolCallRecord(name, arguments, ok=False, output=error)
