"""The YouLab task form: a ``[[task]]`` with its own triggers becomes an agent task and its
schedules, and its native equivalent is the same config written out."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from agentcron import ConfigError
from agentcron.config import ENV_VARS, Config, load_config
from agentcron.models import FanOut, ScheduleSource
from agentcron.tasks import default_registry

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
HEADER = """
[agentcron]
tasks = ["{module}"]

[agentcron.llm]
model = "gpt-4o-mini"
"""
YOULAB = """
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
NATIVE = """\
[[task]]
name = "progression-grader"
system = "You are a curriculum grader..."
tools = ["query_honcho", "edit_memory_block"]

[[schedule]]
name = "progression-grader.idle"
task = "progression-grader"
trigger = "idle 5m cooldown 30m for user:*"
args = { agent_types = ["tutor", "college-essay"] }

[[schedule]]
name = "progression-grader.cron"
task = "progression-grader"
trigger = "0 */6 * * *"
args = { agent_types = ["tutor", "college-essay"] }
for_each_subject = { subjects = "user:*", batch_size = 50 }

[[schedule]]
name = "progression-grader.manual"
task = "progression-grader"
trigger = "manual"
args = { agent_types = ["tutor", "college-essay"] }
for_each_subject = { subjects = "user:*", batch_size = 50 }
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
def module(tmp_path: Path) -> str:
    name = f"cfgy_tools_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(TOOLS)
    return name


def write(folder: Path, module: str, body: str, name: str = "agentcron.toml") -> Path:
    path = folder / name
    text = textwrap.dedent(HEADER).replace("{module}", module) + textwrap.dedent(body)
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [line.replace(f"{path}:", "") for line in info.value.problems]


def test_the_youlab_form_becomes_an_agent_task_and_its_schedules(
    tmp_path: Path, module: str
) -> None:
    loaded = load_config(write(tmp_path, module, YOULAB))
    (task,) = loaded.tasks
    assert task.name == "progression-grader"
    assert (task.is_async, task.takes_ctx) == (True, True)
    assert task.description == "agent: gpt-4o-mini with query_honcho, edit_memory_block"
    idle, cron, manual = (b.spec for b in loaded.schedules)
    assert [s.name for s in (idle, cron, manual)] == [
        "progression-grader.idle", "progression-grader.cron", "progression-grader.manual"
    ]  # fmt: skip
    assert {s.task for s in (idle, cron, manual)} == {"progression-grader"}
    assert {s.source for s in (idle, cron, manual)} == {ScheduleSource.CONFIG}
    agent_types = {"agent_types": ["tutor", "college-essay"]}
    assert idle.args == cron.args == manual.args == agent_types
    assert idle.trigger == {"idle": "5m", "cooldown": "30m", "subjects": "user:*"}
    assert idle.for_each_subject is None  # an idle trigger fires per subject already
    assert cron.trigger["cron"] == "0 */6 * * *"
    assert cron.for_each_subject == manual.for_each_subject == FanOut("user:*", 50)
    assert manual.trigger == {"manual": True}
    (form,) = loaded.native
    assert form.name == "progression-grader"
    assert form.toml == NATIVE


def test_the_native_equivalent_loads_into_the_same_tasks_and_schedules(
    tmp_path: Path, module: str
) -> None:
    youlab = load_config(write(tmp_path, module, YOULAB))
    native = load_config(write(tmp_path, module, youlab.native[0].toml, "native.toml"))
    assert native.native == []
    assert [b.spec for b in native.schedules] == [b.spec for b in youlab.schedules]
    assert [t.to_dict() for t in native.tasks] == [t.to_dict() for t in youlab.tasks]


@pytest.mark.parametrize(
    ("body", "schedules", "idle_trigger", "args", "fan_out"),
    [
        ('schedule = "0 */6 * * *"', [".cron", ".manual"], None, ["tutor"], FanOut("user:*", 50)),
        ("on_idle = true\nmanual = false", [".idle"], "idle 30m cooldown 1h for user:*",
         ["tutor"], None),
        ('on_idle = true\nidle_cooldown_minutes = 0\nmanual = false\nuser_filter = "user:beta-"\n'
         'agent_types = []', [".idle"], "idle 30m for user:beta-*", [], None),
        ('manual = true\nbatch_size = 7\nuser_filter = "user:1?"', [".manual"], None, ["tutor"],
         FanOut("user:1?", 7)),
        ("manual = false", [], None, None, None),
    ],
)  # fmt: skip
def test_youlab_defaults_and_filters(
    tmp_path: Path,
    module: str,
    body: str,
    schedules: list[str],
    idle_trigger: str | None,
    args: list[str] | None,
    fan_out: FanOut | None,
) -> None:
    text = f'[[task]]\nname = "pg"\nsystem = "You grade."\n{body}\n'
    loaded = load_config(write(tmp_path, module, text))
    assert [b.spec.name for b in loaded.schedules] == [f"pg{s}" for s in schedules]
    assert [t.name for t in loaded.tasks] == ["pg"]
    for built in loaded.schedules:
        assert built.spec.args == {"agent_types": args}
        if built.spec.name != "pg.idle":
            assert built.spec.for_each_subject == fan_out
    assert ("trigger = " + repr(idle_trigger).replace("'", '"') in loaded.native[0].toml) is (
        idle_trigger is not None
    )


def test_youlab_problems_are_one_line_each_with_their_key(tmp_path: Path, module: str) -> None:
    path = write(tmp_path, module, """
        [[task]]
        name = "pg"
        on_idle = "yes"
        idle_threshold_minutes = 0
        idle_cooldown_minutes = -5
        schedule = "61 */6 * * *"
        manual = 1
        agent_types = "tutor"
        user_filter = "everyone"
        batch_size = 0
        queries = [{ query = "x" }]
        tools = ["query_honcho", "edit_memry_block"]

        [[schedule]]
        name = "other"
        task = "pg"
        trigger = "manual"
        """)  # fmt: skip
    assert problems(path) == [
        "10: task[1] \"pg\": on_idle: expected true or false, got 'yes'",
        '11: task[1] "pg": idle_threshold_minutes: expected a whole number of minutes from 1 to '
        "525600, got 0",
        '12: task[1] "pg": idle_cooldown_minutes: expected a whole number of minutes from 0 to '
        "525600, got -5",
        "13: task[1] \"pg\": schedule: cron: invalid cron expression '61 */6 * * *': minute must "
        "be 0-59, got 61",
        '14: task[1] "pg": manual: expected true or false, got 1',
        "15: task[1] \"pg\": agent_types: expected a list of agent type names, got 'tutor'",
        '16: task[1] "pg": user_filter: \'everyone\' is not a user filter: write "all" (every '
        'subject named user:...) or a subject filter such as "user:beta-*"',
        '17: task[1] "pg": batch_size: expected a whole number from 1 to 100000, got 0',
        '18: task[1] "pg": queries: the legacy query form is not supported; give the agent a '
        "system prompt and tools instead",
        "19: task[1] \"pg\": tools: unknown tool 'edit_memry_block': register it with "
        "@agentcron.tool or @agentcron.task in a module listed in [agentcron] tasks; did you mean "
        "'edit_memory_block'?",
    ]


def test_a_derived_schedule_name_written_again_is_used_twice(tmp_path: Path, module: str) -> None:
    path = write(tmp_path, module, """
        [[task]]
        name = "pg"
        schedule = "@daily"
        prompt = "Grade {subject} ({args.agent_types})"

        [[schedule]]
        name = "pg.manual"
        task = "pg"
        trigger = "manual"
        for_each_subject = true
        args = { agent_types = [] }
        """)  # fmt: skip
    assert problems(path) == ["8: task[1] \"pg\": name: 'pg.manual' is used twice"]


def test_prompts_of_youlab_tasks_are_checked_against_each_schedule(
    tmp_path: Path, module: str
) -> None:
    path = write(tmp_path, module, """
        [[task]]
        name = "pg"
        on_idle = true
        schedule = "@daily"
        prompt = "Grade {subject} ({args.agent_types}) after {event.type}"
        """)  # fmt: skip
    assert problems(path) == [
        "8: task[1] \"pg\": pg.manual: task: the prompt of 'pg' uses {event.type}: only an event "
        "trigger gives its runs an event",
        "10: task[1] \"pg\": pg.idle: task: the prompt of 'pg' uses {event.type}: only an event "
        "trigger gives its runs an event",
        "11: task[1] \"pg\": pg.cron: task: the prompt of 'pg' uses {event.type}: only an event "
        "trigger gives its runs an event",
    ]


def test_the_youlab_form_in_yaml(tmp_path: Path, module: str) -> None:
    path = tmp_path / "agentcron.yaml"
    path.write_text(textwrap.dedent(f"""
        agentcron:
          tasks: [{module}]
          llm: {{model: gpt-4o-mini}}
        task:
          - name: progression-grader
            on_idle: true
            idle_threshold_minutes: 5
            idle_cooldown_minutes: 30
            schedule: "0 */6 * * *"
            manual: true
            agent_types: [tutor, college-essay]
            user_filter: all
            batch_size: 50
            system: You are a curriculum grader...
            tools: [query_honcho, edit_memory_block]
        """))  # fmt: skip
    loaded = load_config(path)
    assert loaded.native[0].toml == NATIVE
    assert isinstance(loaded, Config)
