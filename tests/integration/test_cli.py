"""The ``agentcron`` command line: Typer's CliRunner in process, real subprocesses for the
long-running commands (serve, worker). Every test uses its own SQLite file."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import (  # fixtures too: examples, isolated, project
    REPO,
    Project,
    agentcron,
    bad,
    clean_env,
    cli,
    data,
    dump,
    examples,
    free_port,
    isolated,
    ok,
    project,
    wait_until,
)

__all__ = ["examples", "isolated", "project"]


# -- parse -------------------------------------------------------------------------------------
def test_parse_json_across_spring_forward() -> None:
    out = data(
        "parse", "30 2 * * *", "--tz", "Europe/Berlin", "--after", "2026-03-28T00:00:00Z",
        "--count", "3",
    )  # fmt: skip
    assert out == {
        "trigger": {"cron": "30 2 * * *", "timezone": "Europe/Berlin"},
        "description": out["description"],
        "next": ["2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z",
                 "2026-03-30T00:30:00.000Z"],
        "source": "grammar",
    }  # fmt: skip
    assert isinstance(out["description"], str)
    assert "02:30" in out["description"]


def test_parse_for_people_shows_times_in_the_zone() -> None:
    text = ok("parse", "every 90m", "--after", "2026-01-01T10:00:00+01:00", "--count", "2").stdout
    assert '{"every": "1h30m"}' in text
    assert "2026-01-01 10:30:00 UTC" in text
    assert "2026-01-01 12:00:00 UTC" in text
    berlin = ok("parse", "0 9 * * *", "--tz", "Europe/Berlin", "--after", "2026-07-01T00:00Z")
    assert "2026-07-01 09:00:00 CEST" in berlin.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["61 * * * *"], "error: trigger: cron: "),
        (["blah"], "error: trigger: could not read"),
        (["0 9 * * *", "--tz", "Mars/Olympus"], "error: timezone: unknown time zone"),
        (["0 9 * * *", "--after", "tomorrow-ish"], "error: after: not an ISO 8601 time"),
    ],
)
def test_parse_bad_input(args: list[str], field: str) -> None:
    assert bad("parse", *args).startswith(field)


# -- schedules -----------------------------------------------------------------------------------
def test_schedules_add_list_show_pause_resume_trigger_rm(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    added = data("schedules", "add", "cli_echo", "--trigger", "0 9 * * 1-5", "--name", "digest",
                 "--args", '{"value": 42}', "--timezone", "Europe/Berlin", "--misfire", "skip",
                 "--overlap", "allow", "--retries", "2", "--timeout", "30s", *db, *cfg)  # fmt: skip
    assert added["trigger"] == {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
    assert (added["args"], added["misfire"], added["overlap"]) == ({"value": 42}, "skip", "allow")
    assert (added["retries"], added["timeout"], added["source"]) == (2, 30.0, "api")
    assert added["next_run_at"] is not None
    assert added["enabled"]

    listed = data("schedules", "list", *db)
    assert [s["name"] for s in listed["items"]] == ["digest"]
    assert listed["next_cursor"] is None
    table = ok("schedules", "list", *db).stdout
    assert "digest" in table
    assert "cli_echo" in table
    assert "enabled" in table
    assert "api" in table

    by_id = data("schedules", "show", added["id"], *db)
    assert by_id["name"] == "digest"
    assert len(by_id["next"]) == 5
    assert "upcoming" in ok("schedules", "show", "digest", *db).stdout

    paused = data("schedules", "pause", "digest", *db)
    assert not paused["enabled"]
    assert paused["next_run_at"] is None
    assert "paused" in ok("schedules", "list", *db).stdout
    resumed = data("schedules", "resume", added["id"], *db)
    assert resumed["enabled"]
    assert resumed["next_run_at"] is not None

    run = data("schedules", "trigger", "digest", *db)
    assert (run["task"], run["status"], run["args"]) == ("cli_echo", "queued", {"value": 42})
    assert run["schedule_id"] == added["id"]

    assert "removed schedule digest" in ok("schedules", "rm", "digest", *db).stdout
    assert data("schedules", "list", *db)["items"] == []
    assert data("runs", "show", run["id"], *db)["id"] == run["id"]  # history stays


def test_bad_input_exits_2_with_one_line_and_stores_nothing(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    ok("schedules", "add", "cli_echo", "--trigger", "manual", "--name", "first", *db, *cfg)
    before = dump(project.db_path)
    add = ("schedules", "add", "cli_echo", "--name", "second")
    cases = {
        "error: trigger: cron: ": [*add, "--trigger", "61 * * * *", *cfg],
        "error: task: task 'no_such_task' is not registered": [
            "schedules", "add", "no_such_task", "--trigger", "every 5m", *cfg],
        "error: args: not valid JSON": [*add, "--trigger", "every 5m", "--args", "{x", *cfg],
        "error: args: must be a JSON object": [*add, "--trigger", "every 5m", "--args", "5"],
        "error: args: do not fit cli_echo(value=None): got an unexpected keyword argument "
        "'valu' (did you mean 'value'?)": [
            *add, "--trigger", "every 5m", "--args", '{"valu": 1}', *cfg],
        "error: args: do not fit cli_echo(value=None): too many positional arguments": [
            *add, "--trigger", "every 5m", "--args", "[1, 2]", *cfg],
        "error: timezone: unknown time zone": [
            *add, "--trigger", "0 9 * * *", "--timezone", "Nowhere/Land", *cfg],
        "error: misfire: 'never' is not one of": [
            *add, "--trigger", "every 5m", "--misfire", "never", *cfg],
        "error: name: schedule 'first' already exists": [
            "schedules", "add", "cli_echo", "--trigger", "every 5m", "--name", "first", *cfg],
        "error: schedule: schedule 'ghost' not found": ["schedules", "show", "ghost"],
        "error: schedule: schedule 'ghost2' not found": ["schedules", "pause", "ghost2"],
        "error: schedule: schedule 'ghost3' not found": ["schedules", "rm", "ghost3"],
        "error: schedule: schedule 'ghost4' not found": ["schedules", "trigger", "ghost4"],
        "error: run: run 999 not found": ["runs", "show", "999"],
        "error: run: 'abc' is not a run id": ["runs", "cancel", "abc"],
        "error: run: run 998 not found": ["runs", "retry", "998"],
        "error: status: 'bogus' is not one of": ["runs", "list", "--status", "bogus"],
        "error: schedule: schedule 'ghost5' not found": ["runs", "list", "--schedule", "ghost5"],
    }  # fmt: skip
    for expected, args in cases.items():
        assert bad(*args, *db).startswith(expected), args
    assert dump(project.db_path) == before


def test_add_needs_a_known_task_then_a_worker_burst_runs_the_queue(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    # in a fresh process (this one imported the task modules of other tests), in a folder
    # without ./agentcron.toml (that would be found and its modules imported)
    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    unknown = agentcron("schedules", "add", "cli_echo", "--trigger", "manual", *db,
                        cwd=elsewhere)  # fmt: skip
    assert unknown.returncode == 2
    assert unknown.stderr == "error: task: task 'cli_echo' is not registered\n"
    ok("schedules", "add", "cli_echo", "--trigger", "manual", "--name", "echo",
       "--args", '{"value": "hi"}', *db, *cfg)  # fmt: skip
    ok("schedules", "add", "cli_fail", "--trigger", "manual", *db, *cfg)
    runs = [data("schedules", "trigger", name, *db)["id"] for name in ("echo", "echo", "cli_fail")]

    done = agentcron("worker", "--burst", *db, *cfg, "--log-level", "WARNING", cwd=project.root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("agentcron worker: db ")

    echo1, echo2, failed = (data("runs", "show", run_id, *db) for run_id in runs)
    assert [echo1["status"], echo2["status"], failed["status"]] == ["succeeded"] * 2 + ["failed"]
    assert echo1["result"] == "hi"
    assert failed["error"]["type"] == "PermanentError"
    # the worker registered its tasks: a task can now be named without the config
    known = agentcron("schedules", "add", "cli_slow", "--trigger", "every 1h", *db,
                      cwd=elsewhere)  # fmt: skip
    assert known.returncode == 0, known.stderr


def test_runs_list_show_cancel_retry(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    ok("schedules", "add", "cli_echo", "--trigger", "manual", "--name", "e", *db, *cfg)
    ok("schedules", "add", "cli_slow", "--trigger", "manual", "--name", "s", *db, *cfg)
    first = data("schedules", "trigger", "e", *db)
    second = data("schedules", "trigger", "s", *db)

    listed = data("runs", "list", *db)
    assert [r["id"] for r in listed["items"]] == [second["id"], first["id"]]  # newest first
    assert [r["id"] for r in data("runs", "list", "--task", "cli_echo", *db)["items"]] == [
        first["id"]
    ]
    assert [r["id"] for r in data("runs", "list", "--schedule", "s", *db)["items"]] == [
        second["id"]
    ]
    assert len(data("runs", "list", "--limit", "1", *db)["items"]) == 1
    table = ok("runs", "list", *db).stdout
    assert "cli_slow" in table
    assert "queued" in table

    cancelled = data("runs", "cancel", first["id"], *db)
    assert cancelled["status"] == "cancelled"
    assert [r["id"] for r in data("runs", "list", "--status", "cancelled", *db)["items"]] == [
        first["id"]
    ]
    assert bad("runs", "cancel", first["id"], *db).startswith("error: run: run ")
    retried = data("runs", "retry", first["id"], *db)
    assert retried["status"] == "queued"
    shown = ok("runs", "show", first["id"], *db).stdout
    assert "cli_echo" in shown
    assert "queued" in shown


# -- validate, stats, workers, db ------------------------------------------------------------
def test_validate_reports_every_problem(project: Project) -> None:
    good = ok("validate", project.config).stdout
    assert good.startswith(f"ok: {project.config}: 0 schedules")
    text = project.config.read_text() + (
        'concurency = 2\n\n[[schedule]]\ntask = "cli_echo"\ntrigger = "every 0s"\n'
        'misfire = "later"\n\n[[schedule]]\ntask = "cli_ecko"\ntrigger = "manual"\n'
    )
    project.config.write_text(text)
    result = cli("validate", project.config)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {project.config}:3: [agentcron]: concurency: unknown key "
        "(did you mean 'concurrency'?)",
        f'error: {project.config}:7: schedule[1] "cli_echo": trigger: every: interval must be '
        "greater than 0",
        f"error: {project.config}:8: schedule[1] \"cli_echo\": misfire: 'later' is not one of: "
        "once, skip, all",
        f"error: {project.config}:11: schedule[2] \"cli_ecko\": task: task 'cli_ecko' is not "
        "registered (is its module in [agentcron] tasks?); did you mean 'cli_echo'?",
    ]
    as_json = cli("validate", project.config, "--json")
    assert as_json.exit_code == 2
    assert len(json.loads(as_json.stdout)["problems"]) == 4


def test_validate_example_config_and_missing_file(tmp_path: Path) -> None:
    out = data("validate", REPO / "examples" / "agentcron.toml")
    assert out["ok"]
    assert out["schedules"] == ["heartbeat", "folder-summary", "fetch"]
    assert bad("validate", tmp_path / "nope.toml") == (
        f"error: {tmp_path / 'nope.toml'}: cannot read the config file: no such file"
    )


def test_stats_workers_and_db_upgrade(project: Project) -> None:
    db = ("--db", project.db)
    assert ok("db", "upgrade", *db).stdout.startswith("applied 0001_initial, ")
    assert ok("db", "upgrade", *db).stdout.startswith("up to date (schema ")
    ok("schedules", "add", "cli_echo", "--trigger", "manual", *db, "--config", project.config)
    ok("schedules", "trigger", "cli_echo", *db)
    stats = data("stats", *db)
    assert stats["runs"] == {"queued": 1}
    assert stats["schedules"] == 1
    assert stats["workers"] == 0
    assert stats["oldest_queued_at"].endswith("Z")
    assert "runs queued" in ok("stats", *db).stdout
    assert data("workers", *db) == {"items": []}
    assert "no workers" in ok("workers", *db).stdout


def test_db_and_config_before_the_command_and_discovered_config(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("--db", project.db, "--config", project.config, "schedules", "add", "cli_echo",
       "--trigger", "manual")  # fmt: skip
    monkeypatch.setenv("AGENTCRON_DB", project.db)
    assert [s["name"] for s in data("schedules", "list")["items"]] == ["cli_echo"]
    monkeypatch.delenv("AGENTCRON_DB")
    # ./agentcron.toml is found; its relative db is relative to the file
    project.config.write_text(project.config.read_text() + 'db = "sqlite:///agentcron.db"\n')
    monkeypatch.chdir(project.root)
    assert [s["name"] for s in data("schedules", "list")["items"]] == ["cli_echo"]


def test_foreign_sqlite_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "users.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ada')")
        conn.commit()
    original = path.read_bytes()
    url = f"sqlite:///{path}"
    done = agentcron("schedules", "list", "--db", url, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("error: db: ")
    assert "another application" in done.stderr
    for args in (["stats"], ["db", "upgrade"], ["serve"], ["runs", "list"]):
        assert bad(*args, "--db", url).startswith("error: db: ")
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.db"]


# -- serve ---------------------------------------------------------------------------------------
def test_serve_the_example_then_stop_gracefully_on_sigterm(examples: Path) -> None:
    db = f"sqlite:///{examples.parent / 'serve.db'}"
    log_path = examples.parent / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentcron", "serve", "--config", "examples/agentcron.toml",
             "--db", db, "--port", str(free_port())],
            cwd=examples.parent, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        banner = wait_until(
            lambda: "scheduler started" in log_path.read_text() and log_path.read_text(), 20,
            "serve to start",
        )  # fmt: skip
        config = (examples / "agentcron.toml").resolve()
        assert (
            f"agentcron serve: db {db}; config {config} (3 added); "
            "3 tasks (call_url, summarise_folder, write_line); 3 schedules\n"
        ) in banner
        ok("schedules", "trigger", "heartbeat", "--db", db)  # no need to wait 10s for it
        heartbeat = examples / "out" / "heartbeat.log"
        wait_until(lambda: heartbeat.exists() and heartbeat.read_text(), 15, "heartbeat.log")
        assert "still here (run " in heartbeat.read_text()
        (worker,) = data("workers", "--db", db)["items"]
        assert worker["pid"] == proc.pid
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log_path.read_text()
    assert "stopping" in text
    assert "Traceback" not in text
    names = {s["name"]: s for s in data("schedules", "list", "--db", db)["items"]}
    assert {"heartbeat", "folder-summary", "fetch"} <= set(names)
    assert names["fetch"]["next_run_at"] is None
    assert names["heartbeat"]["source"] == "config"


SLOW_IMPORT = """
import pathlib, time
import agentcron

