"""Which database a command uses: ``--db``, ``AGENTCRON_DB``, ``--config``,
``AGENTCRON_CONFIG``, ``./agentcron.toml``, the default; the server and the CLI agree on it;
a command that only reads never creates a database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import (  # fixtures too: examples, isolated, project
    Project,
    agentcron,
    bad,
    cli,
    data,
    examples,
    isolated,
    ok,
    project,
    serving,
)

__all__ = ["examples", "isolated", "project"]

NO_DB = (
    "error: db: no agentcron database at {path} (start `agentcron serve` or run "
    "`agentcron db upgrade` to create one)"
)


def names(*args: str) -> list[str]:
    return [s["name"] for s in data("schedules", "list", *args)["items"]]


def test_serve_and_every_command_use_the_config_s_database(
    examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = examples.parent
    db = examples / "agentcron.db"  # the config's relative db: next to the config file
    config = "examples/agentcron.toml"
    with serving("--config", config, cwd=root) as (_, log):
        banner = log.read_text()
        assert (
            f"agentcron serve: db sqlite:///{db}; config {examples / 'agentcron.toml'} "
            "(3 added); 3 tasks (call_url, summarise_folder, write_line); 3 schedules\n"
        ) in banner
        monkeypatch.chdir(root)
        expected = names("--db", f"sqlite:///{db}")
        assert {"heartbeat", "folder-summary", "fetch"} <= set(expected)
        assert names("--config", config) == expected
        assert data("--config", config, "runs", "list")["items"] is not None
        monkeypatch.setenv("AGENTCRON_CONFIG", config)
        assert names() == expected
        monkeypatch.delenv("AGENTCRON_CONFIG")
        monkeypatch.chdir(examples)  # ./agentcron.toml is found
        assert names() == expected
        monkeypatch.chdir(root)  # no config here: the default, which does not exist
        assert bad("schedules", "list") == NO_DB.format(path=root / "agentcron.db")
    assert not (root / "agentcron.db").exists()


def test_the_order_in_which_the_database_is_found(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each source, once the ones before it are gone, picks its own database (each holds one
    schedule named after it)."""
    root = project.root
    configs = {
        "config-flag": root / "flag.toml",
        "config-env": root / "env.toml",
        "config-cwd": root / "agentcron.toml",
        "no-db-key": root / "sub" / "agentcron.yaml",
    }
    module = project.config.read_text().split('"')[1]
    for name, path in configs.items():
        path.parent.mkdir(exist_ok=True)
        db_line = "" if name == "no-db-key" else f'db = "sqlite:///{name}.db"\n'
        if path.suffix == ".yaml":
            path.write_text(f"agentcron:\n  tasks: [{module}]\n")
        else:
            path.write_text(f'[agentcron]\n{db_line}tasks = ["{module}"]\n')
    sources = {
        "db-flag": ["--db", f"sqlite:///{root / 'db-flag.db'}"],
        "db-env": ["--db", f"sqlite:///{root / 'db-env.db'}"],
        "default": ["--db", f"sqlite:///{root / 'elsewhere' / 'agentcron.db'}"],
        **{name: ["--config", str(path)] for name, path in configs.items()},
    }
    (root / "elsewhere").mkdir()
    for name, where in sources.items():
        tasks = ["--config", str(project.config)] if where[0] == "--db" else []
        ok("schedules", "add", "cli_echo", "--trigger", "manual", "--name", name, *where, *tasks)
    assert (root / "sub" / "agentcron.db").exists()  # no db key: next to its config file

    monkeypatch.chdir(root)
    monkeypatch.setenv("AGENTCRON_DB", f"sqlite:///{root / 'db-env.db'}")
    monkeypatch.setenv("AGENTCRON_CONFIG", str(configs["config-env"]))
    flags = ["--db", f"sqlite:///{root / 'db-flag.db'}", "--config", str(configs["config-flag"])]
    assert names(*flags) == ["db-flag"]
    assert names(*flags[2:]) == ["db-env"]
    monkeypatch.delenv("AGENTCRON_DB")
    assert names(*flags[2:]) == ["config-flag"]
    assert names() == ["config-env"]
    monkeypatch.delenv("AGENTCRON_CONFIG")
    assert names() == ["config-cwd"]
    monkeypatch.chdir(root / "sub")
    assert names() == ["no-db-key"]
    monkeypatch.chdir(root / "elsewhere")
    assert names() == ["default"]


READS = [
    ["schedules", "list"], ["schedules", "show", "x"], ["schedules", "pause", "x"],
    ["schedules", "resume", "x"], ["schedules", "rm", "x"], ["schedules", "trigger", "x"],
    ["schedules", "backfill", "x", "--from", "2026-01-01T00:00Z", "--to", "2026-01-02T00:00Z"],
    ["runs", "list"], ["runs", "show", "1"], ["runs", "cancel", "1"], ["runs", "retry", "1"],
    ["stats"], ["workers"], ["health"], ["tokens", "list"], ["tokens", "revoke", "x"],
]  # fmt: skip


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_command_that_reads_never_creates_a_database(args: list[str], tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.db"
    assert bad(*args, "--db", f"sqlite:///{path}") == NO_DB.format(path=path)
    assert list(tmp_path.iterdir()) == []  # no file, no -wal, no -shm
    empty = tmp_path / "empty.db"
    empty.touch()
    assert bad(*args, "--db", f"sqlite:///{empty}") == NO_DB.format(path=empty)
    assert [p.name for p in tmp_path.iterdir()] == ["empty.db"]
    assert empty.stat().st_size == 0


def test_commands_that_add_something_create_the_database(project: Project) -> None:
    cfg = ("--config", project.config)
    for i, args in enumerate(
        [["db", "upgrade"], ["schedules", "add", "cli_echo", "--trigger", "manual"],
         ["runs", "enqueue", "cli_echo"], ["tokens", "create", "--scope", "read"]]
    ):  # fmt: skip
        path = project.root / f"new-{i}.db"
        ok(*args, "--db", f"sqlite:///{path}", *cfg)
        assert path.exists(), args
        assert data("stats", "--db", f"sqlite:///{path}")["workers"] == 0


def test_a_worker_without_config_prints_its_database(tmp_path: Path) -> None:
    done = agentcron("worker", "--burst", "--log-level", "WARNING", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"agentcron worker: db sqlite:///{tmp_path / 'agentcron.db'}; no config file; "
        "0 tasks; 0 schedules"
    )


@pytest.mark.postgres
def test_on_postgresql_a_read_command_does_not_migrate(tmp_path: Path) -> None:
    import psycopg

    from pg_support import fresh_database

    with fresh_database(migrated=False) as url:
        assert bad("schedules", "list", "--db", url) == NO_DB.format(path=url)
        assert bad("stats", "--db", url) == NO_DB.format(path=url)
        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert tables.fetchone() == (0,)
        assert ok("db", "upgrade", "--db", url).stdout.startswith("applied 0001_initial")
        assert ok("schedules", "list", "--db", url).stdout == "no schedules\n"
        listed = cli("runs", "list", "--db", url, "--json")
        assert json.loads(listed.stdout) == {"items": [], "next_cursor": None}
