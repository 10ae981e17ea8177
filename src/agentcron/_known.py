"""Tasks a process may queue: registered in it, or recorded in the store by another process
(a worker registers its tasks when it starts), and the defaults their runs take."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from agentcron.errors import TaskNotFound
from agentcron.models import DEFAULT_MAX_RECOVERIES, TaskOut
from agentcron.rules.firing import RunDefaults
from agentcron.store import Store
from agentcron.tasks import Task, TaskRegistry

__all__ = ["did_you_mean", "from_info", "of_task", "recorded_task", "run_defaults"]


def of_task(task: Task) -> RunDefaults:
    return RunDefaults(
        task.queue, task.priority, task.retry.retries, task.timeout, task.max_recoveries
    )


def from_info(info: Mapping[str, Any]) -> RunDefaults:
    """The defaults of a task as the store recorded it (`Task.to_dict`)."""
    timeout = info.get("timeout")
    return RunDefaults(
        queue=str(info.get("queue") or "default"),
        priority=int(info.get("priority") or 0),
        retries=int(info.get("retries") or 0),
        timeout=timedelta(seconds=float(timeout)) if timeout else None,
        max_recoveries=int(info.get("max_recoveries", DEFAULT_MAX_RECOVERIES)),
    )


async def run_defaults(
    registry: TaskRegistry, store: Store, names: Iterable[str], *, required: bool
) -> dict[str, RunDefaults]:
    """Each task's run defaults: from ``registry``, else from the store's record of it (read
    only when a name is not in ``registry``). An unknown task raises `TaskNotFound` when
    ``required``, else takes the plain defaults."""
    out: dict[str, RunDefaults] = {}
    missing: list[str] = []
    for name in names:
        if name in registry:
            out[name] = of_task(registry.get(name))
        else:
            missing.append(name)
    if missing:
        known = await store.known_tasks()
        for name in missing:
            if name in known:
                out[name] = from_info(known[name])
            elif required:
                raise TaskNotFound(name)
            else:
                out[name] = RunDefaults()
    return out


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``; did you mean 'digest'?`` when a candidate is close to ``name``, else ``""``."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def recorded_task(name: str, info: Mapping[str, Any]) -> TaskOut:
    """A task as another process recorded it (its `Task.to_dict`, written by whichever
    version it runs), in this version's shape: what it lacks takes the defaults."""
    d = from_info(info)
    return {
        "name": name,
        "queue": d.queue,
        "priority": d.priority,
        "retries": d.retries,
        "max_recoveries": d.max_recoveries,
        "timeout": d.timeout.total_seconds() if d.timeout else None,
        "hard_timeout": _number(info.get("hard_timeout")),
        "max_concurrency": _whole(info.get("max_concurrency")),
        "async": bool(info.get("async", True)),
        "description": str(info.get("description") or ""),
    }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
