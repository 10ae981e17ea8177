"""Config forms end to end, on a real SQLite file: a ``module:function`` task run with
positional and keyword args (in process and by a real ``agentcron worker``), a YouLab-form
task firing per learner against a scripted LLM on loopback, and ``validate`` / ``serve``
start-up on bad configs as real subprocesses (one line per problem, never a traceback)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_llm import FakeLLM
from typer.testing import CliRunner

from agentcron import App, Run, RunStatus
from agentcron.cli import app as cli_app
from agentcron.clock import ManualClock
from agentcron.config import ENV_VARS, load_config
from agentcron.tasks import default_registry

pytestmark = pytest.mark.timeout(120)

JOBS = """
import agentcron

def cleanup_inbox(folder, days=7):
    return f"{folder}:{days}"

def both(first, *rest, sep="-"):
    return sep.join([first, *rest])
"""
TOOLS = """
import agentcron

@agentcron.tool
def query_honcho(subject: str, question: str) -> str:
    "Ask Honcho what it knows about a learner."
    return "steady progress"

@agentcron.tool
def edit_memory_block(subject: str, block: str, text: str) -> str:
    "Propose an edit to one of the learner's memory blocks."
    return "proposed"
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENTCRON_* from outside; sys.path and the process-wide task registry restored
    after each test, which starts without the tasks other tests registered."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(default_registry, "_tasks", {})


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def module(folder: Path, prefix: str, source: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    (folder / f"{name}.py").write_text(source)
    return name


def write(folder: Path, text: str, name: str = "agentcron.toml", **values: str) -> Path:
    text = textwrap.dedent(text).lstrip()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    (folder / name).write_text(text)
    return folder / name


def agentcron(*args: Any, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    return subprocess.run(
        [sys.executable, "-m", "agentcron", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


FUNCTIONS = """
[[schedule]]
name = "positional"
task = "{jobs}:cleanup_inbox"
trigger = "manual"
args = ["inbox", 30]

[[schedule]]
name = "keywords"
task = "{jobs}:cleanup_inbox"
trigger = "manual"
args = { folder = "spam" }

[[schedule]]
name = "varargs"
task = "{jobs}:both"
trigger = "manual"
args = ["a", "b", "c"]
"""


# -- module:function tasks, positional and keyword args ----------------------------------------
async def test_function_path_tasks_run_with_list_and_object_args(
    tmp_path: Path, db_url: str
) -> None:
    jobs = module(tmp_path, "cfgr_jobs", JOBS)
    config = load_config(write(tmp_path, FUNCTIONS, jobs=jobs))
    app = App.from_config(config, db_url)

    @app.task(hard_timeout="20s")
    def multiply(a: int, b: int) -> int:  # positional args cross into a child process too
        return a * b

    async with app:
        await app.sync_schedules(config.schedules)
        runs = [await app.trigger(name) for name in ("positional", "keywords", "varargs")]
        runs.append(await app.enqueue(multiply, [6, 7]))
        await asyncio.wait_for(app.run(burst=True), 60)
        done = [await app.get_run(r.id) for r in runs]
    assert [r.status for r in done] == [RunStatus.SUCCEEDED] * 4, [r.error for r in done]
    assert [r.result for r in done] == ["inbox:30", "spam:7", "a-b-c", 42]
    assert [r.args for r in done] == [["inbox", 30], {"folder": "spam"}, ["a", "b", "c"], [6, 7]]


def test_a_worker_started_with_the_config_imports_the_function(tmp_path: Path) -> None:
    jobs = module(tmp_path, "cfgr_jobs", JOBS)
    config_path = write(tmp_path, FUNCTIONS, jobs=jobs)
    db = f"sqlite:///{tmp_path / 'agentcron.db'}"

    async def queue() -> list[int]:
        app = App.from_config(load_config(config_path), db)
        async with app:
            await app.sync_schedules(load_config(config_path).schedules)
            return [(await app.trigger(name)).id for name in ("positional", "keywords")]

    ids = asyncio.run(queue())
    elsewhere = tmp_path / "elsewhere"  # no ./agentcron.toml there: only --config counts
    elsewhere.mkdir()
    done = agentcron("worker", "--burst", "--db", db, "--config", config_path, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    shown = [json.loads(agentcron("runs", "show", i, "--db", db, "--json", cwd=elsewhere).stdout)
             for i in ids]  # fmt: skip
    assert [(r["status"], r["result"]) for r in shown] == [
        ("succeeded", "inbox:30"), ("succeeded", "spam:7")
    ]  # fmt: skip
    assert shown[0]["args"] == ["inbox", 30]


# -- the YouLab form, end to end ----------------------------------------------------------------
YOULAB = """
[agentcron]
tasks = ["{tools}"]

[agentcron.llm]
model = "gpt-4o-mini"
base_url = "{url}"

[[task]]
name = "progression-grader"
on_idle = true
idle_threshold_minutes = 5
idle_cooldown_minutes = 30
schedule = "0 */6 * * *"
manual = true
agent_types = ["tutor", "college-essay"]
user_filter = "all"
batch_size = 50
system = "You are a curriculum grader..."
tools = ["query_honcho", "edit_memory_block"]
"""


async def test_a_youlab_task_grades_idle_learners_then_every_learner_on_its_cron(
    tmp_path: Path, db_url: str, llm: FakeLLM
) -> None:
    tools = module(tmp_path, "cfgr_tools", TOOLS)
    config = load_config(write(tmp_path, YOULAB, tools=tools, url=llm.base_url))
    llm.always(llm.answer("graded"))
    clock = ManualClock(datetime(2030, 1, 7, 5, 0, tzinfo=UTC))
    app = App(db_url, clock=clock, maintenance=False)
    for task in config.tasks:
        app.registry.add(task)
    async with app:
        report = await app.sync_schedules(config.schedules)
        assert report["added"] == [f"progression-grader.{k}" for k in ("idle", "cron", "manual")]
        for subject in ("user:1", "user:2", "team:1"):
            await app.record_activity(subject)
        clock.advance(timedelta(minutes=5, seconds=1).total_seconds())
        await asyncio.wait_for(app.run(burst=True), 60)
        idle, _ = await app.list_runs(schedule="progression-grader.idle")
        assert sorted((r.subject, r.status) for r in idle) == [
            ("user:1", RunStatus.SUCCEEDED), ("user:2", RunStatus.SUCCEEDED)
        ]  # fmt: skip
        assert {json.dumps(r.args) for r in idle} == {
            json.dumps({"agent_types": ["tutor", "college-essay"]})
        }
        clock.advance(timedelta(hours=1).total_seconds())  # 06:05: the 06:00 slot, per learner
        await asyncio.wait_for(app.run(burst=True), 60)
        cron, _ = await app.list_runs(schedule="progression-grader.cron")
        assert sorted(r.subject or "" for r in cron) == ["user:1", "user:2"]
        assert {r.status for r in cron} == {RunStatus.SUCCEEDED}
        fanned = await app.trigger("progression-grader.manual")  # YouLab's manual run
        assert not isinstance(fanned, Run)
        assert (fanned.queued, fanned.skipped) == (2, 0)
        await asyncio.wait_for(app.run(burst=True), 60)
        manual, _ = await app.list_runs(schedule="progression-grader.manual")
        assert sorted((r.subject, r.status) for r in manual) == [
            ("user:1", RunStatus.SUCCEEDED), ("user:2", RunStatus.SUCCEEDED)
        ]  # fmt: skip
    first = llm.requests[0]
    assert first["model"] == "gpt-4o-mini"
    assert first["messages"][0] == {"role": "system", "content": "You are a curriculum grader..."}
    user = first["messages"][1]["content"]
    assert user.startswith("Subject: user:")
    assert '"agent_types": ["tutor", "college-essay"]' in user
    assert [t["function"]["name"] for t in first["tools"]] == ["query_honcho", "edit_memory_block"]


# -- validate and start-up, as a user runs them ---------------------------------------------------
def test_validate_shows_the_native_equivalent(tmp_path: Path) -> None:
    tools = module(tmp_path, "cfgr_tools", TOOLS)
    path = write(tmp_path, YOULAB, tools=tools, url="http://127.0.0.1:9/v1")
    text = CliRunner().invoke(cli_app, ["validate", str(path)])
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith(f"ok: {path}: 3 schedules; task modules: {tools}\n\n"
                                  "# [[task]] 'progression-grader' (YouLab form) is read as:\n"
                                  "[[task]]\n")  # fmt: skip
    assert 'trigger = "idle 5m cooldown 30m for user:*"' in text.stdout
    data = json.loads(CliRunner().invoke(cli_app, ["validate", str(path), "--json"]).stdout)
    (native,) = data["native"]
    assert native["name"] == "progression-grader"
    assert native["toml"] in text.stdout
    assert [s["name"] for s in native["schedules"]] == data["schedules"]
    assert data["defined_tasks"] == ["progression-grader"]


BAD_CONFIGS = {
    "misspelled-trigger": (
        '[[schedule]]\nname = "tick"\ntask = "{jobs}:cleanup_inbox"\ntriger = "every 10s"\n'
        'args = ["inbox"]\n',
        ['{path}:4: schedule[1] "tick": triger: unknown key (did you mean \'trigger\'?)'],
    ),
    "missing-task": (
        '[[schedule]]\ntrigger = "every 10s"\n',
        ["{path}:1: schedule[1]: task: required (the name of a registered task, or "
         "'module:function')"],
    ),
    "bad-youlab": (
        '[agentcron.llm]\nmodel = "m"\n\n[[task]]\nname = "pg"\nbatch_size = "50"\n',
        ['{path}:6: task[1] "pg": batch_size: expected a whole number from 1 to 100000, got '
         "'50'"],
    ),
    "args-misfit": (
        '[[schedule]]\ntask = "{jobs}:cleanup_inbox"\ntrigger = "manual"\nargs = []\n',
        ["{path}:4: schedule[1] \"{jobs}:cleanup_inbox\": args: do not fit "
         "{jobs}:cleanup_inbox(folder, days=7): missing a required argument: 'folder'"],
    ),
    "yaml-syntax": ("schedule:\n  - task: x\n   trigger: y\n", None),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_config_stops_serve_with_one_line_per_problem(tmp_path: Path, case: str) -> None:
    jobs = module(tmp_path, "cfgr_jobs", JOBS)
    text, expected = BAD_CONFIGS[case]
    suffix = ".yaml" if case.startswith("yaml") else ".toml"
    path = write(tmp_path, text, f"agentcron{suffix}", jobs=jobs)
    db = f"sqlite:///{tmp_path / 'agentcron.db'}"
    done = agentcron("serve", "--config", path, "--db", db, "--port", "0", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    if expected is None:
        assert len(lines) == 1
        assert lines[0].startswith(f"error: {path}:3:4: invalid YAML: ")
    else:
        assert lines == ["error: " + e.replace("{path}", str(path)).replace("{jobs}", jobs)
                         for e in expected]  # fmt: skip
    assert not (tmp_path / "agentcron.db").exists()  # nothing started, nothing stored


@pytest.mark.parametrize("command", ["scheduler", "worker", "validate"])
def test_other_commands_stop_the_same_way(tmp_path: Path, command: str) -> None:
    path = write(tmp_path, '[[schedule]]\nname = "tick"\ntask = "x"\ntriger = "every 10s"\n')
    extra = [] if command == "validate" else ["--config", path, "--db", "sqlite:///x.db"]
    done = agentcron(command, *([path] if command == "validate" else extra), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.splitlines() == [
        f"error: {path}:3: schedule[1] \"tick\": task: task 'x' is not registered (is its "
        "module in [agentcron] tasks?)",
        f"error: {path}:4: schedule[1] \"tick\": triger: unknown key (did you mean 'trigger'?)",
    ]


def test_an_empty_config_validates_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    out = CliRunner().invoke(cli_app, ["validate", str(path)])
    assert out.exit_code == 0
    assert out.stdout == (
        f"ok: {path}: 0 schedules; task modules: none (the file sets nothing: every setting has "
        "its default)\n"
    )
