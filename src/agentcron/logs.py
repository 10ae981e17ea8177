"""What a running app tells people: its start line, and logging that works without setup.

A script that calls ``app.run_sync()`` without configuring logging would show nothing at all
(Python prints only warnings when nothing is configured): not which database it uses, not
what its tasks log through ``ctx.logger``. `default_logging` fills that gap while the app
runs, and never touches a logging setup that exists.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from agentcron.models import ScheduleSource
from agentcron.store import shown_url

if TYPE_CHECKING:
    from agentcron.app import App

__all__ = ["FORMAT", "TIME_FORMAT", "default_logging", "plural", "start_line"]

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
TIME_FORMAT = "%H:%M:%S"
_MAX_SHOWN = 100  # system schedules are a handful; this bounds the read


@contextlib.contextmanager
def default_logging() -> Iterator[None]:
    """While the block runs, when logging is not configured (neither the root logger nor the
    ``agentcron`` logger has a handler): log the ``agentcron`` loggers (tasks' ``ctx.logger``
    included) to stderr, at INFO unless the ``agentcron`` logger has a level of its own.
    Otherwise it changes nothing."""
    ours = logging.getLogger("agentcron")
    if logging.getLogger().handlers or ours.handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, TIME_FORMAT))
    level = ours.level
    ours.addHandler(handler)
    if level == logging.NOTSET:
        ours.setLevel(logging.INFO)
    try:
        yield
    finally:
        ours.removeHandler(handler)
        ours.setLevel(level)


async def start_line(app: App, config: str | None = None) -> str:
    """``db sqlite:////srv/agentcron.db; 2 tasks (digest, nudge); 3 schedules``: the store,
    the tasks this app registered and the schedules stored (agentcron's own left out);
    ``config`` (where the config came from) goes after the store."""
    tasks = sorted(t.name for t in app.registry if not t.name.startswith("agentcron."))
    total = (await app.store.stats()).schedules  # a count: memory stays flat
    system, _ = await app.store.list_schedules(source=ScheduleSource.SYSTEM, limit=_MAX_SHOWN)
    parts = [
        f"db {shown_url(app.store.url)}",
        *([config] if config else []),
        plural(len(tasks), "task") + (f" ({', '.join(tasks)})" if tasks else ""),
        plural(max(0, total - len(system)), "schedule"),
    ]
    return "; ".join(parts)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 run``, ``2 runs``, ``0 runs`` (``many``: an irregular plural)."""
    return f"{count} {word if count == 1 else many or word + 's'}"
