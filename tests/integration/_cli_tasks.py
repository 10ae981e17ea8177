"""Tasks for the CLI tests. The tests copy this file into each test's folder under a fresh
module name (a config's ``tasks`` names it), so every test imports its own copy."""

from __future__ import annotations

import asyncio
from typing import Any

import agentcron


@agentcron.task
def cli_echo(value: Any = None) -> Any:
    """Return ``value``."""
    return value


@agentcron.task
def cli_fail() -> None:
    """Fail for good (no retries)."""
    raise agentcron.PermanentError("this task always fails")


@agentcron.task
async def cli_slow(ms: int = 100) -> int:
    """Sleep ``ms`` milliseconds."""
    await asyncio.sleep(ms / 1000)
    return ms
