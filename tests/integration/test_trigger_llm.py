"""Trigger text the grammar does not understand, read by an LLM: real HTTP to a scripted
Chat Completions provider on loopback (`fake_llm.FakeLLM`), through every surface that reads
trigger text: `App.read_trigger`, ``GET /v1/parse``, ``POST /v1/schedules``, ``agentcron
parse`` (in process and as ``serve``), and the MCP tools. The provider counts requests: the
grammar always goes first, and a phrase it reads never reaches the LLM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_llm import FakeLLM, user_text
from typer.testing import CliRunner

from agentcron import App
from agentcron.agents.phrases import TOOL_NAME, TRIGGER_SCHEMA
from agentcron.api import create_api
from agentcron.auth import Principal
from agentcron.cli import app as cli_app
from agentcron.clock import ManualClock
from agentcron.config import ENV_VARS, LLMSettings, load_config
from agentcron.errors import InvalidTrigger, TriggerNotUnderstood
from agentcron.mcp.tools import Toolbox
from agentcron.models import Scope

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday
ROOT = Path(__file__).resolve().parents[2]
PHRASE = "twice a day, at breakfast and at dinner"  # no form of the grammar reads it
ANSWER = {"cron": "0 7,19 * * *"}
NOT_UNDERSTOOD = (
    f"could not read {PHRASE!r}: did not understand 'twice', 'breakfast', 'dinner'; try "
    "'every weekday at 9am', 'every monday and friday at 17:30', 'first day of every month "
    "at 8', 'in 2 hours'"
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        fake.functions({PHRASE: ANSWER})
        yield fake


@pytest.fixture
async def app(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[App]:
    settings = LLMSettings(base_url=llm.base_url, model="gpt-test")
    app = App(f"sqlite:///{tmp_path / 'llm.db'}", clock=ManualClock(NOW), maintenance=False,
              timezone="Europe/Berlin", llm=settings)  # fmt: skip

    @app.task()
    async def digest() -> None: ...

    async with app:
        yield app


# -- the reader ------------------------------------------------------------------------------
async def test_a_phrase_the_grammar_reads_never_reaches_the_llm(app: App, llm: FakeLLM) -> None:
    for text in ("every weekday morning at 7:30", "0 9 * * 1-5", "every 90 minutes", "manual"):
        reading = await app.read_trigger(text)
        assert reading.source == "grammar"
    assert llm.requests == []


async def test_a_phrase_it_does_not_understand_goes_to_the_llm(app: App, llm: FakeLLM) -> None:
    reading = await app.read_trigger(PHRASE, timezone="Europe/Berlin")

    assert reading.source == "llm"
    assert reading.trigger.to_dict() == {"cron": "0 7,19 * * *", "timezone": "Europe/Berlin"}
    (request,) = llm.requests
    assert request["model"] == "gpt-test"
    assert request["temperature"] == 0
    assert request["tools"] == [{"type": "function", "function": {
        "name": TOOL_NAME, "description": "Set the trigger of the schedule.",
        "parameters": TRIGGER_SCHEMA}}]  # fmt: skip
    assert request["tool_choice"] == {"type": "function", "function": {"name": TOOL_NAME}}
    assert user_text(request) == PHRASE
    system = request["messages"][0]["content"]
    assert "Europe/Berlin" in system
    assert "Friday 2026-11-20 11:00" in system  # now, in the zone


async def test_understood_but_impossible_phrases_keep_their_error(app: App, llm: FakeLLM) -> None:
    """The grammar understood these; its message says what to write, no LLM is asked."""
    for text, words in [
        ("every other month at 9", "cannot be written as cron"),
        ("today at 9", "has already passed"),
        ("on monday at 9", "could mean every monday or just the next one"),
        ("0 9 * * 8", "day-of-week"),
        ({"cron": "blursday"}, "cron"),
    ]:
        with pytest.raises(InvalidTrigger) as info:
            await app.read_trigger(text)
        assert not isinstance(info.value, TriggerNotUnderstood)
        assert words in str(info.value)
    assert llm.requests == []


async def test_without_an_llm_the_error_stays(tmp_path: Path) -> None:
    plain = App(f"sqlite:///{tmp_path / 'plain.db'}", maintenance=False, llm=LLMSettings())
    assert plain.phrases is None  # [agentcron.llm] without a model: no fallback
    with pytest.raises(TriggerNotUnderstood) as info:
        await plain.read_trigger(PHRASE)
    assert info.value.message == NOT_UNDERSTOOD
    with pytest.raises(TriggerNotUnderstood, match="did not understand 'blursday'"):
        await plain.read_trigger("every blursday at 9")


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"cron": "61 * * * *"}, "answered {\"cron\": \"61 * * * *\"}, which is not a valid "
                                 "trigger: cron: "),
        ({"every": "5m", "cron": "0 9 * * *"}, "a trigger has exactly one kind"),
        ({"not_a_schedule": "this is a recipe"}, "could not read it either: this is a recipe"),
        ("[1, 2]", "answered [1, 2], which is not a trigger object"),
        ("{not json", "answered {not json, which is not a trigger object"),
    ],
)  # fmt: skip
async def test_a_bad_answer_is_a_clear_error(
    app: App, llm: FakeLLM, answer: Any, words: str
) -> None:
    llm.script(llm.tool_call((TOOL_NAME, answer)))
    with pytest.raises(InvalidTrigger) as info:
        await app.read_trigger(PHRASE)
    assert info.value.field == "trigger"
    assert info.value.message.startswith(NOT_UNDERSTOOD + "; the LLM (gpt-test) ")
    assert words in info.value.message


async def test_a_reply_without_the_call_and_a_provider_down(app: App, llm: FakeLLM) -> None:
    llm.script(llm.answer("I think you mean twice a day."))
    with pytest.raises(InvalidTrigger, match="did not call set_trigger; it said I think you"):
        await app.read_trigger(PHRASE)
    llm.script(llm.error(401, "bad key"))
    with pytest.raises(InvalidTrigger, match=r"asking the LLM failed: .* answered 401"):
        await app.read_trigger(PHRASE)
    llm.close()
    with pytest.raises(InvalidTrigger) as down:
        await app.read_trigger("now and then, around lunch")
    assert "asking the LLM failed: cannot reach LLM provider at http://127.0.0.1" in str(down.value)
    assert str(down.value).startswith("trigger: could not read trigger 'now and then")


async def test_an_answer_is_kept_so_a_preview_and_a_create_agree(app: App, llm: FakeLLM) -> None:
    first = await app.read_trigger(PHRASE, timezone="Europe/Berlin")
    again = await app.read_trigger(
        "  Twice a day,  at breakfast and at dinner", timezone="Europe/Berlin"
    )
    assert first.trigger == again.trigger
    assert again.source == "llm"
    assert len(llm.requests) == 1
    await app.read_trigger(PHRASE, timezone="UTC")  # another zone is another question
    assert len(llm.requests) == 2


# -- REST ------------------------------------------------------------------------------------
@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_api(app, auth="auto"))
    async with httpx.AsyncClient(transport=transport, base_url="http://agentcron") as c:
        yield c


async def test_get_parse_says_who_read_it(client: httpx.AsyncClient, llm: FakeLLM) -> None:
    grammar = await client.get("/v1/parse", params={"text": "every evening at 6", "count": 1})
    assert grammar.status_code == 200, grammar.text
    assert grammar.json()["source"] == "grammar"
    assert llm.requests == []

    answer = await client.get("/v1/parse", params={"text": PHRASE, "tz": "Europe/Berlin",
                                                   "count": 2})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "trigger": {"cron": "0 7,19 * * *", "timezone": "Europe/Berlin"},
        "description": "At 07:00 and 19:00 every day (Europe/Berlin)",
        "next": ["2026-11-20T18:00:00.000Z", "2026-11-21T06:00:00.000Z"],
        "source": "llm",
    }
    llm.script(llm.tool_call((TOOL_NAME, {"cron": "nope"})))
    bad = await client.get("/v1/parse", params={"text": "whenever the moon is full"})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_trigger", "text")
    assert 'the LLM (gpt-test) answered {"cron": "nope"}' in error["message"]


async def test_post_schedule_says_who_read_the_trigger(
    client: httpx.AsyncClient, llm: FakeLLM
) -> None:
    made = await client.post("/v1/schedules", json={"task": "digest", "trigger": PHRASE})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["trigger"] == {"cron": "0 7,19 * * *", "timezone": "Europe/Berlin"}
    assert (body["trigger_source"], body["source"]) == ("llm", "api")
    assert body["description"] == "At 07:00 and 19:00 every day (Europe/Berlin)"
    stored = (await client.get(f"/v1/schedules/{body['id']}")).json()
    assert stored["trigger"] == body["trigger"]
    assert "trigger_source" not in stored

    plain = await client.post("/v1/schedules", json={
        "task": "digest", "name": "plain", "trigger": "every weekday morning at 7:30"})  # fmt: skip
    assert plain.status_code == 201, plain.text
    assert plain.json()["trigger_source"] == "grammar"
    assert len(llm.requests) == 1

    bad = await client.post("/v1/schedules", json={"task": "digest", "name": "bad",
                                                   "trigger": "every blursday at 9"})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "trigger"
    assert "did not understand 'blursday'" in bad.json()["error"]["message"]
    assert "no function answer" in bad.json()["error"]["message"]
    assert (await client.get("/v1/schedules/bad")).status_code == 404  # nothing stored


# -- MCP -------------------------------------------------------------------------------------
async def test_mcp_preview_and_create(app: App, llm: FakeLLM) -> None:
    box = Toolbox(app)
    who = Principal(Scope.WRITE, ("default",), "tok1")
    preview = await box.call("preview_trigger", {"text": PHRASE}, who)
    assert (preview["source"], preview["trigger"]["cron"]) == ("llm", "0 7,19 * * *")
    made = await box.call("create_schedule", {"task": "digest", "trigger": PHRASE}, who)
    assert (made["trigger_source"], made["trigger"]["cron"]) == ("llm", "0 7,19 * * *")
    assert len(llm.requests) == 1  # the create reused the preview's answer
    plain = await box.call("preview_trigger", {"text": "hourly"}, who)
    assert plain["source"] == "grammar"


# -- the CLI and serve -----------------------------------------------------------------------
def write_config(tmp_path: Path, llm: FakeLLM) -> Path:
    path = tmp_path / "agentcron.toml"
    path.write_text(textwrap.dedent(f"""
        [agentcron]
        timezone = "Europe/Berlin"

        [agentcron.llm]
        base_url = "{llm.base_url}"
        model = "gpt-test"
        """))  # fmt: skip
    return path


def test_cli_parse_takes_config(tmp_path: Path, llm: FakeLLM,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    config = write_config(tmp_path, llm)
    runner = CliRunner()
    args = ["parse", PHRASE, "--after", "2026-11-20T10:00:00Z", "--count", "1", "--json"]
    result = runner.invoke(cli_app, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "trigger": {"cron": "0 7,19 * * *", "timezone": "Europe/Berlin"},
        "description": "At 07:00 and 19:00 every day (Europe/Berlin)",
        "next": ["2026-11-20T18:00:00.000Z"],
        "source": "llm",
    }
    monkeypatch.setenv("AGENTCRON_CONFIG", str(config))
    grammar = runner.invoke(cli_app, ["parse", "every morning at 8", "--json"])
    assert grammar.exit_code == 0, grammar.output
    assert json.loads(grammar.output)["trigger"] == {"cron": "0 8 * * *",
                                                     "timezone": "Europe/Berlin"}  # fmt: skip
    assert json.loads(grammar.output)["source"] == "grammar"
    table = runner.invoke(cli_app, ["parse", PHRASE])
    assert table.exit_code == 0, table.output
    assert "read by" in table.output
    assert len(llm.requests) == 2  # each command that needed it asked once
    monkeypatch.delenv("AGENTCRON_CONFIG")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    without = runner.invoke(cli_app, ["parse", PHRASE])
    assert without.exit_code == 2
    assert f"error: trigger: {NOT_UNDERSTOOD}" in without.output


def test_serve_config_gives_the_api_its_llm(tmp_path: Path, llm: FakeLLM) -> None:
    config = write_config(tmp_path, llm)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("AGENTCRON_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcron", "serve", "--config", str(config), "--port", "0",
         "--db", f"sqlite:///{tmp_path / 'serve.db'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            if "dashboard and API at " in line:
                url = line.split("dashboard and API at ")[1].split()[0]
                break
        assert url is not None, proc.stderr.read() if proc.stderr else ""
        query = {"text": PHRASE, "tz": "Europe/Berlin"}
        answer = httpx.get(f"{url}/v1/parse", params=query, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["source"] == "llm"
        assert answer.json()["trigger"] == {"cron": "0 7,19 * * *", "timezone": "Europe/Berlin"}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert len(llm.requests) == 1


def test_from_config_passes_the_llm(tmp_path: Path, llm: FakeLLM) -> None:
    app = App.from_config(load_config(write_config(tmp_path, llm)), "sqlite:///:memory:")
    assert app.phrases is not None
    assert app.phrases.model == "gpt-test"
    assert app.phrases.endpoint.base_url == llm.base_url
