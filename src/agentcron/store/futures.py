"""Handing a result back to whoever waits for it (the stores' batched writes and reads)."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["settle"]


def settle(
    future: asyncio.Future[Any], result: Any = None, error: BaseException | None = None
) -> None:
    """Give ``future`` its ``result``, or ``error`` when there is one (a cancellation cancels
    it); nothing when its waiter is gone (already done or cancelled)."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    elif isinstance(error, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(error)
