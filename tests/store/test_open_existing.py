"""A store made with ``create=False`` opens only an existing agentcron database: what the
commands that only read use. A missing or empty database is an error and stays as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcron.errors import SchemaError
from agentcron.store import create_store, shown_url


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_sqlite_missing_or_empty_file_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(SchemaError) as err:
        await create_store(f"sqlite:///{missing}", create=False).open()
    assert str(err.value) == (
        f"no agentcron database at {missing} (start `agentcron serve` or run "
        "`agentcron db upgrade` to create one)"
    )
    assert files(tmp_path) == []
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(SchemaError, match="no agentcron database at "):
        await create_store(f"sqlite:///{empty}", create=False).open()
    assert files(tmp_path) == ["empty.db"]


async def test_sqlite_relative_path_is_reported_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SchemaError) as err:
        await create_store("sqlite:///here.db", create=False).open()
    assert f"at {tmp_path / 'here.db'} (" in str(err.value)
    assert shown_url("sqlite:///here.db") == f"sqlite:///{tmp_path / 'here.db'}"


async def test_an_existing_database_opens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agentcron.db'}"
    made = create_store(url)
    await made.open()
    await made.close()
    store = create_store(url, create=False)
    await store.open()
    try:
        assert await store.list_schedules() == ([], None)
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_without_the_schema_is_refused_and_not_migrated() -> None:
    import psycopg

    from pg_support import fresh_database

    with fresh_database(migrated=False) as url:
        with pytest.raises(SchemaError) as err:
            await create_store(url, create=False).open()
        assert str(err.value).startswith(f"no agentcron database at {shown_url(url)} (")
        with psycopg.connect(url) as conn:
            found = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert found.fetchone() == (0,)
        made = create_store(url)
        await made.open()
        assert made.applied_migrations[0] == "0001_initial"
        await made.close()
        store = create_store(url, create=False)
        await store.open()
        try:
            assert store.applied_migrations == []
            assert await store.list_schedules() == ([], None)
        finally:
            await store.close()


def test_shown_url_hides_a_password() -> None:
    assert shown_url("postgresql://app:s3cret@db.internal:5432/jobs") == (
        "postgresql://app@db.internal:5432/jobs"
    )
    assert shown_url("sqlite:////var/lib/agentcron.db") == "sqlite:////var/lib/agentcron.db"
    assert shown_url("sqlite:///:memory:") == "sqlite:///:memory:"
