"""How the command line reads at 80 columns: every ``--help`` whole and plain, tables whose
rows stay one line with their key cells whole, and plurals."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from cli_helpers import Project, cli, isolated, ok, project

from agentcron import App
from agentcron.cli import app as cli_app
from agentcron.clock import utcnow
from agentcron.models import WorkerInfo

__all__ = ["isolated", "project"]

WIDTH = 80


def commands() -> Iterator[tuple[list[str], Any]]:
    """Every command and group of the CLI, with its click object."""
    stack: list[tuple[list[str], Any]] = [([], typer.main.get_command(cli_app))]
    while stack:
        path, command = stack.pop()
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            stack.append(([*path, name], sub))


def written_texts(command: Any) -> list[str]:
    """What the code says in ``--help``: docstring, epilog, each parameter's help."""
    texts = [command.help or "", command.epilog or ""]
    texts += [getattr(param, "help", None) or "" for param in command.params]
    return texts


ALL = sorted(commands(), key=lambda item: item[0])


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) or "-" for p, _ in ALL])
def test_help_renders_whole_and_plain_at_80_columns(path: list[str], command: Any) -> None:
    result = cli(*path, "--help", columns=WIDTH)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert max(len(line) for line in text.splitlines()) <= WIDTH, text
    assert not re.search(r"<[a-z][a-z \[\]]*>", text), text  # no <bool>, <str>, <int range>
    assert "{" not in text.split("\n", 1)[0], text  # usage: TASK, not {TASK}
    flat = " ".join(text.split())
    for written in written_texts(command):
        for bracketed in re.findall(r"\[[^\]\s][^\]]*\]+", written):
            assert " ".join(bracketed.split()) in flat, (bracketed, text)  # not swallowed
    listed = text.split("\nCommands:\n", 1)[1:]
    for line in "".join(listed).split("\n\n", 1)[0].splitlines():
        assert not line.endswith("..."), line  # each command's summary is shown whole


def test_the_texts_that_rich_markup_swallowed_are_shown() -> None:
    assert "a [[task]] sets base_url" in " ".join(cli("--help", columns=WIDTH).stdout.split())
    usage = cli("validate", "--help", columns=WIDTH).stdout.splitlines()[0]
    assert usage == "Usage: agentcron validate [OPTIONS] [FILE]"
    enqueue = cli("runs", "enqueue", "--help", columns=WIDTH).stdout
    assert enqueue.startswith("Usage: agentcron runs enqueue [OPTIONS] TASK\n")
    assert "  --args JSON" in enqueue
    assert "  --burst  " in cli("worker", "--help", columns=WIDTH).stdout


LONG_SCHEDULE = "weekly-enterprise-customer-digest"
LONG_TASK = "send_enterprise_digest"


async def _fill(db: str) -> None:
    app = App(db)

    @app.task(name=LONG_TASK)
    def digest(channel: str = "email") -> None: ...

    async with app:
        await app.record_activity("user:0000001")
        await app.add_schedule(
            LONG_TASK, "every weekday at 9am", name=LONG_SCHEDULE, timezone="Europe/Berlin",
            description="Sends the weekly digest of every enterprise customer, with a summary "
            "of what changed since the previous one",
        )  # fmt: skip
        await app.trigger(LONG_SCHEDULE)
        for _ in range(2):
            await app.enqueue(LONG_TASK, subject="user:0000001", delay="1h")
        now = utcnow()
        await app.store.register_worker(
            WorkerInfo(id="host-with-a-long-name.example.com:123456:abcdef",
                       host="host-with-a-long-name.example.com", pid=123456,
                       queues=["default", "emails", "reports"], concurrency=32, running=3,
                       started_at=now, last_heartbeat_at=now)
        )  # fmt: skip
        await app.create_token(scope="admin", namespaces=["default", "tenant-b"],
                               name="the operations team's deploy pipeline")  # fmt: skip


TABLES = [
    pytest.param(["schedules", "list"], 3, [LONG_SCHEDULE, LONG_TASK, "enabled"], id="schedules"),
    pytest.param(["runs", "list"], 3, [LONG_TASK, "queued", "user:0000001"], id="runs"),
    pytest.param(["workers"], 1, ["host-with-a-long-name.example.com:123456:abcdef"], id="workers"),
    pytest.param(["tokens", "list"], 1, ["admin", "active"], id="tokens"),
    pytest.param(["stats"], None, ["runs queued", "schedules enabled"], id="stats"),
]


@pytest.mark.parametrize(("args", "rows", "keys"), TABLES)
def test_tables_keep_one_line_per_row_at_80_columns(
    project: Project, args: list[str], rows: int | None, keys: list[str]
) -> None:
    asyncio.run(_fill(project.db))
    for width in (WIDTH, 120):
        text = cli(*args, "--db", project.db, columns=width).stdout
        lines = text.rstrip("\n").splitlines()
        assert max(len(line) for line in lines) <= width, text
        if rows is not None:
            assert len(lines) == 1 + rows, text  # a header, then one line per row
        for key in keys:
            assert any(key in line for line in lines), (key, text)  # whole, on one line


def test_plurals(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    assert ok("validate", project.config).stdout.endswith(": 0 schedules; task modules: "
                                                           + project.config.read_text()
                                                           .split('"')[1] + "\n")  # fmt: skip
    ok("schedules", "add", "cli_echo", "--trigger", "every 1h", "--name", "h", *db, *cfg)
    backfilled = ok("schedules", "backfill", "h", "--from", "2026-01-01T00:00Z",
                    "--to", "2026-01-01T00:30Z", *db).stdout  # fmt: skip
    assert backfilled == "backfilled h: 0 slots, 0 runs queued, 0 already had one\n"
    backfilled = ok("schedules", "backfill", "h", "--from", "2026-01-01T00:00Z",
                    "--to", "2026-01-01T01:00Z", *db).stdout  # fmt: skip
    assert backfilled.startswith("backfilled h: 1 slot, 1 run queued, 0 already")


def test_a_command_without_metavars_still_reads_plainly() -> None:
    """What a command added later gets from `Command` alone: no type placeholders."""
    from typer.testing import CliRunner

    from agentcron.cli._help import Command

    demo = typer.Typer(rich_markup_mode=None, add_completion=False)

    @demo.command(cls=Command)
    def go(
        target: str,
        count: int = typer.Option(3, min=1, help="How many [at most]."),
        fast: bool = typer.Option(False, "--fast", help="Hurry."),
        label: str | None = typer.Argument(None),
    ) -> None:
        """Do it."""

    text = CliRunner().invoke(demo, ["--help"], env={"COLUMNS": str(WIDTH)}).stdout
    assert text.splitlines()[0] == "Usage: go [OPTIONS] TARGET [LABEL]"
    assert re.search(r"\n  --count COUNT +How many \[at most\]\.  \[default: 3; x>=1\]\n", text)
    assert re.search(r"\n  --fast +Hurry\.\n", text)
    assert re.search(r"\nArguments:\n  TARGET\n  LABEL\n", text), text
    assert "<" not in text
