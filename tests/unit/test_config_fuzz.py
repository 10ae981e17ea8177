"""No config text makes agentcron print a traceback: a table of mutations of a valid config
through ``agentcron validate``, and properties over any YAML data and any TOML lines."""

from __future__ import annotations

import copy
import re
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcron import ConfigError
from agentcron.cli import app as cli_app
from agentcron.config import ENV_VARS, load_config
from agentcron.tasks import default_registry

TASKS = """
import sys
import agentcron

@agentcron.task
def {p}digest(channel: str = "email") -> str:
    return channel

@agentcron.task
def {p}add(a: int, b: int, *, ctx: agentcron.RunContext) -> int:
    return a + b

@agentcron.tool
def {p}lookup(subject: str) -> str:
    return subject
"""

Write = Callable[..., Path]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENTCRON_* from outside; sys.path and the process-wide task registry restored
    after each test, which starts without the tasks other tests registered."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(default_registry, "_tasks", {})


@pytest.fixture
def names() -> dict[str, str]:
    """A fresh task module name and task-name prefix (tasks register process-wide)."""
    tag = uuid.uuid4().hex[:8]
    return {"module": f"cfgp_tasks_{tag}", "p": f"t{tag}_"}


@pytest.fixture
def write(tmp_path: Path, names: dict[str, str]) -> Write:
    """``write(text, suffix=".toml")``: the config file (``{module}`` and ``{p}`` replaced),
    next to a fresh task module."""
    (tmp_path / f"{names['module']}.py").write_text(TASKS.replace("{p}", names["p"]))

    def make(text: str, suffix: str = ".toml") -> Path:
        path = tmp_path / f"agentcron{suffix}"
        text = textwrap.dedent(text).lstrip()
        path.write_text(text.replace("{module}", names["module"]).replace("{p}", names["p"]))
        return path

    return make


# -- no config text makes validate print a traceback -------------------------------------------
VALID = """
    [agentcron]
    tasks = ["{module}"]
    timezone = "Europe/Berlin"
    concurrency = 4
    retention = "7d"

    [agentcron.llm]
    model = "gpt-4o-mini"
    base_url = "http://127.0.0.1:9/v1"

    [[task]]
    name = "grader"
    system = "You grade."
    prompt = "Grade {subject}"
    tools = ["{p}lookup"]

    [[task]]
    name = "youlab"
    on_idle = true
    idle_threshold_minutes = 5
    schedule = "0 */6 * * *"
    agent_types = ["tutor"]
    user_filter = "all"
    batch_size = 10
    system = "You grade."

    [[schedule]]
    name = "digest"
    task = "{p}digest"
    trigger = "0 9 * * 1-5"
    args = { channel = "sms" }
    misfire = "skip"

    [[schedule]]
    name = "adder"
    task = "{p}add"
    trigger = { every = "1h" }
    args = [1, 2]

    [[schedule]]
    name = "grade-each"
    task = "grader"
    trigger = "every 1h"
    for_each_subject = { subjects = "user:*", batch_size = 10 }
    """
WRONG: list[Any] = [None, -1, 1.5, True, "", "nonsense", [1, "x"], {"x": 1}]


