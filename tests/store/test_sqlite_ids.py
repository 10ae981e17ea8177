"""SQLite: schema 6 takes AUTOINCREMENT off runs and events; ids given before the upgrade are
never given again (the floor comes from ``sqlite_sequence``), and the rows are kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store_helpers import T0, make_run

from agentcron.models import NewEvent
from agentcron.scheduler import RunPlanner
from agentcron.store import migrate
from agentcron.store.sqlite import SqliteStore
from agentcron.tasks import TaskRegistry


def schema_5(path: Path) -> None:
    """A database at schema 5 whose newest run and event were deleted (AUTOINCREMENT kept
    their ids in sqlite_sequence)."""
    conn = sqlite3.connect(path)
    try:
        for migration in migrate.load_migrations("sqlite")[:5]:
            conn.executescript(migration.sql)
        conn.executescript(
            "INSERT INTO agentcron_meta (key, value) VALUES ('schema_version', '5');"
            "INSERT INTO agentcron_meta (key, value) VALUES ('application', 'agentcron');"
            "INSERT INTO runs (task, status, queued_at, available_at, dedup_key) "
            "VALUES ('old', 'queued', 0, 0, 'k'), ('gone', 'succeeded', 0, 0, NULL);"
            "INSERT INTO events (type, created_at) VALUES ('e.kept', 0), ('e.gone', 0);"
            "DELETE FROM runs WHERE task = 'gone'; DELETE FROM events WHERE type = 'e.gone';"
        )
        conn.commit()
    finally:
        conn.close()


async def test_upgrade_keeps_rows_and_never_gives_an_old_id_again(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    schema_5(path)
    store = SqliteStore(f"sqlite:///{path}")
    await store.open()
    try:
        assert "0006_ids_without_autoincrement" in store.applied_migrations
        (kept,) = await store.enqueue([make_run(task="old", dedup_key="k")], T0)
        assert (kept.id, kept.task) == (1, "old")
        (run,) = await store.enqueue([make_run(task="new")], T0)
        assert run.id == 3
        planner = RunPlanner(TaskRegistry(), T0)
        (event,), _ = await store.publish([NewEvent("e.new", {})], T0, planner)
        events = await store.read_events(0)
        assert [(e.id, e.type) for e in events] == [(1, "e.kept"), (3, "run.queued"), (4, "e.new")]
        assert event == events[-1]
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    try:
        sql = conn.execute("SELECT group_concat(sql) FROM sqlite_master WHERE type = 'table'")
        assert "AUTOINCREMENT" not in sql.fetchone()[0]
    finally:
        conn.close()
