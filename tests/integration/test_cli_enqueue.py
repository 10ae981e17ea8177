"""One-off runs from the command line: ``runs enqueue`` and ``schedules trigger --args``, and
the fan-out of a ``for_each_subject`` schedule's trigger."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import (  # fixtures too: examples, isolated, project
    Project,
    agentcron,
    bad,
    data,
    dump,
    examples,
    isolated,
    ok,
    project,
)

from agentcron import App

__all__ = ["examples", "isolated", "project"]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_runs_enqueue_prints_the_run(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    run = data("runs", "enqueue", "cli_echo", "--args", '{"value": 7}', "--subject", "user:1",
               "--delay", "30s", *db, *cfg)  # fmt: skip
    assert (run["task"], run["status"], run["args"], run["subject"]) == (
        "cli_echo", "queued", {"value": 7}, "user:1",
    )  # fmt: skip
    waited = when(run["available_at"]) - when(run["queued_at"])
    assert timedelta(seconds=29) < waited <= timedelta(seconds=30)
    shown = ok("runs", "enqueue", "cli_echo", *db, *cfg).stdout
    assert shown.startswith(f"queued run {run['id'] + 1} of cli_echo\n")
    assert "cli_echo" in shown
    assert "queued" in shown
    assert [r["id"] for r in data("runs", "list", *db)["items"]] == [run["id"] + 1, run["id"]]


def test_runs_enqueue_refuses_bad_input_and_stores_nothing(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    ok("runs", "enqueue", "cli_echo", *db, *cfg)
    before = dump(project.db_path)
    cases = {
        "error: task: task 'cli_ecco' is not registered; did you mean 'cli_echo'?": [
            "cli_ecco"],
        "error: task: task 'nothing_like_it' is not registered": ["nothing_like_it"],
        "error: args: not valid JSON": ["cli_echo", "--args", "{value: 1}"],
        "error: args: must be a JSON object": ["cli_echo", "--args", "5"],
        "error: delay: ": ["cli_echo", "--delay", "soonish"],
        "error: subject: ": ["cli_echo", "--subject", ""],
    }  # fmt: skip
    for expected, args in cases.items():
        assert bad("runs", "enqueue", *args, *db, *cfg).startswith(expected), args
    assert bad("runs", "enqueue", "nothing_like_it", *db, *cfg).endswith("registered")
    assert dump(project.db_path) == before


def test_a_task_a_worker_registered_needs_no_config(project: Project) -> None:
    """In a fresh process without the config, the task is known from the database (a worker
    registered it), with a suggestion for a typo."""
    db = ("--db", project.db)
    done = agentcron("worker", "--burst", *db, "--config", project.config, cwd=project.root)
    assert done.returncode == 0, done.stderr
    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    queued = agentcron("runs", "enqueue", "cli_slow", "--args", '{"ms": 1}', *db, cwd=elsewhere)
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.startswith("queued run 1 of cli_slow\n")
    typo = agentcron("runs", "enqueue", "cli_slo", *db, cwd=elsewhere)
    assert (typo.returncode, typo.stderr) == (
        2, "error: task: task 'cli_slo' is not registered; did you mean 'cli_slow'?\n",
    )  # fmt: skip


def test_schedules_trigger_args_are_for_this_run_only(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    ok("schedules", "add", "cli_echo", "--trigger", "manual", "--name", "echo",
       "--args", '{"value": "scheduled"}', *db, *cfg)  # fmt: skip
    run = data("schedules", "trigger", "echo", "--args", '{"value": "once"}', *db)
    assert run["args"] == {"value": "once"}
    assert data("schedules", "trigger", "echo", *db)["args"] == {"value": "scheduled"}
    assert data("schedules", "show", "echo", *db)["args"] == {"value": "scheduled"}
    assert (
        ok("schedules", "trigger", "echo", *db).stdout
        == f"queued run {run['id'] + 2} of cli_echo\n"
    )
    before = dump(project.db_path)
    assert bad("schedules", "trigger", "echo", "--args", "{", *db).startswith(
        "error: args: not valid JSON"
    )
    assert dump(project.db_path) == before


async def _subjects(db: str, *names: str) -> None:
    async with App(db, maintenance=False) as app:
        for name in names:
            await app.record_activity(name)


def test_trigger_of_a_fan_out_schedule_says_how_many_runs(project: Project) -> None:
    db = ("--db", project.db)
    ok("db", "upgrade", *db)
    asyncio.run(_subjects(project.db, "user:1", "user:2", "user:3", "team:1"))
    _add_fan_out(project)
    assert ok("schedules", "trigger", "grade", *db).stdout == "queued 3 runs (one per subject)\n"
    asyncio.run(_subjects(project.db, "user:4"))
    assert ok("schedules", "trigger", "grade", *db).stdout == (
        "queued 1 run (one per subject); 3 runs skipped (over the schedule's limit)\n"
    )
    out = data("schedules", "trigger", "grade", "--args", '{"value": 9}', *db)
    assert (out["queued"], out["skipped"], len(out["runs"])) == (0, 4, 4)
    assert {r["args"]["value"] for r in out["runs"]} == {9}
    runs = data("runs", "list", "--schedule", "grade", "--limit", "100", *db)["items"]
    assert len(runs) == 11
    assert sorted({r["subject"] for r in runs}) == ["user:1", "user:2", "user:3", "user:4"]


def _add_fan_out(project: Project) -> None:
    async def add() -> None:
        async with App(project.db, maintenance=False) as app:

            @app.task(name="cli_echo")
            def stand_in(value: object = None) -> object:
                return value

            await app.add_schedule(
                "cli_echo", "manual", name="grade", for_each_subject="user:*", limit="1 per day"
            )

    asyncio.run(add())


def test_a_fan_out_with_no_subject_says_so(project: Project) -> None:
    db = ("--db", project.db)
    ok("db", "upgrade", *db)
    _add_fan_out(project)
    assert ok("schedules", "trigger", "grade", *db).stdout == (
        "queued 0 runs (one per subject); no subject matches the schedule's filter\n"
    )


@pytest.fixture
def site() -> Iterator[str]:
    """A local HTTP server answering 200 to every GET: what the example's call_url fetches."""

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"hello from the test"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/page"
    finally:
        server.shutdown()
        server.server_close()


def test_the_example_fetch_with_args_as_its_docstring_says(examples: Path, site: str) -> None:
    """``call_url`` promises: trigger it with ``--args '{"url": ...}'``."""
    cfg = ("--config", examples / "agentcron.toml")
    ok("db", "upgrade", *cfg)
    _sync_config(examples)
    run = data("schedules", "trigger", "fetch", "--args", f'{{"url": "{site}"}}', *cfg)
    worker = agentcron("worker", "--burst", *cfg, "--log-level", "WARNING", cwd=examples.parent)
    assert worker.returncode == 0, worker.stderr
    fetched = data("runs", "show", run["id"], *cfg)
    assert fetched["status"] == "succeeded", fetched
    assert fetched["result"] == {"url": site, "status": 200, "bytes": 19}


def _sync_config(examples: Path) -> None:
    """Store the example config's schedules, as serve and scheduler do on start."""
    from agentcron.config import load_config

    async def sync() -> None:
        config = load_config(examples / "agentcron.toml")
        async with App.from_config(config) as app:
            await app.sync_schedules(config.schedules)

    asyncio.run(sync())
