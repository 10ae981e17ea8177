"""``kind = "agent"``: a bounded tool loop against a Chat Completions endpoint.

Each step is one model call. A reply with tool calls has each tool run and its result sent
back as a ``role: tool`` message; a reply without tool calls ends the run with its text as the
answer. A model that still asks for tools at step ``max_steps`` fails the run with
`AgentStepLimit` (permanent: the same prompt would loop again); the tools of that last reply
are not run. A tool the model names but the task does not offer, bad JSON arguments, or a tool
that raises, is sent back to the model as an error it can recover from, and recorded.

Every model call and every tool call is a durable step (``llm:1``, ``tool:2:send_message``):
a run executed again (retried, recovered after its worker was killed, resumed after a wait)
replays the calls that completed, without sending or running them again. A tool listed in
``approve`` first waits for a person's approval (`agentcron.agents.approval`).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentcron.agents.approval import wait_for_approval
from agentcron.agents.errors import AgentStepLimit
from agentcron.agents.llm import (
    DEFAULT_REQUEST_TIMEOUT_S,
    ChatClient,
    ChatReply,
    Endpoint,
    ToolCall,
)
from agentcron.agents.prompt import default_prompt, render
from agentcron.agents.result import ToolCallRecord, add_usage, fit
from agentcron.agents.tools import Tool
from agentcron.context import RunContext
from agentcron.errors import ValidationError

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
    approve: tuple[str, ...] = ()  # tools that wait for a person's approval before they act

    def __post_init__(self) -> None:
        offered = {t.name for t in self.tools}
        unknown = [name for name in self.approve if name not in offered]
        if unknown:
            raise ValidationError(
                f"approve: {', '.join(map(repr, unknown))} is not one of the task's tools "
                f"({', '.join(sorted(offered)) or 'none'})",
                field="approve",
            )


def user_prompt(template: str | None, args: Mapping[str, Any], ctx: RunContext) -> str:
    """The first user message: the template filled from the run, or `default_prompt`."""
    event = ctx.event if isinstance(ctx.event, Mapping) else None
    if template is None:
        return default_prompt(args=args, subject=ctx.subject, event=event)
    return render(template, args=args, subject=ctx.subject, event=event)


async def run_agent(spec: AgentSpec, args: Mapping[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Run the tool loop for one run; the result is JSON under the result size cap.

    Durable: model call N is the step ``llm:N`` and the Kth tool call the step
    ``tool:K:<name>``, so a later execution of the run (a retry, a recovery, a resume after
    an approval) replays the calls that completed and goes on from the first that did not."""
    messages: list[dict[str, Any]] = []
    if spec.system:
        messages.append({"role": "system", "content": spec.system})
    messages.append({"role": "user", "content": user_prompt(spec.prompt, args, ctx)})
    loop = _Loop(spec, ctx)
    usage: dict[str, int] = {}
    async with ChatClient(spec.endpoint, timeout_s=spec.request_timeout_s) as client:
        for step in range(1, spec.max_steps + 1):
            reply = await loop.complete(client, step, messages)
            add_usage(usage, reply.usage)
            messages.append(reply.message)
            if not reply.tool_calls:
                records = loop.records
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
                record = await loop.call_tool(call)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": record.content}
                )
            ctx.logger.debug("agent step %d: %d tool calls", step, len(reply.tool_calls))
    raise AgentStepLimit(_limit_message(spec.max_steps, loop.records))


def _limit_message(max_steps: int, records: list[ToolCallRecord]) -> str:
    counts = Counter(r.name for r in records)
    made = ", ".join(f"{name} x{n}" for name, n in counts.most_common()) or "none"
    return (
        f"the model still asked for tools after max_steps={max_steps} model calls, without a "
        f"final answer (tool calls made: {made}); raise max_steps or narrow the prompt"
    )


class _Loop:
    """One execution of a tool loop: its durable model and tool calls, numbered."""

    def __init__(self, spec: AgentSpec, ctx: RunContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.tools = {t.name: t for t in spec.tools}
        self.schemas = [t.schema() for t in spec.tools]
        self.records: list[ToolCallRecord] = []
        self._calls = 0

    async def complete(
        self, client: ChatClient, step: int, messages: list[dict[str, Any]]
    ) -> ChatReply:
        spec, sent = self.spec, list(messages)

        async def ask() -> dict[str, Any]:
            reply = await client.complete(spec.model, sent, self.schemas,
                                          temperature=spec.temperature)  # fmt: skip
            return reply.to_dict()

        return ChatReply.from_dict(await self.ctx.step(f"llm:{step}", ask))

    async def call_tool(self, call: ToolCall) -> ToolCallRecord:
        self._calls += 1
        record = await self._call(call, self._calls)
        self.records.append(record)
        return record

    async def _call(self, call: ToolCall, number: int) -> ToolCallRecord:
        try:
            arguments: Any = json.loads(call.arguments or "{}")
        except ValueError as exc:
            return _failed(call.name, call.arguments, f"arguments are not valid JSON: {exc}")
        found = self.tools.get(call.name)
        if found is None:
            offered = ", ".join(sorted(self.tools)) or "none"
            return _failed(call.name, arguments, f"unknown tool {call.name!r}; tools: {offered}")
        if not isinstance(arguments, dict):
            return _failed(call.name, arguments, "arguments must be a JSON object")
        approval: dict[str, Any] | None = None
        if found.name in self.spec.approve:
            decision = await wait_for_approval(self.ctx, found.name, arguments)
            approval = decision.to_dict()
            if not decision.approved:
                return ToolCallRecord(call.name, arguments, ok=False,
                                      output=decision.rejection(), approval=approval)  # fmt: skip
            arguments = decision.args
        done = await self.ctx.step(f"tool:{number}:{found.name}", _invoke, found, arguments,
                                   self.ctx)  # fmt: skip
        return ToolCallRecord(call.name, arguments, ok=done["ok"], output=done["output"],
                              approval=approval)  # fmt: skip


async def _invoke(found: Tool, arguments: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Call a tool; its result as JSON text, or the error the model is sent (the model may
    recover: a tool that raised is a completed step too, never called again)."""
    kwargs = dict(arguments)
    if found.takes_ctx:
        kwargs["ctx"] = ctx
    try:
        if found.is_async:
            value = await found.fn(**kwargs)
        else:
            value = await asyncio.to_thread(found.fn, **kwargs)
        output = json.dumps(value, ensure_ascii=False, default=str)
    except Exception as exc:
        ctx.logger.info("tool %s failed: %s: %s", found.name, type(exc).__name__, exc)
        return {"ok": False, "output": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "output": output}


def _failed(name: str, arguments: Any, error: str) -> ToolCallRecord:
    return ToolCallRecord(name, arguments, ok=False, output=error)
