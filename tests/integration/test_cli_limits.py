"""Limits found by probing, at the command line: bad input exits 2 with one line naming the
field, and nothing is stored."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from cli_helpers import TASKS_SOURCE, bad, data, dump, isolated, ok

__all__ = ["isolated"]  # an autouse fixture: no AGENTCRON_* variable from outside


def project(tmp_path: Path, settings: str = "") -> tuple[Path, Path]:
    """A config naming a fresh task module (with ``settings``), and its database file."""
    module = f"cli_tasks_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(TASKS_SOURCE)
    config = tmp_path / "agentcron.toml"
    config.write_text(f'[agentcron]\ntasks = ["{module}"]\n{settings}')
    return config, tmp_path / "agentcron.db"


@pytest.mark.parametrize("text", ["every 1ms", "every 500ms", "interval:0.5"])
def test_parse_refuses_a_sub_second_interval(text: str) -> None:
    assert bad("parse", text).startswith("error: trigger: every: interval must be at least 1s")


def test_schedules_add_refuses_a_jitter_longer_than_the_interval(tmp_path: Path) -> None:
    config, path = project(tmp_path)
    db = f"sqlite:///{path}"
    ok("schedules", "add", "cli_echo", "--trigger", "manual", "--db", db, "--config", config)
    before = dump(path)
    line = bad("schedules", "add", "cli_echo", "--trigger", "every 1m jitter 2m", "--name",
               "jittery", "--db", db, "--config", config)  # fmt: skip
    assert line == (
        "error: trigger: jitter: must not be longer than the interval (1m): a run would start "
        "after the next slot"
    )
    assert dump(path) == before


def test_validate_names_jitter_longer_than_the_period(tmp_path: Path) -> None:
    config, _ = project(tmp_path)
    config.write_text(config.read_text() + (
        '\n[[schedule]]\ntask = "cli_echo"\ntrigger = "*/5 * * * *"\njitter = "10m"\n'
    ))  # fmt: skip
    line = bad("validate", config)
    assert line.endswith(
        'schedule[1] "cli_echo": jitter: 10m is longer than the trigger\'s period (5m): a run '
        "would start after the next slot"
    )


def test_max_schedules_in_the_config_limits_schedules_add(tmp_path: Path) -> None:
    config, path = project(tmp_path, "max_schedules = 1\n")
    db = f"sqlite:///{path}"
    args = ("--db", db, "--config", config)
    ok("schedules", "add", "cli_echo", "--trigger", "manual", "--name", "one", *args)
    line = bad("schedules", "add", "cli_echo", "--trigger", "manual", "--name", "two", *args)
    assert line.startswith("error: conflict: namespace 'default' already holds 1 schedules")
    assert [s["name"] for s in data("schedules", "list", "--db", db)["items"]] == ["one"]


def test_max_schedules_must_be_a_whole_number_or_false(tmp_path: Path) -> None:
    config, _ = project(tmp_path, 'max_schedules = "lots"\n')
    assert "max_schedules: expected a whole number >= 1" in bad("validate", config)
    config, _ = project(tmp_path, "max_schedules = false\n")
    ok("validate", config)


def test_a_queue_name_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    """``$`` matched before a final newline, so ``"bulk\\n"`` passed for a name."""
    config, path = project(tmp_path, 'queues = ["default", "bulk\\n"]\n')
    assert "queues: 'bulk\\n' is not a valid name" in bad("validate", config)
    line = bad("worker", "--burst", "--db", f"sqlite:///{path}", "--config", config)
    assert "queues: 'bulk\\n' is not a valid name" in line
