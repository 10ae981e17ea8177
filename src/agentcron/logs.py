"""Logging that works without setup, and how counts are written (``1 run``, ``2 runs``).

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

__all__ = ["FORMAT", "TIME_FORMAT", "default_logging", "plural"]

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
TIME_FORMAT = "%H:%M:%S"


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


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 run``, ``2 runs``, ``0 runs`` (``many``: an irregular plural)."""
    return f"{count} {word if count == 1 else many or word + 's'}"
