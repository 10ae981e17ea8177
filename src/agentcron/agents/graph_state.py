"""A graph run's LangGraph checkpoints, kept in the run's durable steps.

A graph compiled without a checkpointer gets one per invocation (LangGraph's in-memory
saver). When the graph stops at ``interrupt()``, `snapshot` writes the thread's latest
checkpoint of each namespace, with its pending writes (the interrupt among them), as JSON
(LangGraph's own serializer, base64): the invocation's durable step stores it in agentcron's
database. The next invocation (``Command(resume=...)``, perhaps in another process after a
restart) starts from a fresh saver that `restore` fills from that JSON.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

__all__ = ["restore", "run_saver", "snapshot"]


def run_saver() -> Any:
    """An empty in-memory LangGraph checkpointer."""
    from langgraph.checkpoint.memory import InMemorySaver

    return InMemorySaver()


def snapshot(saver: Any, thread: str) -> list[dict[str, Any]]:
    """The latest checkpoint of each namespace of ``thread``, with its pending writes, as JSON."""
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in saver.list({"configurable": {"thread_id": thread}}):  # newest first
        namespace = item.config["configurable"].get("checkpoint_ns", "")
        if namespace in seen:
            continue
        seen.add(namespace)
        parent = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        writes = [[task, channel, _dump(saver, value)]
                  for task, channel, value in item.pending_writes or ()]  # fmt: skip
        kept.append({
            "ns": namespace, "parent": parent, "writes": writes,
            "checkpoint": _dump(saver, item.checkpoint), "metadata": _dump(saver, item.metadata),
        })  # fmt: skip
    return kept


def restore(saver: Any, thread: str, kept: Sequence[dict[str, Any]]) -> None:
    """Put what `snapshot` wrote into ``saver`` (an empty one)."""
    for item in kept:
        checkpoint = _load(saver, item["checkpoint"])
        configurable = {"thread_id": thread, "checkpoint_ns": item["ns"]}
        if item["parent"]:
            configurable["checkpoint_id"] = item["parent"]
        metadata = _load(saver, item["metadata"])
        versions = checkpoint["channel_versions"]
        config = saver.put({"configurable": configurable}, checkpoint, metadata, versions)
        by_task: dict[str, list[tuple[str, Any]]] = {}
        for task, channel, value in item["writes"]:
            by_task.setdefault(task, []).append((channel, _load(saver, value)))
        for task, writes in by_task.items():
            saver.put_writes(config, writes, task)


def _dump(saver: Any, value: Any) -> list[str]:
    kind, data = saver.serde.dumps_typed(value)
    return [kind, base64.b64encode(data).decode("ascii")]


def _load(saver: Any, typed: Sequence[str]) -> Any:
    return saver.serde.loads_typed((typed[0], base64.b64decode(typed[1])))
