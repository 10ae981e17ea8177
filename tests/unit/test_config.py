"""Config files: TOML and YAML, every problem reported with its line, and syncing schedules."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from agentcron import App, ConfigError
from agentcron.config import (
    DEFAULT_DB,
    ENV_VARS,
    Config,
    find_config,
    load_config,
    load_settings,
    resolve_db,
)
from agentcron.models import Misfire, ScheduleSource
from agentcron.scheduler import Scheduler
from agentcron.tasks import TaskRegistry

TASKS = """
import agentcron

@agentcron.task
def {prefix}digest(channel: str = "email") -> str:
    return channel

@agentcron.task
def {prefix}cleanup() -> None:
    pass
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENTCRON_* from the outside; sys.path restored after each test."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture
def folder(tmp_path: Path) -> Callable[..., tuple[Path, str, str]]:
    """``folder(config_text, suffix)``: a folder holding a fresh task module and a config.

    The text may use ``{module}`` and ``{p}`` (the prefix of this test's task names, unique so
    that tests do not see each other's tasks in the process-wide registry). Returns the
    config path, the module name and the task prefix.
    """

    def make(text: str, suffix: str = ".toml") -> tuple[Path, str, str]:
        tag = uuid.uuid4().hex[:8]
        module, prefix = f"cfg_tasks_{tag}", f"t{tag}_"
        (tmp_path / f"{module}.py").write_text(TASKS.format(prefix=prefix))
        path = tmp_path / f"agentcron{suffix}"
        path.write_text(textwrap.dedent(text).lstrip().format(module=module, p=prefix))
        return path, module, prefix

    return make


GOOD_TOML = """
[agentcron]
db = "sqlite:///data/agentcron.db"
tasks = ["{module}"]
concurrency = 8
queues = ["default", "mail"]
timezone = "Europe/Berlin"
retention = "7d"
lease = "1m"
shutdown_timeout = "5s"

[[schedule]]
name = "weekday-digest"
task = "{p}digest"
trigger = "0 9 * * 1-5"
timezone = "America/New_York"
args = {{ channel = "email" }}
misfire = "skip"

[[schedule]]
task = "{p}cleanup"
trigger = {{ every = "5m" }}
"""

GOOD_YAML = """
agentcron:
  db: sqlite:///data/agentcron.db
  tasks: ["{module}"]
  concurrency: 8
  queues: [default, mail]
  timezone: Europe/Berlin
  retention: 7d
  lease: 1m
  shutdown_timeout: 5s
schedule:
  - name: weekday-digest
    task: "{p}digest"
    trigger: "0 9 * * 1-5"
    timezone: America/New_York
    args: {{channel: email}}
    misfire: skip
  - task: "{p}cleanup"
    trigger: {{every: 5m}}
"""


@pytest.mark.parametrize(("text", "suffix"), [(GOOD_TOML, ".toml"), (GOOD_YAML, ".yaml")])
def test_load_settings_and_schedules(
    folder: Callable[..., tuple[Path, str, str]], text: str, suffix: str
) -> None:
    path, module, p = folder(text, suffix)
    config = load_config(path)
    s = config.settings
    assert s.db == f"sqlite:///{path.parent.resolve() / 'data' / 'agentcron.db'}"
    assert s.tasks == (module,)
    assert (s.concurrency, s.queues, s.timezone) == (8, ("default", "mail"), "Europe/Berlin")
    assert (s.retention, s.lease, s.shutdown_timeout) == (
        timedelta(days=7), timedelta(minutes=1), timedelta(seconds=5)
    )  # fmt: skip
    digest, cleanup = (b.spec for b in config.schedules)
    assert digest.name == "weekday-digest"
    assert digest.task == f"{p}digest"
    assert digest.trigger == {"cron": "0 9 * * 1-5", "timezone": "America/New_York"}
    assert digest.args == {"channel": "email"}
    assert digest.misfire is Misfire.SKIP
    assert digest.source is ScheduleSource.CONFIG
    assert cleanup.name == f"{p}cleanup"  # the name defaults to the task
    assert cleanup.trigger == {"every": "5m"}
    assert config.path == path


def test_schedule_without_zone_uses_the_settings_zone(
    folder: Callable[..., tuple[Path, str, str]],
) -> None:
    path, _, _ = folder(
        """
        [agentcron]
        tasks = ["{module}"]
        timezone = "Asia/Tokyo"

        [[schedule]]
        task = "{p}digest"
        trigger = "0 9 * * *"
        """
    )
    (built,) = load_config(path).schedules
    assert built.spec.trigger == {"cron": "0 9 * * *", "timezone": "Asia/Tokyo"}


