"""`Store.check_writes` on both stores: a store that writes says so; one that has not written
lately tries a small write of its own, as often as asked, from any number of processes. (A
store that cannot write: tests/integration/test_full_disk.py, on a full disk.)"""

from __future__ import annotations

from store_helpers import T0, enqueue_one

from agentcron.store import Store


async def test_a_store_that_writes_is_healthy(store: Store) -> None:
    assert await store.check_writes() is None  # a fresh store tries a write itself
    await enqueue_one(store, T0)
    assert await store.check_writes(probe_after_s=3600) is None


async def test_probes_from_several_processes_do_not_conflict(
    store: Store, other_store: Store
) -> None:
    before = await other_store.stats()
    for _ in range(3):  # one row, written over (an upsert): never a unique violation
        assert await store.check_writes(probe_after_s=0) is None
        assert await other_store.check_writes(probe_after_s=0) is None
    after = await store.stats()
    assert after.runs_by_status == before.runs_by_status  # nothing but the probe row
