"""Approvals on the dashboard, in Chromium against a real ``agentcron serve``: an agent task
with ``approve = ["send_message"]`` proposes a call; the page lists it with its arguments; a
person approves one run (after editing the arguments) and rejects another (with a note), and
the tool acts once for the first and never for the second, whose model hears the note."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .served import Served

TOOLS = """
import json, os
import agentcron

SENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sent.jsonl")

@agentcron.tool
def send_message(to: str, text: str) -> str:
    \"\"\"Send a message to a user.\"\"\"
    with open(SENT, "a") as f:
        f.write(json.dumps({"to": to, "text": text}) + "\\n")
    return "sent"
"""
CONFIG = """
[[task]]
name = "nudger"
model = "gpt-test"
base_url = "{url}"
prompt = "Nudge {{subject}}."
tools = ["send_message"]
approve = ["send_message"]
"""


def _fake_llm() -> ModuleType:
    """The scripted provider of the integration tests (imported once, by path)."""
    if "fake_llm" in sys.modules:
        return sys.modules["fake_llm"]
    path = Path(__file__).resolve().parents[1] / "integration" / "fake_llm.py"
    spec = importlib.util.spec_from_file_location("fake_llm", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fake_llm"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def llm() -> Iterator[Any]:
    fake = _fake_llm().FakeLLM()

    def answer(body: dict[str, Any]) -> Any:
        messages = body["messages"]
        subject = messages[0]["content"].removeprefix("Nudge ").removesuffix(".")
        if messages[-1]["role"] == "tool":
            return fake.answer(f"tool said: {messages[-1]['content']}")
        return fake.tool_call(("send_message", {"to": subject, "text": "Come back!"}))

    fake.respond(answer)
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def agent_served(tmp_path: Path, llm: Any) -> Iterator[Served]:
    server = Served(tmp_path, tasks=TOOLS, config=CONFIG.format(url=llm.base_url))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _final(server: Served, run_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        run: dict[str, Any] = server.api("GET", f"/v1/runs/{run_id}").json()
        if run["status"] in ("succeeded", "failed", "dead", "cancelled"):
            return run
        assert time.monotonic() < deadline, f"run {run_id} did not finish: {run}"
        time.sleep(0.05)


def test_a_person_approves_one_call_and_rejects_another(
    page: Any, agent_served: Served, llm: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    server = agent_served
    page.goto(server.url + "/")
    first = server.api("POST", "/v1/runs", json={"task": "nudger", "subject": "user:1"}).json()
    second = server.api("POST", "/v1/runs", json={"task": "nudger", "subject": "user:2"}).json()
    one = page.locator(f'#approvals tr[data-run="{first["id"]}"]')
    two = page.locator(f'#approvals tr[data-run="{second["id"]}"]')
    expect(one).to_be_visible()
    expect(two).to_be_visible()
    expect(one.locator(".tool")).to_have_text("send_message")
    shown = json.loads(one.locator("textarea.args").input_value())
    assert shown == {"to": "user:1", "text": "Come back!"}

    # approve the first, after editing what it sends
    one.locator("textarea.args").fill(json.dumps({"to": "user:1", "text": "We miss you."}))
    one.get_by_role("button", name="Approve").click()
    expect(page.locator("#flash")).to_have_text(f"approved the call of run {first['id']}")

    # reject the second, with a note for the model
    page.once("dialog", lambda dialog: dialog.accept("too needy"))
    two.get_by_role("button", name="Reject").click()
    expect(page.locator("#flash")).to_have_text(f"rejected the call of run {second['id']}")

    approved, rejected = _final(server, first["id"]), _final(server, second["id"])
    assert approved["status"] == rejected["status"] == "succeeded", (approved, rejected)
    sent = (tmp_path / "sent.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in sent] == [{"to": "user:1", "text": "We miss you."}]
    call = approved["result"]["tool_calls"][0]
    assert call["approval"] == {"approved": True, "edited": True}
    assert approved["result"]["answer"] == 'tool said: "sent"'
    refused = rejected["result"]["tool_calls"][0]
    assert (refused["ok"], refused["approval"]) == (False, {"approved": False, "note": "too needy"})
    assert "too needy" in rejected["result"]["answer"]
    expect(page.locator("#approvals")).to_have_count(0)  # nothing left to approve
