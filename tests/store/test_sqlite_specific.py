"""What only the SQLite store promises: WAL, refusing files that are not ours, and several
processes (here: several stores, each with its own connections) sharing one file."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from store_helpers import LEASE, MINUTE, T0, claim, enqueue_one, ids, make_run, make_spec

from agentcron.errors import SchemaError, StoreError
from agentcron.store import migrate
from agentcron.store.sqlite import SqliteStore
from agentcron.store.sqlite.store import PAGE_SIZE

WAKE_DEADLINE_S = 10.0


def url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "agentcron.db"


@pytest.fixture
async def two_stores(db_path: Path) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    first, second = SqliteStore(url(db_path)), SqliteStore(url(db_path))
    await first.open()
    await second.open()
    try:
        yield first, second
    finally:
        await second.close()
        await first.close()


async def open_fails(path: Path, **kwargs: bool) -> SchemaError:
    store = SqliteStore(url(path), **kwargs)
    with pytest.raises(SchemaError) as caught:
        await store.open()
    await store.close()  # safe after a failed open
    return caught.value


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(sql).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def contents(path: Path) -> bytes:
    return path.read_bytes()


async def test_wal_mode_is_on(db_path: Path) -> None:
    async with SqliteStore(url(db_path)):
        assert query(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_new_files_get_small_pages_and_old_files_keep_theirs(tmp_path: Path) -> None:
    new = tmp_path / "new.db"
    async with SqliteStore(url(new)):
        pass
    assert query(new, "PRAGMA page_size") == [(PAGE_SIZE,)]
    old = tmp_path / "old.db"
    query(old, "PRAGMA page_size = 4096")
    query(old, "VACUUM")  # a file already made, with 4 KiB pages (as before PAGE_SIZE)
    async with SqliteStore(url(old)) as store:
        await store.vacuum()
        assert await store.schema_version() == migrate.latest_version("sqlite")
    assert query(old, "PRAGMA page_size") == [(4096,)]


@pytest.mark.parametrize(
    "garbage",
    [
        random.Random(7).randbytes(8192),
        b"SQLite format 3\x00" + random.Random(8).randbytes(8176),  # a header, then noise
        b"abc",
    ],
    ids=["random", "sqlite-header", "tiny"],
)
async def test_corrupt_file_is_a_schema_error_and_left_unchanged(
    db_path: Path, garbage: bytes
) -> None:
    await asyncio.to_thread(db_path.write_bytes, garbage)
    error = await open_fails(db_path)
    assert str(db_path) in str(error)
    assert contents(db_path) == garbage


async def test_foreign_database_is_a_schema_error_and_left_unchanged(db_path: Path) -> None:
    query(db_path, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    query(db_path, "INSERT INTO users (email) VALUES ('a@example.com')")
    before = contents(db_path)
    error = await open_fails(db_path)
    assert "users" in str(error)
    assert contents(db_path) == before
    assert query(db_path, "PRAGMA journal_mode") == [("delete",)]  # not even switched to WAL


async def test_newer_schema_is_a_schema_error_asking_to_upgrade(db_path: Path) -> None:
    async with SqliteStore(url(db_path)):
        pass
    query(db_path, "UPDATE agentcron_meta SET value='999' WHERE key='schema_version'")
    for auto_migrate in (True, False):
        error = await open_fails(db_path, migrate=auto_migrate)
        assert "upgrade" in str(error)
        assert "999" in str(error)
    assert query(db_path, "SELECT value FROM agentcron_meta WHERE key='schema_version'") == [
        ("999",)
    ]


async def test_older_schema_without_auto_migrate_is_a_schema_error(db_path: Path) -> None:
    error = await open_fails(db_path, migrate=False)  # a new, empty file: schema 0
    assert "agentcron db upgrade" in str(error)


async def test_migrate_false_opens_an_up_to_date_file(db_path: Path) -> None:
    async with SqliteStore(url(db_path)):
        pass
    async with SqliteStore(url(db_path), migrate=False) as store:
        assert await store.schema_version() == migrate.latest_version("sqlite")


async def test_unusable_store_raises_a_store_error(db_path: Path) -> None:
    store = SqliteStore(url(db_path))
    with pytest.raises(StoreError):
        await store.get_run(1)  # not opened
    with pytest.raises(StoreError):
        SqliteStore("postgresql://nope")


async def test_enqueue_in_one_claim_in_the_other(
    two_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    producer, consumer = two_stores
    runs = await producer.enqueue([make_run(args={"i": i}) for i in range(3)], T0)
    claimed = await consumer.claim_runs("w", now=T0, lease=LEASE, limit=10)
    assert ids(claimed) == ids(runs)
    assert (await producer.get_run(runs[0].id)).worker == "w"


async def test_concurrent_claimers_across_stores_never_share(
    two_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    first, second = two_stores
    runs = await first.enqueue([make_run(args={"i": i}) for i in range(60)], T0)
    claimed: list[int] = []

    async def drain(store: SqliteStore, name: str) -> None:
        while batch := await claim(store, name, limit=4):
            claimed.extend(ids(batch))

    await asyncio.gather(*(drain(s, f"w{i}") for i, s in enumerate([first, second] * 3)))
    assert sorted(claimed) == ids(runs)


async def test_wait_is_woken_by_an_enqueue_in_another_store(
    two_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    producer, consumer = two_stores
    assert await consumer.wait("runs", 0.05) is False  # nothing happened yet
    started = time.monotonic()
    waiter = asyncio.create_task(consumer.wait("runs", WAKE_DEADLINE_S))
    await asyncio.sleep(0)
    await enqueue_one(producer)
    assert await waiter is True
    assert time.monotonic() - started < WAKE_DEADLINE_S


async def test_synchronous_full_is_chosen_in_the_url(tmp_path: Path) -> None:
    """``?synchronous=full`` fsyncs every commit (power-loss safe); the default is normal."""
    plain = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}")
    full = SqliteStore(f"sqlite:///{tmp_path / 'b.db'}?synchronous=full")
    for store, expected in ((plain, 1), (full, 2)):
        await store.open()
        try:
            assert store._writer is not None
            assert store._writer.conn.execute("PRAGMA synchronous").fetchone()[0] == expected
        finally:
            await store.close()
    with pytest.raises(StoreError, match="synchronous"):
        SqliteStore(f"sqlite:///{tmp_path / 'c.db'}?synchronous=sometimes")


async def test_listings_see_changes_made_through_another_store(
    two_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    """Decoded schedules are reused while their row is unchanged; any change is a new row."""
    first, second = two_stores
    for name in ("a", "b", "c"):
        await first.add_schedule(make_spec(name, args={"n": name}), T0)
    before, _ = await first.list_schedules()
    changed = next(s for s in before if s.name == "b")
    await second.update_schedule(changed.id, make_spec("b", args={"n": "B"}), T0 + MINUTE)
    await second.set_schedule_enabled(before[2].id, False, None)
    after, _ = await first.list_schedules()
    assert [s.args["n"] for s in after] == ["a", "B", "c"]
    assert [s.enabled for s in after] == [True, True, False]
    assert after[1].next_run_at == T0 + MINUTE
    assert after[0] is before[0]  # unchanged row: the same immutable instance
    assert after[1] is not before[1]
    shown = after[1].to_dict()
    shown["name"] = "changed by the caller"
    assert after[1].to_dict()["name"] == "b"  # each call returns its own dict


async def test_reads_do_not_wait_for_another_process_writing(db_path: Path) -> None:
    """Point reads and listings run on the store's idle connection at once; a write lock held
    by another process (with rows not yet committed) neither blocks them nor shows them."""
    store = SqliteStore(url(db_path))
    await store.open()
    try:
        await store.add_schedule(make_spec("kept"), T0)
        run = await enqueue_one(store)
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE schedules SET name = 'renamed'")
        other.execute("DELETE FROM runs")
        try:
            listed, _ = await asyncio.wait_for(store.list_schedules(), 5)
            assert [s.name for s in listed if s.source.value != "system"] == ["kept"]
            assert (await asyncio.wait_for(store.get_run(run.id), 5)).id == run.id
            assert (await asyncio.wait_for(store.get_schedule("kept"), 5)).name == "kept"
        finally:
            other.execute("ROLLBACK")
            other.close()
    finally:
        await store.close()


async def test_concurrent_writes_commit_together_and_fail_alone(db_path: Path) -> None:
    """Writes from many tasks in one turn of the loop share a transaction; an op that fails
    (a taken name) fails only its caller, and the others are stored."""
    store = SqliteStore(url(db_path))
    await store.open()
    begins: list[str] = []
    assert store._writer is not None
    store._writer.conn.set_trace_callback(
        lambda sql: begins.append(sql) if sql.startswith("BEGIN") else None
    )
    try:
        await store.add_schedule(make_spec("taken"), T0)
        begins.clear()
        names = [f"s{i}" for i in range(40)] + ["taken"]
        results = await asyncio.gather(
            *(store.add_schedule(make_spec(n), T0) for n in names), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert [type(e).__name__ for e in errors] == ["ScheduleExists"]
        listed, _ = await store.list_schedules(limit=1000)
        assert {s.name for s in listed} >= {*names}
        assert len(begins) < len(names) / 2  # grouped, not one transaction each
        runs = await asyncio.gather(*(enqueue_one(store, args={"i": i}) for i in range(20)))
        assert len({r.id for r in runs}) == 20
        assert [(await store.get_run(r.id)).args for r in runs] == [{"i": i} for i in range(20)]
    finally:
        await store.close()


async def test_a_write_cancelled_before_its_group_commits_is_not_applied(db_path: Path) -> None:
    store = SqliteStore(url(db_path))
    await store.open()
    try:
        first = asyncio.create_task(store.add_schedule(make_spec("first"), T0))
        second = asyncio.create_task(store.add_schedule(make_spec("second"), T0))
        for _ in range(100):  # the first wrote alone; the second waits for the next group
            if first.done() and store._writer is not None and store._writer._group:
                break
            await asyncio.sleep(0)
        assert first.done()
        second.cancel()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second
        listed, _ = await store.list_schedules()
        assert "second" not in {s.name for s in listed}
        assert "first" in {s.name for s in listed}
    finally:
        await store.close()