def test_every_problem_is_reported_with_its_line(
    folder: Callable[..., tuple[Path, str, str]],
) -> None:
    path, _, p = folder(
        """
        [agentcron]
        tasks = ["{module}"]
        concurency = 4
        lease = "soon"

        [[schedule]]
        name = "ok"
        task = "{p}digest"
        trigger = "every 5m"

        [[schedule]]
        name = "digest"
        task = "{p}digest"
        trigger = "61 9 * * 1-5"
        timezone = "Mars/Olympus"
        misfire = "sometimes"
        args = "[1, 2]"
        trigegr = "x"

        [[schedule]]
        task = "{p}digets"
        trigger = "every 5m"
        """
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        f"{path}:3: [agentcron]: concurency: unknown key (did you mean 'concurrency'?)",
        f"{path}:4: [agentcron]: lease: not a duration: 'soon' "
        "(examples: 500ms, 30s, 5m, 1h30m, PT1H30M)",
        f'{path}:14: schedule[2] "digest": trigger: cron: invalid cron expression '
        "'61 9 * * 1-5': minute must be 0-59, got 61",
        f"{path}:15: schedule[2] \"digest\": timezone: unknown time zone 'Mars/Olympus' "
        "(use an IANA name such as 'Europe/Berlin' or 'UTC')",
        f"{path}:16: schedule[2] \"digest\": misfire: 'sometimes' is not one of: once, skip, all",
        f"{path}:17: schedule[2] \"digest\": args: do not fit {p}digest(channel='email'): "
        "too many positional arguments",
        f"{path}:18: schedule[2] \"digest\": trigegr: unknown key (did you mean 'trigger'?)",
        f"{path}:21: schedule[3] \"{p}digets\": task: task '{p}digets' is not registered "
        f"(is its module in [agentcron] tasks?); did you mean '{p}digest'?",
    ]


def test_unknown_task_is_named_with_a_suggestion(
    folder: Callable[..., tuple[Path, str, str]],
) -> None:
    path, _, p = folder(
        """
        [agentcron]
        tasks = ["{module}"]

        [[schedule]]
        task = "{p}digets"
        trigger = "every 5m"
        """
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}:5: schedule[1] \"{p}digets\": task: task '{p}digets'")
    assert f"did you mean '{p}digest'?" in problem


def test_unknown_top_level_key_and_duplicate_names(
    folder: Callable[..., tuple[Path, str, str]],
) -> None:
    path, _, p = folder(
        """
        [agentcron]
        tasks = ["{module}"]

        [[schedules]]
        task = "{p}digest"
        trigger = "every 5m"

        [[schedule]]
        task = "{p}digest"
        trigger = "every 5m"

        [[schedule]]
        task = "{p}digest"
        trigger = "every 1h"
        """
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        f"{path}:4: schedules: unknown key (did you mean 'schedule'?)",
        f"{path}:12: schedule[2] \"{p}digest\": name: '{p}digest' is used twice",
    ]


def test_yaml_problems_carry_the_loader_lines(
    folder: Callable[..., tuple[Path, str, str]],
) -> None:
    path, *_ = folder(
        """
        agentcron:
          tasks: ["{module}"]
          concurrency: 0
        schedule:
          - task: "{p}digest"
            trigger: "every 5m"
          - task: "{p}cleanup"
            trigger:
              cron: "0 25 * * *"
            overlap: never
        """,
        ".yml",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [line.split(": ", 1)[0] for line in info.value.problems] == [
        f"{path}:3",
        f"{path}:8",
        f"{path}:10",
    ]
    assert "hour must be 0-23, got 25" in info.value.problems[1]
    assert "concurrency: expected a whole number >= 1, got 0" in info.value.problems[0]


@pytest.mark.parametrize(
    ("suffix", "text", "expected"),
    [
        (".toml", '[agentcron]\ntasks = [\n  "a",\n  oops\n]\n', ":4:3: invalid TOML: "),
        (".yaml", "agentcron:\n  tasks: [a\n  x: 1\n", ":3:4: invalid YAML: "),
    ],
)
def test_syntax_errors_give_line_and_column(
    tmp_path: Path, suffix: str, text: str, expected: str
) -> None:
    path = tmp_path / f"agentcron{suffix}"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}{expected}")


def test_import_error_names_the_module(tmp_path: Path) -> None:
    (tmp_path / "broken_tasks_mod.py").write_text("raise RuntimeError('boom')\n")
    path = tmp_path / "agentcron.toml"
    path.write_text('[agentcron]\ntasks = ["broken_tasks_mod", "no_such_module_x"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        f"{path}:2: [agentcron]: tasks: cannot import module 'broken_tasks_mod': "
        "RuntimeError: boom",
        f"{path}:2: [agentcron]: tasks: cannot import module 'no_such_module_x': "
        "ModuleNotFoundError: "
        "No module named 'no_such_module_x'",
    ]


