"""Store contract: the schema's bookkeeping, the same on both stores (`core/base.py`): a
database newer than this code is refused and left as it was, one that is older is refused
without ``migrate``, and a migrated database says whose it is."""

from __future__ import annotations

import pytest

from agentcron.errors import SchemaError
from agentcron.store import Store, migrate
from agentcron.store.db import Tx

_VERSION = "SELECT value FROM agentcron_meta WHERE key = ?"
_SET_VERSION = "UPDATE agentcron_meta SET value = ? WHERE key = 'schema_version'"


async def _meta(store: Store, key: str) -> str | None:
    async def op(tx: Tx) -> str | None:
        row = await tx.one(_VERSION, (key,))
        return str(row[0]) if row else None

    return await store.read(op)  # type: ignore[attr-defined, no-any-return]


async def _set_version(store: Store, version: int) -> None:
    async def op(tx: Tx) -> None:
        await tx.execute(_SET_VERSION, (str(version),))

    await store.write(op)  # type: ignore[attr-defined]


async def _refusal(store: Store, *, auto_migrate: bool) -> SchemaError:
    """What another store on ``store``'s database says when it opens."""
    other: Store = type(store)(store.url, migrate=auto_migrate)  # type: ignore[call-arg]
    try:
        await other.open()
    except SchemaError as refused:
        return refused
    finally:
        await other.close()  # safe after a failed open
    raise AssertionError("open() accepted the schema")


async def test_a_migrated_database_is_marked_as_agentcron_s(store: Store) -> None:
    assert await _meta(store, "application") == "agentcron"


async def test_a_newer_schema_is_refused_and_left_unchanged(store: Store, store_kind: str) -> None:
    latest = migrate.latest_version(store_kind)
    await _set_version(store, 999)
    try:
        for auto_migrate in (True, False):
            refused = await _refusal(store, auto_migrate=auto_migrate)
            assert "schema version 999, newer than this agentcron knows" in str(refused)
            assert f"({latest}); upgrade agentcron" in str(refused)
        assert await _meta(store, "schema_version") == "999"
        with pytest.raises(SchemaError, match="999"):
            await store.migrate()
    finally:
        await _set_version(store, latest)


async def test_an_older_schema_is_refused_without_migrate(store: Store, store_kind: str) -> None:
    latest = migrate.latest_version(store_kind)
    await _set_version(store, latest - 1)
    try:
        refused = await _refusal(store, auto_migrate=False)
        assert f"schema {latest - 1} is older than {latest}" in str(refused)
        assert "run `agentcron db upgrade`" in str(refused)
        assert await _meta(store, "schema_version") == str(latest - 1)
    finally:
        await _set_version(store, latest)