def mutations(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each key of each table deleted, misspelled, or given each of `WRONG`."""
    tables: list[tuple[str, dict[str, Any]]] = [("agentcron", data["agentcron"]),
                                                ("llm", data["agentcron"]["llm"])]  # fmt: skip
    tables += [(f"task[{i}]", t) for i, t in enumerate(data["task"])]
    tables += [(f"schedule[{i}]", s) for i, s in enumerate(data["schedule"])]
    for label, table in tables:
        for key in list(table):
            for change, apply in _changes(key):
                changed = copy.deepcopy(data)
                target = _find(changed, label)
                apply(target)
                yield f"{label}.{key}: {change}", changed
    for top in ("agentcron", "task", "schedule"):
        for wrong in WRONG:
            changed = copy.deepcopy(data)
            changed[top] = wrong
            yield f"{top} = {wrong!r}", changed


def _changes(key: str) -> Iterator[tuple[str, Callable[[dict[str, Any]], None]]]:
    yield "deleted", lambda t: t.pop(key)
    yield "misspelled", lambda t: t.update({key[1:] + key[0]: t.pop(key)})
    for wrong in WRONG:
        yield repr(wrong), lambda t, w=wrong: t.update({key: copy.deepcopy(w)})


def _find(data: dict[str, Any], label: str) -> dict[str, Any]:
    if label == "agentcron":
        return data["agentcron"]  # type: ignore[no-any-return]
    if label == "llm":
        return data["agentcron"]["llm"]  # type: ignore[no-any-return]
    kind, index = label.rstrip("]").split("[")
    return data[kind][int(index)]  # type: ignore[no-any-return]


_LINE = re.compile(r"^error: (?P<file>[^:]+)(?::\d+(?::\d+)?)?: \S.*$")


def test_no_mutation_of_a_valid_config_makes_validate_print_a_traceback(
    write: Write, tmp_path: Path
) -> None:
    valid = write(VALID)
    assert len(load_config(valid).schedules) == 6
    data = yaml.safe_load(yaml.safe_dump(__import__("tomllib").loads(valid.read_text())))
    path = tmp_path / "mutated.yaml"
    outcomes = {"valid": 0, "invalid": 0}
    command = typer.main.get_command(cli_app)  # built once: Typer's runner builds it per call
    for change, mutated in mutations(data):
        path.write_text(yaml.safe_dump(mutated, sort_keys=False))
        result = CliRunner().invoke(command, ["validate", str(path)])
        assert result.exit_code in (0, 2), (change, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), change
        assert "Traceback" not in result.output + result.stderr, change
        if result.exit_code == 2:
            outcomes["invalid"] += 1
            lines = result.stderr.splitlines()
            assert lines, change
            for line in lines:
                match = _LINE.match(line)
                assert match, (change, line)
                assert match["file"] == str(path), (change, line)
        else:
            outcomes["valid"] += 1
    assert outcomes["invalid"] > 5 * outcomes["valid"], outcomes


SAFE_TEXT = st.sampled_from(
    ["every 5m", "0 9 * * *", "manual", "idle 5m", "on lesson.done", "after 3 messages", "5m",
     "UTC", "Mars/Olympus", "user:*", "{subject}", "{args.x}", "{event.type}", "x", "",
     "3 per day", "once", "allow", "agent", "graph", "gpt", "http://x", "x" * 300, "@daily",
     "grader", "youlab", "in 1h", "at 2020-01-01T00:00:00Z"]
) | st.text(alphabet=st.characters(blacklist_characters=":"), max_size=12)  # fmt: skip
KEYS = st.sampled_from(
    ["name", "task", "trigger", "timezone", "args", "enabled", "misfire", "retries", "timeout",
     "priority", "queue", "limit", "for_each_subject", "kind", "prompt", "model", "system",
     "tools", "max_steps", "temperature", "on_idle", "idle_threshold_minutes", "schedule",
     "manual", "agent_types", "user_filter", "batch_size", "queries", "db", "concurrency",
     "queues", "retention", "lease", "llm", "every", "cron", "idle", "subjects", "batch_size"]
)  # fmt: skip
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | SAFE_TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(KEYS | st.integers(0, 3) | SAFE_TEXT, inner, max_size=4)
    ),
    max_leaves=15,
)
ENTRIES = st.dictionaries(KEYS, VALUES, max_size=7)
DOCS = st.fixed_dictionaries(
    {},
    optional={
        "agentcron": st.dictionaries(KEYS.filter(lambda k: k != "tasks"), VALUES, max_size=4)
        | VALUES,
        "task": st.lists(ENTRIES, max_size=3) | VALUES,
        "schedule": st.lists(ENTRIES, max_size=3) | VALUES,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(DOCS)
def test_no_config_data_raises_anything_but_config_error(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    path = tmp_path / f"fuzz-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(doc))
    check_loads_or_explains(path)


def check_loads_or_explains(path: Path) -> None:
    """``path`` loads, or fails with `ConfigError` only: lines naming the file, one each."""
    try:
        load_config(path)
    except ConfigError as exc:
        found = exc.problems
    else:
        return
    assert found
    for line in found:
        assert line.startswith(f"{path}"), line
        assert "\n" not in line, line


LINES = [
    "[agentcron]", "[agentcron.llm]", "[[task]]", "[[schedule]]", "[schedule]", "[task.args]",
    'name = "x"', 'task = "t"', 'trigger = "every 5m"', 'trigger = { every = "5m" }',
    "trigger = { cron = 5 }", "args = [1, 2]", "args = { a = 1 }", "for_each_subject = true",
    'model = "m"', "on_idle = true", 'schedule = "0 * * * *"', "schedule = 5", "manual = false",
    'user_filter = "x"', "batch_size = 0", 'prompt = "{subject}"', 'prompt = "{args.x}"',
    'kind = "graph"', 'timezone = "Mars"', "x = 1", "when = 2020-01-01T00:00:00Z",
    'triger = "every 5m"', 'db = "mysql://x"', "concurrency = -1", "name = 5", "a.b.c = 1", "",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(LINES) | st.text(max_size=12), max_size=20))
def test_no_toml_text_raises_anything_but_config_error(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / f"fuzz-{uuid.uuid4().hex[:6]}.toml"
    path.write_text("\n".join(lines))
    check_loads_or_explains(path)
