"""A person's approval before a tool acts (``approve = ["send_message"]`` on an agent task).

Before a listed tool runs, the run waits durably (status ``waiting``, no worker held) for
signal ``approve``; its ``waiting_for`` shows the proposed call as ``call: {tool, args}``. The
signal's data is ``{"approved": bool, "note"?: str, "args"?: {...}}``: approved, the tool runs
once with ``args`` when given (a person may edit them), else with the model's; anything else
is a rejection, which goes back to the model as the tool's answer, with the note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentcron.context import RunContext
from agentcron.durable import Suspend

__all__ = ["APPROVE_SIGNAL", "Approval", "read_approval", "wait_for_approval", "wait_showing"]

APPROVE_SIGNAL = "approve"
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Approval:
    """A person's answer to a proposed tool call."""

    approved: bool
    args: dict[str, Any]  # what the tool gets when approved: the edited arguments, or the model's
    note: str | None = None
    edited: bool = False
    problem: str | None = None  # why the answer could not be read (then not approved)

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"approved": self.approved}
        if self.note:
            shown["note"] = self.note
        if self.edited:
            shown["edited"] = True
        if self.problem:
            shown["problem"] = self.problem
        return shown

    def rejection(self) -> str:
        """What the model is told when the call was not approved."""
        if self.problem:
            return f"the call was not run: {self.problem}"
        text = "a person rejected this call; it was not run"
        return f"{text}. Their note: {self.note}" if self.note else text


def read_approval(data: Any, proposed: Mapping[str, Any]) -> Approval:
    """The signal's data as an `Approval`; data that is not an approval is a rejection that
    says why (never an error: the loop goes on)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("approved"), bool):
        problem = 'the approval was not {"approved": true|false, "note"?: ..., "args"?: {...}}'
        return Approval(False, dict(proposed), problem=problem)
    note = data.get("note")
    note = str(note)[:MAX_NOTE_CHARS] if note not in (None, "") else None
    edited = data.get("args")
    if edited is None:
        return Approval(data["approved"], dict(proposed), note)
    if not isinstance(edited, Mapping):
        problem = "the edited arguments were not a JSON object"
        return Approval(False, dict(proposed), note, problem=problem)
    changed = dict(edited) != dict(proposed)
    return Approval(data["approved"], dict(edited), note, edited=changed)


async def wait_for_approval(ctx: RunContext, tool: str, args: Mapping[str, Any]) -> Approval:
    """Wait durably for signal ``approve`` about the call ``tool(**args)``; the run's
    ``waiting_for`` gains ``call: {"tool", "args"}`` meanwhile."""
    data = await wait_showing(ctx, APPROVE_SIGNAL, call={"tool": tool, "args": dict(args)})
    return read_approval(data, args)


async def wait_showing(ctx: RunContext, signal: str, **shown: Any) -> Any:
    """``ctx.wait_for_signal(signal)``, with ``shown`` added to the run's ``waiting_for``
    while it waits (what a person is asked about)."""
    try:
        return await ctx.wait_for_signal(signal)
    except Suspend as wait:
        wait.waiting_for.update(shown)
        raise