def test_missing_file_and_declarative_tasks(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")
    path = tmp_path / "agentcron.toml"
    path.write_text('[[task]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        f'{path}:1: task[1] "x": model: required (or set a default model in [agentcron.llm])'
    ]


def test_db_precedence_and_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "agentcron.toml"
    path.write_text('[agentcron]\ndb = "sqlite:////abs/x.db"\n')
    settings = load_settings(path)
    assert resolve_db(None) == DEFAULT_DB
    assert resolve_db(None, settings) == "sqlite:////abs/x.db"
    monkeypatch.setenv("AGENTCRON_DB", "sqlite:///env.db")
    assert resolve_db(None, settings) == "sqlite:///env.db"
    assert resolve_db("sqlite:///flag.db", settings) == "sqlite:///flag.db"

    assert find_config(cwd=tmp_path) == tmp_path / "agentcron.toml"
    assert find_config(cwd=tmp_path / "elsewhere") is None
    monkeypatch.setenv("AGENTCRON_CONFIG", "from-env.yaml")
    assert find_config(cwd=tmp_path) == Path("from-env.yaml")
    assert find_config("given.toml", cwd=tmp_path) == Path("given.toml")


# -- syncing config schedules into the store -------------------------------------------------
def _config_text(p: str, schedules: str) -> str:
    return '[agentcron]\ntasks = ["{module}"]\n' + textwrap.dedent(schedules)


async def test_sync_adds_updates_removes_and_leaves_api_schedules(
    folder: Callable[..., tuple[Path, str, str]], tmp_path: Path
) -> None:
    path, _, p = folder(
        _config_text(
            "",
            """
            [[schedule]]
            name = "a"
            task = "{p}digest"
            trigger = "every 5m"

            [[schedule]]
            name = "b"
            task = "{p}cleanup"
            trigger = "0 3 * * *"
            """,
        )
    )
    db = f"sqlite:///{tmp_path / 'sync.db'}"
    first = load_config(path)
    app = App.from_config(first, db)
    async with app:
        assert await app.sync_schedules(first.schedules) == {
            "added": ["a", "b"], "updated": [], "removed": [], "conflicts": []
        }  # fmt: skip
        api = await app.add_schedule(f"{p}digest", "every 1h", name="made-by-api")

        text = path.read_text().replace('"every 5m"', '"every 10m"')
        path.write_text(text.split('[[schedule]]\nname = "b"')[0])
        second = load_config(path)
        report = await app.sync_schedules(second.schedules)
        assert report == {"added": [], "updated": ["a"], "removed": ["b"], "conflicts": []}

        names = {s.name: s for s in (await app.list_schedules())[0]}
        assert "b" not in names
        assert names["a"].trigger == {"every": "10m"}
        assert names["made-by-api"] == api  # untouched, not even its updated_at
        assert await app.sync_schedules(second.schedules) == {
            "added": [], "updated": [], "removed": [], "conflicts": []
        }  # fmt: skip


async def test_schedule_whose_task_is_gone_is_parked_not_deleted(
    folder: Callable[..., tuple[Path, str, str]], tmp_path: Path
) -> None:
    path, _, p = folder(
        _config_text(
            "",
            """
            [[schedule]]
            name = "a"
            task = "{p}digest"
            trigger = "every 5m"
            """,
        )
    )
    config = load_config(path)
    app = App.from_config(config, f"sqlite:///{tmp_path / 'park.db'}")
    async with app:
        await app.sync_schedules(config.schedules)
        # a scheduler whose code no longer has the task parks the schedule when it starts
        await Scheduler(app.store, _registry_without(f"{p}digest")).run(asyncio.Event(), burst=True)
        (parked,) = [s for s in (await app.list_schedules())[0] if s.name == "a"]
        assert parked.parked
        await app.sync_schedules(config.schedules)  # the config still names it: kept
        (kept,) = [s for s in (await app.list_schedules())[0] if s.name == "a"]
        assert kept.id == parked.id
        assert kept.parked


def _registry_without(name: str) -> TaskRegistry:
    registry = TaskRegistry()

    @registry.task
    def something_else() -> None: ...

    assert name not in registry
    return registry


def test_from_config_takes_the_settings(folder: Callable[..., tuple[Path, str, str]]) -> None:
    path, _, _ = folder(GOOD_TOML)
    config = load_config(path)
    app = App.from_config(config, "sqlite:///override.db")
    assert isinstance(app, App)
    assert app.store.url == "sqlite:///override.db"
    assert (app.concurrency, app.queues, app.timezone) == (8, ["default", "mail"], "Europe/Berlin")
    assert (app.lease, app.shutdown_timeout, app.retention) == (
        timedelta(minutes=1), timedelta(seconds=5), timedelta(days=7)
    )  # fmt: skip
    assert App.from_config(Config()).store.url == DEFAULT_DB
