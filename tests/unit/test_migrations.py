"""Migrations: numbered without gaps per dialect, and a fresh schema equals all of them applied.

`SCHEMA_BUILDERS` holds, per dialect, two ways to build a schema in an empty database — through
the store (``open()`` migrates) and by applying each migration file in order by hand — and a
dump to compare them. The PostgreSQL entry (columns, indexes, constraints, triggers and
functions from the catalogs) is marked ``postgres``: skipped when no server is reachable.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import pytest

from agentcron.store import migrate
from agentcron.store.sqlite import SqliteStore

FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
Schema = list[tuple[object, ...]]


def migrations_root() -> Traversable:
    return resources.files("agentcron.store") / "migrations"


DIALECTS = sorted(entry.name for entry in migrations_root().iterdir() if entry.is_dir())


def migration_files(dialect: str) -> list[Traversable]:
    folder = migrations_root() / dialect
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


# -- numbering -------------------------------------------------------------------------------


def test_there_are_sqlite_migrations() -> None:
    assert "sqlite" in DIALECTS
    assert migrate.latest_version("sqlite") >= 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_migration_file_is_named_nnnn_name(dialect: str) -> None:
    """A misnamed file would be skipped silently by the loader."""
    folder = migrations_root() / dialect
    for entry in folder.iterdir():
        if entry.name.startswith(("__", ".")):
            continue
        assert FILE_NAME.match(entry.name), f"migrations/{dialect}/{entry.name}"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_migrations_are_numbered_without_gaps(dialect: str) -> None:
    numbers = [int(FILE_NAME.match(f.name).group(1)) for f in migration_files(dialect)]  # type: ignore[union-attr]
    assert numbers == list(range(1, len(numbers) + 1))
    loaded = migrate.load_migrations(dialect)
    assert [m.version for m in loaded] == numbers
    assert [f"{m.label}.sql" for m in loaded] == [f.name for f in migration_files(dialect)]
    assert migrate.latest_version(dialect) == len(numbers)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_pending_migrations(dialect: str) -> None:
    latest = migrate.latest_version(dialect)
    assert [m.version for m in migrate.pending(dialect, 0)] == list(range(1, latest + 1))
    assert migrate.pending(dialect, latest) == []
    assert [m.version for m in migrate.pending(dialect, latest - 1)] == [latest]


def fake_package(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "migrations" / "sqlite"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_text("-- nothing\n", "utf-8")
    return tmp_path


def test_loader_rejects_a_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = fake_package(tmp_path, ["0001_a.sql", "0003_c.sql"])
    monkeypatch.setattr(resources, "files", lambda _package: root)
    with pytest.raises(RuntimeError, match="expected 0002"):
        migrate.load_migrations("sqlite")


def test_loader_orders_by_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = fake_package(tmp_path, ["0002_b.sql", "0001_a.sql", "README.md"])
    monkeypatch.setattr(resources, "files", lambda _package: root)
    assert [m.label for m in migrate.load_migrations("sqlite")] == ["0001_a", "0002_b"]
    assert migrate.latest_version("sqlite") == 2


# -- a fresh schema equals all migrations applied ---------------------------------------------


@dataclass(frozen=True)
class SchemaBuilder:
    migrated: Callable[[Path], Schema]  # through the store
    by_hand: Callable[[Path], Schema]  # each migration file, in order, applied directly


_VERSION = "SELECT value FROM agentcron_meta WHERE key = 'schema_version'"


def _sqlite_dump(path: Path) -> Schema:
    conn = sqlite3.connect(path)
    try:
        objects = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        version = conn.execute(_VERSION).fetchone()
    finally:
        conn.close()
    return [*objects, ("schema_version", version[0] if version else None)]


def _sqlite_migrated(tmp_path: Path) -> Schema:
    path = tmp_path / "migrated.db"

    async def build() -> None:
        async with SqliteStore(f"sqlite:///{path}"):
            pass

    asyncio.run(build())
    return _sqlite_dump(path)


def _sqlite_by_hand(tmp_path: Path) -> Schema:
    path = tmp_path / "by_hand.db"
    conn = sqlite3.connect(path)
    try:
        files = migration_files("sqlite")
        for entry in files:
            conn.executescript(entry.read_text("utf-8"))
        conn.execute(
            "INSERT INTO agentcron_meta (key, value) VALUES ('schema_version', ?)",
            (str(len(files)),),
        )
        conn.commit()
    finally:
        conn.close()
    return _sqlite_dump(path)


_PG_DUMP = [
    "SELECT table_name, column_name, data_type, is_nullable, column_default "
    "FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2",
    "SELECT tablename, indexname, indexdef FROM pg_indexes "
    "WHERE schemaname = current_schema() ORDER BY 1, 2",
    "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
    "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() ORDER BY 1, 2",
    "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
    "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND NOT t.tgisinternal ORDER BY 1, 2",
    "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
    "ORDER BY 1, 2",
]


def _pg_dump(url: str) -> Schema:
    import psycopg

    with psycopg.connect(url) as conn:
        objects = [(query, *row) for query in _PG_DUMP for row in conn.execute(query).fetchall()]
        version = conn.execute(_VERSION).fetchone()
    return [*objects, ("schema_version", version[0] if version else None)]


def _pg_migrated(tmp_path: Path) -> Schema:
    from agentcron.store.postgres import PostgresStore
    from pg_support import fresh_database

    async def build(url: str) -> None:
        store = PostgresStore(url)
        await store.open()
        await store.close()

    with fresh_database(migrated=False) as url:
        asyncio.run(build(url))
        return _pg_dump(url)


def _pg_by_hand(tmp_path: Path) -> Schema:
    import psycopg

    from pg_support import fresh_database

    with fresh_database(migrated=False) as url:
        with psycopg.connect(url) as conn:
            files = migration_files("postgres")
            for entry in files:
                conn.execute(entry.read_text("utf-8"))
            conn.execute(
                "INSERT INTO agentcron_meta (key, value) VALUES ('schema_version', %s)",
                (str(len(files)),),
            )
        return _pg_dump(url)


SCHEMA_BUILDERS: dict[str, SchemaBuilder] = {
    "postgres": SchemaBuilder(migrated=_pg_migrated, by_hand=_pg_by_hand),
    "sqlite": SchemaBuilder(migrated=_sqlite_migrated, by_hand=_sqlite_by_hand),
}
BUILDER_MARKS = {"postgres": [pytest.mark.postgres]}
BUILDER_PARAMS = [pytest.param(d, marks=BUILDER_MARKS.get(d, [])) for d in sorted(SCHEMA_BUILDERS)]


@pytest.mark.parametrize("dialect", BUILDER_PARAMS)
def test_fresh_schema_equals_all_migrations_applied(dialect: str, tmp_path: Path) -> None:
    builder = SCHEMA_BUILDERS[dialect]
    migrated = builder.migrated(tmp_path)
    assert migrated == builder.by_hand(tmp_path)
    assert migrated[-1] == ("schema_version", str(migrate.latest_version(dialect)))


def test_sqlite_schema_has_the_core_tables(tmp_path: Path) -> None:
    names = {row[1] for row in _sqlite_migrated(tmp_path) if row[0] == "table"}
    assert {"agentcron_meta", "schedules", "runs", "workers", "tasks"} <= names
