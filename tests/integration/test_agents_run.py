"""Agent tasks end to end: config -> App -> worker -> real HTTP to a scripted provider on
loopback (`fake_llm.FakeLLM`) -> run result; and a LangGraph graph."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_llm import FakeLLM, Reply

from agentcron import App, Run, RunContext, RunStatus
from agentcron.agents import tool
from agentcron.config import ENV_VARS, load_config

pytestmark = pytest.mark.timeout(60)

NOTES: list[dict[str, Any]] = []
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@tool
def agt_save_note(text: str, score: int = 0, *, ctx: RunContext) -> dict[str, Any]:
    """Save a note about the subject."""
    NOTES.append({"text": text, "score": score, "subject": ctx.subject})
    return {"saved": True, "count": len(NOTES)}


@tool
async def agt_fail(reason: str) -> None:
    """Always fails."""
    raise RuntimeError(reason)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    NOTES.clear()


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def make_app(tmp_path: Path, db_url: str, text: str, **values: Any) -> App:
    path = tmp_path / f"agentcron-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(textwrap.dedent(text).format(**values))
    return App.from_config(load_config(path), db_url)


GRADER = """
[[task]]
name = "grader"
model = "gpt-test"
base_url = "{url}"
api_key_env = "AGT_TEST_KEY"
system = "You grade a learner's progress."
prompt = "Grade {{subject}}. Notes: {{args.notes}}"
tools = ["agt_save_note", "agt_fail"]
max_steps = {max_steps}
retries = {retries}
backoff = "10ms"
timeout = "{timeout}"
"""


def grader(tmp_path: Path, db_url: str, llm: FakeLLM, *, retries: int = 0, max_steps: int = 4,
           timeout: str = "20s") -> App:  # fmt: skip
    return make_app(tmp_path, db_url, GRADER, url=llm.base_url, retries=retries,
                    max_steps=max_steps, timeout=timeout)  # fmt: skip


async def run_once(app: App, task: str = "grader", **enqueue: Any) -> Run:
    enqueue.setdefault("args", {"notes": "did lesson 3"})
    enqueue.setdefault("subject", "user:42")
    async with app:
        run = await app.enqueue(task, **enqueue)
        await asyncio.wait_for(app.run(burst=True), 20)
        return await app.get_run(run.id)


# -- the tool loop ---------------------------------------------------------------------------
async def test_tool_loop_through_the_app(
    tmp_path: Path, db_url: str, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGT_TEST_KEY", "sk-test-123")
    llm.script(
        llm.tool_call(("agt_save_note", {"text": "steady progress", "score": 7})),
        llm.answer("user:42 is on track."),
    )
    run = await run_once(grader(tmp_path, db_url, llm))

    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.attempts == 1
    assert NOTES == [{"text": "steady progress", "score": 7, "subject": "user:42"}]
    result = run.result
    assert result["answer"] == "user:42 is on track."
    assert result["steps"] == 2
    assert result["model"] == "fake-model-001"
    assert result["tool_calls"] == [{
        "name": "agt_save_note", "arguments": {"text": "steady progress", "score": 7},
        "ok": True, "result": '{"saved": true, "count": 1}',
    }]  # fmt: skip
    assert result["tool_errors"] == 0
    # 2 messages then 4 (system, user, assistant, tool): 10 prompt tokens each, 5 completion
    assert result["usage"] == {"prompt_tokens": 60, "completion_tokens": 10, "total_tokens": 70}

    first, second = llm.requests
    assert llm.paths == ["/v1/chat/completions"] * 2
    assert llm.headers[0]["authorization"] == "Bearer sk-test-123"
    assert first["model"] == "gpt-test"
    assert first["tool_choice"] == "auto"
    assert first["messages"] == [
        {"role": "system", "content": "You grade a learner's progress."},
        {"role": "user", "content": "Grade user:42. Notes: did lesson 3"},
    ]
    (save, fail) = first["tools"]
    assert save == {"type": "function", "function": {
        "name": "agt_save_note", "description": "Save a note about the subject.",
        "parameters": {"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string"}, "score": {"type": "integer"}}},
    }}  # fmt: skip
    assert fail["function"]["name"] == "agt_fail"
    assistant, tool_message = second["messages"][2:]
    call = assistant["tool_calls"][0]
    assert assistant["role"] == "assistant"
    assert call["function"]["name"] == "agt_save_note"
    assert tool_message == {
        "role": "tool", "tool_call_id": call["id"], "content": '{"saved": true, "count": 1}'
    }  # fmt: skip


async def test_tool_errors_go_back_to_the_model(tmp_path: Path, db_url: str, llm: FakeLLM) -> None:
    llm.script(
        llm.tool_call(
            ("no_such_tool", {}),
            ("agt_fail", {"reason": "disk full"}),
            ("agt_save_note", "{not json"),
        ),
        llm.answer("Recovered."),
    )
    run = await run_once(grader(tmp_path, db_url, llm))

    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.result["answer"] == "Recovered."
    assert run.result["tool_errors"] == 3
    errors = [(c["name"], c["ok"], c["error"]) for c in run.result["tool_calls"]]
    assert errors[0][:2] == ("no_such_tool", False)
    assert "unknown tool 'no_such_tool'; tools: agt_fail, agt_save_note" in errors[0][2]
    assert errors[1] == ("agt_fail", False, "RuntimeError: disk full")
    assert "arguments are not valid JSON" in errors[2][2]
    sent = [m for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert [json.loads(m["content"])["error"] for m in sent] == [e[2] for e in errors]
    assert NOTES == []


async def test_max_steps_fails_the_run_without_retry(
    tmp_path: Path, db_url: str, llm: FakeLLM
) -> None:
    llm.always(llm.tool_call(("agt_save_note", {"text": "again"})))
    run = await run_once(grader(tmp_path, db_url, llm, max_steps=3, retries=2))

    assert run.status is RunStatus.FAILED
    assert run.attempts == 1
    assert run.error["type"] == "AgentStepLimit"
    assert run.error["permanent"] is True
    assert "after max_steps=3 model calls" in run.error["message"]
    assert "agt_save_note x2" in run.error["message"]
    assert len(llm.requests) == 3
    assert len(NOTES) == 2  # the tools of the last reply are not run


async def test_missing_template_key_is_permanent(tmp_path: Path, db_url: str, llm: FakeLLM) -> None:
    run = await run_once(grader(tmp_path, db_url, llm, retries=3), args={})

    assert run.status is RunStatus.FAILED
    assert run.attempts == 1
    assert run.error["type"] == "PromptError"
    assert run.error["message"] == "prompt: {args.notes} is missing (keys of args: none)"
    assert llm.requests == []


# -- provider errors and the retry policy ----------------------------------------------------
async def test_429_is_retried(tmp_path: Path, db_url: str, llm: FakeLLM) -> None:
    llm.script(llm.error(429, "Rate limit reached", **{"Retry-After": "0"}), llm.answer("ok"))
    run = await run_once(grader(tmp_path, db_url, llm, retries=2))

    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.attempts == 2
    assert run.result["answer"] == "ok"


async def test_500_always_ends_dead(tmp_path: Path, db_url: str, llm: FakeLLM) -> None:
    llm.always(llm.error(500, "upstream exploded"))
    run = await run_once(grader(tmp_path, db_url, llm, retries=1))

    assert run.status is RunStatus.DEAD
    assert run.attempts == 2
    assert run.error["type"] == "ProviderUnavailable"
    assert run.error["message"] == (
        f"LLM provider at {llm.base_url} answered 500 Internal Server Error: upstream exploded"
    )
    assert len(llm.requests) == 2


async def test_400_fails_at_once(tmp_path: Path, db_url: str, llm: FakeLLM) -> None:
    llm.script(llm.error(400, "Invalid 'messages[1].content'"))
    run = await run_once(grader(tmp_path, db_url, llm, retries=3))

    assert run.status is RunStatus.FAILED
    assert run.attempts == 1
    assert run.error["type"] == "ProviderError"
    assert run.error["permanent"] is True
    assert "answered 400 Bad Request: Invalid 'messages[1].content'" in run.error["message"]
    assert len(llm.requests) == 1


async def test_401_says_the_key_is_missing(tmp_path: Path, db_url: str, llm: FakeLLM) -> None:
    llm.script(llm.error(401, "Incorrect API key provided"))
    run = await run_once(grader(tmp_path, db_url, llm))

    assert run.status is RunStatus.FAILED
    assert "authorization" not in llm.headers[0]
    assert run.error["message"].endswith(
        "answered 401 Unauthorized: Incorrect API key provided "
        "(no API key was sent: AGT_TEST_KEY is not set)"
    )


async def test_provider_down_names_the_url(tmp_path: Path, db_url: str, llm: FakeLLM) -> None:
    app = grader(tmp_path, db_url, llm, retries=1)
    llm.close()
    run = await run_once(app)

    assert run.status is RunStatus.DEAD
    assert run.attempts == 2
    assert run.error["type"] == "ProviderUnavailable"
    assert run.error["message"] == (
        f"cannot reach LLM provider at {llm.base_url}: connection refused"
    )


async def test_slow_provider_times_out(tmp_path: Path, db_url: str, llm: FakeLLM) -> None:
    llm.script(llm.answer("too late", delay_s=2.0))
    run = await run_once(grader(tmp_path, db_url, llm, timeout="300ms"))

    assert run.status is RunStatus.DEAD
    assert run.error["type"] in ("TaskTimeout", "ProviderUnavailable")
    assert "0.3s" in run.error["message"]


async def test_reply_that_is_not_a_completion_is_permanent(
    tmp_path: Path, db_url: str, llm: FakeLLM
) -> None:
    llm.script(Reply(200, "<html>a login page</html>"))
    run = await run_once(grader(tmp_path, db_url, llm, retries=2))

    assert run.status is RunStatus.FAILED
    assert run.error["type"] == "ProviderError"
    assert "not a chat completion: <html>a login page</html>" in run.error["message"]


# -- the example ------------------------------------------------------------------------------
async def test_the_example_config_runs(
    tmp_path: Path, db_url: str, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTCRON_LLM_BASE_URL", llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-example")
    config = load_config(EXAMPLES / "agent.toml")
    assert [s.spec.task for s in config.schedules] == ["progression-grader"] * 2
    fan_out, idle = (s.spec for s in config.schedules)
    assert fan_out.for_each_subject is not None
    assert fan_out.for_each_subject.subjects == "user:*"
    assert idle.trigger == {"idle": "5m", "cooldown": "30m", "subjects": "user:*"}
    assert str(idle.limit) == "3 per day"
    app = App.from_config(config, db_url)
    llm.script(
        llm.tool_call(("lookup_progress", {"subject": "user:1"})),
        llm.answer("user:1, ahead, 9 of 12 lessons and rising quiz scores"),
    )
    run = await run_once(app, "progression-grader", args={}, subject="user:1")

    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.result["tool_calls"][0]["ok"] is True
    assert '"lessons_done": 9' in run.result["tool_calls"][0]["result"]
    first = llm.requests[0]
    assert first["model"] == "gpt-4o-mini"
    assert first["temperature"] == 0
    assert first["messages"][1] == {"role": "user", "content": "Subject: user:1"}
    names = [t["function"]["name"] for t in first["tools"]]
    assert names == ["list_learners", "lookup_progress", "record_grade", "send_message"]
    grade = first["tools"][2]["function"]["parameters"]
    assert grade["properties"]["grade"] == {"enum": ["ahead", "on_track", "behind", "stalled"]}
    assert llm.headers[0]["authorization"] == "Bearer sk-example"


# -- LangGraph -------------------------------------------------------------------------------
GRAPH_MODULE = """
from langgraph.graph import END, START, MessagesState, StateGraph


def shout(state: MessagesState) -> dict:
    last = state["messages"][-1].content
    return {"messages": [("assistant", "ECHO: " + last.upper())]}


builder = StateGraph(MessagesState)
builder.add_node("shout", shout)
builder.add_edge(START, "shout")
builder.add_edge("shout", END)
graph = builder.compile()
"""


async def test_langgraph_graph_task(tmp_path: Path, db_url: str) -> None:
    pytest.importorskip("langgraph", reason="langgraph is not installed (agentcron[langgraph])")
    module = f"agt_graphs_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(GRAPH_MODULE)
    app = make_app(tmp_path, db_url, """
        [[task]]
        name = "triage"
        kind = "graph"
        graph = "{module}:graph"
        prompt = "New signup: {{args.email}}"
        """, module=module)  # fmt: skip
    run = await run_once(app, "triage", args={"email": "ada@example.com"})

    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.result == {
        "answer": "ECHO: NEW SIGNUP: ADA@EXAMPLE.COM", "messages": 2, "graph": f"{module}:graph"
    }  # fmt: skip