here = pathlib.Path(__file__).parent
(here / "importing").touch()
deadline = time.monotonic() + 20
while not (here / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.01)

@agentcron.task
def slow_import_task() -> None: ...
"""


def test_sigterm_during_start_up_exits_0_without_starting(tmp_path: Path) -> None:
    (tmp_path / "slow_import_tasks.py").write_text(SLOW_IMPORT)
    (tmp_path / "agentcron.toml").write_text('[agentcron]\ntasks = ["slow_import_tasks"]\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcron", "worker", "--db", f"sqlite:///{tmp_path / 'w.db'}"],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until((tmp_path / "importing").exists, 20, "the task module import")
        proc.send_signal(signal.SIGTERM)  # while the config's task module is being imported
        (tmp_path / "go").touch()
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped before starting" in err
    assert "worker started" not in err


def test_health_reports_the_store_and_exits_by_status(tmp_path: Path) -> None:
    db = ("--db", f"sqlite:///{tmp_path / 'agentcron.db'}")
    assert bad("health", *db).startswith("error: db: no agentcron database at ")
    ok("db", "upgrade", *db)
    assert ok("health", *db).stdout.strip() == "healthy"
    report = data("health", *db)
    assert report["status"] == "healthy"
    assert report["checks"]["store"]["ok"] is True
    assert {"workers", "failures", "queue"} <= set(report["checks"])
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database at all" * 100)
    result = cli("health", "--db", f"sqlite:///{broken}")
    assert result.exit_code == 2
    assert broken.read_bytes() == b"not a database at all" * 100


def test_schedules_add_takes_metadata_and_thread_id(project: Project) -> None:
    db, cfg = ("--db", project.db), ("--config", project.config)
    meta = ("--metadata", '{"team": "growth"}', "--thread-id", "room")
    added = data("schedules", "add", "cli_echo", "--trigger", "every morning at 8", "--name",
                 "m", *meta, *db, *cfg)  # fmt: skip
    assert (added["metadata"], added["thread_id"]) == ({"team": "growth"}, "room")
    assert added["trigger"] == {"cron": "0 8 * * *", "timezone": "UTC"}
    assert "metadata: not valid JSON" in bad("schedules", "add", "cli_echo", "--trigger",
                                             "manual", "--metadata", "{", *db, *cfg)  # fmt: skip
    assert "metadata: must be a JSON object" in bad(
        "schedules", "add", "cli_echo", "--trigger", "manual", "--name", "x", "--metadata", "[1]",
        *db, *cfg,
    )  # fmt: skip
