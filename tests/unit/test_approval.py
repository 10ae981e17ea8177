"""Reading a person's answer to a proposed tool call (pure: no run, no database)."""

from __future__ import annotations

from typing import Any

import pytest

from agentcron.agents.approval import Approval, read_approval
from agentcron.agents.llm import ChatReply, ToolCall

PROPOSED = {"to": "user:1", "text": "hi"}


def test_an_approval_keeps_the_model_arguments() -> None:
    decision = read_approval({"approved": True}, PROPOSED)
    assert decision == Approval(True, PROPOSED)
    assert decision.to_dict() == {"approved": True}


def test_edited_arguments_replace_the_model_ones() -> None:
    edited = {"to": "user:1", "text": "hello"}
    decision = read_approval({"approved": True, "args": edited, "note": "nicer"}, PROPOSED)
    assert (decision.approved, decision.args, decision.edited) == (True, edited, True)
    assert decision.to_dict() == {"approved": True, "note": "nicer", "edited": True}
    same = read_approval({"approved": True, "args": dict(PROPOSED)}, PROPOSED)
    assert not same.edited


def test_a_rejection_tells_the_model_the_note() -> None:
    decision = read_approval({"approved": False, "note": "too pushy"}, PROPOSED)
    assert not decision.approved
    assert (
        decision.rejection() == "a person rejected this call; it was not run. Their note: too pushy"
    )
    assert read_approval({"approved": False, "note": ""}, PROPOSED).note is None


@pytest.mark.parametrize(
    "data", [None, True, "yes", [], {"approved": "yes"}, {"ok": True}, {"approved": 1}]
)
def test_data_that_is_not_an_approval_is_a_rejection(data: Any) -> None:
    decision = read_approval(data, PROPOSED)
    assert not decision.approved
    assert decision.problem is not None
    assert decision.rejection().startswith("the call was not run: ")


def test_edited_arguments_must_be_an_object() -> None:
    decision = read_approval({"approved": True, "args": ["x"]}, PROPOSED)
    assert not decision.approved
    assert "JSON object" in decision.rejection()


def test_a_reply_round_trips_through_json() -> None:
    reply = ChatReply(
        message={"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
        content="", tool_calls=[ToolCall("c1", "send", '{"a": 1}')],
        usage={"total_tokens": 3}, model="m", finish_reason="tool_calls",
    )  # fmt: skip
    assert ChatReply.from_dict(reply.to_dict()) == reply
