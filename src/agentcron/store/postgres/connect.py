"""How the PostgreSQL store connects, and how it comes back after an outage.

Two options, in the URL's query (``postgresql://host/db?connect_timeout=3&reconnect_max_delay=1``)
or given to the store (``[agentcron]`` settings of the same names); the URL wins:

- ``connect_timeout`` (seconds, default 5): the longest a store call waits for a connection,
  and each new connection's own timeout (libpq's, which is at least 2 s);
- ``reconnect_max_delay`` (seconds, default 1): the longest wait between two attempts to
  reconnect. Attempts start 50 ms apart and double up to it (with jitter), so work resumes
  within about that long after the server accepts connections again, whatever the outage
  length.

`Reconnector`: once a direct attempt to connect failed, PostgreSQL is *known to be down*: a
store call then waits for it to be back, at most ``connect_timeout``, and fails with
`StoreUnavailable` (a web request that enqueues answers 503 after a few seconds, not after the
pool's 30 s; a restart shorter than ``connect_timeout`` goes unnoticed), while one background
task tries to connect again. The first attempt that connects ends the outage: the pool's idle
connections are checked (the broken ones replaced), the waiting calls go on, and every waiter
for a wake-up is woken to look again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from agentcron.durations import parse_duration
from agentcron.errors import StoreError, StoreUnavailable, ValidationError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_RECONNECT_MAX_DELAY_S",
    "FIRST_DELAY_S",
    "ConnectOptions",
    "Reconnector",
    "backoff",
]

log = logging.getLogger("agentcron.store")

DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_RECONNECT_MAX_DELAY_S = 1.0
FIRST_DELAY_S = 0.05
_OURS = ("connect_timeout", "reconnect_max_delay")


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """The URL as libpq takes it (our options taken out, ``connect_timeout`` put back in whole
    seconds), and the options."""

    conninfo: str
    connect_timeout_s: float
    reconnect_max_delay_s: float

    @classmethod
    def parse(
        cls, url: str, *, connect_timeout_s: float | None = None,
        reconnect_max_delay_s: float | None = None,
    ) -> ConnectOptions:  # fmt: skip
        """Raises `StoreError` for an option that is not a positive number of seconds."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        given = {key: value for key, value in query if key in _OURS}
        timeout = _seconds(given, "connect_timeout", connect_timeout_s, DEFAULT_CONNECT_TIMEOUT_S)
        cap = _seconds(
            given, "reconnect_max_delay", reconnect_max_delay_s, DEFAULT_RECONNECT_MAX_DELAY_S
        )
        kept = [(key, value) for key, value in query if key not in _OURS]
        kept.append(("connect_timeout", str(max(2, math.ceil(timeout)))))
        conninfo = urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote)))
        return cls(conninfo, timeout, cap)


def _seconds(given: dict[str, str], key: str, value: float | None, default: float) -> float:
    if key in given:
        try:
            value = parse_duration(given[key], field=key).total_seconds()
        except ValidationError:
            raise StoreError(f"{key} in the URL must be seconds, not {given[key]!r}") from None
    if value is None:
        return default
    if not value > 0:
        raise StoreError(f"{key} must be more than 0 seconds, not {value!r}")
    return float(value)


def backoff(attempt: int, max_delay_s: float, first_s: float = FIRST_DELAY_S) -> float:
    """The wait before reconnect attempt ``attempt`` (0 for the first): ``first_s`` doubling
    up to ``max_delay_s``, then a random half of it taken off (so that many processes do not
    knock all at once). Never more than ``max_delay_s``."""
    ceiling = min(max_delay_s, first_s * 2 ** min(attempt, 60))
    return float(ceiling * random.uniform(0.5, 1.0))


@dataclass(slots=True)
class _Outage:
    since: float  # time.monotonic()
    error: str
    attempts: int = 0
    back: asyncio.Event = field(default_factory=asyncio.Event)


class Reconnector:
    """Whether PostgreSQL is known to be down, and the loop that finds it back.

    ``attempt()`` connects once (raises when it cannot); ``back()`` is called when an outage
    ends. While down, `wait` holds a caller until the server is back, for at most
    ``wait_s`` (``connect_timeout``), then raises `StoreUnavailable`; `confirm` / `suspect`
    start an attempt after a lost connection (one at a time, shared by every caller)."""

    def __init__(
        self,
        attempt: Callable[[], Awaitable[None]],
        back: Callable[[], None],
        *,
        max_delay_s: float,
        wait_s: float,
    ) -> None:
        self._attempt = attempt
        self._back = back
        self.max_delay_s = max_delay_s
        self.wait_s = wait_s
        self._outage: _Outage | None = None
        self._trying: asyncio.Task[bool] | None = None  # the first attempt after a lost connection
        self._loop: asyncio.Task[None] | None = None
        self._nudged = asyncio.Event()

    @property
    def down(self) -> bool:
        return self._outage is not None

    @property
    def retry_after_s(self) -> float:
        return max(1.0, math.ceil(self.max_delay_s))

    async def wait(self) -> None:
        """Until PostgreSQL is back (at once when it is not known to be down), for at most
        ``wait_s``; then `StoreUnavailable`."""
        outage = self._outage
        if outage is None:
            return
        try:
            await asyncio.wait_for(outage.back.wait(), self.wait_s)
        except TimeoutError:
            raise self.unavailable() from None

    def unavailable(self, exc: BaseException | None = None) -> StoreUnavailable:
        outage = self._outage
        if outage is None:
            return StoreUnavailable(f"PostgreSQL unavailable: {exc}", retry_after_s=1.0)
        age = time.monotonic() - outage.since
        return StoreUnavailable(
            f"PostgreSQL unavailable for {age:.0f}s (reconnecting): {outage.error}",
            retry_after_s=self.retry_after_s,
        )

    async def confirm(self, exc: BaseException) -> bool:
        """After a lost connection: whether the server accepts connections, now or within
        ``wait_s`` (one attempt at once, shared by concurrent callers; when it fails,
        PostgreSQL is known to be down and the reconnect loop starts)."""
        if self._outage is None:
            if self._trying is None:
                self._trying = asyncio.create_task(self._first(exc), name="agentcron-pg-probe")
            if await asyncio.shield(self._trying):
                return True
        try:
            await self.wait()
        except StoreUnavailable:
            return False
        return True

    def suspect(self, exc: BaseException) -> None:
        """The first attempt of `confirm`, in the background."""
        if self._outage is None and self._trying is None:
            self._trying = asyncio.create_task(self._first(exc), name="agentcron-pg-probe")

    def nudge(self) -> None:
        """Something suggests the server is back (the listening connection reconnected): while
        down, attempt now instead of at the end of the current wait."""
        self._nudged.set()

    async def stop(self) -> None:
        for task in (self._trying, self._loop):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait([task])
        self._trying = self._loop = None
        if self._outage is not None:  # nobody waits for a store that is closing
            self._outage.back.set()

    async def _first(self, exc: BaseException) -> bool:
        try:
            await self._attempt()
        except Exception as failed:
            self._outage = _Outage(time.monotonic(), _text(failed) or _text(exc))
            log.warning(
                "PostgreSQL is unavailable (%s); store calls wait at most %gs for it, "
                "reconnecting at least every %gs",
                self._outage.error, self.wait_s, self.max_delay_s,
            )  # fmt: skip
            self._loop = asyncio.create_task(self._reconnect(), name="agentcron-pg-reconnect")
            return False
        finally:
            self._trying = None
        return True

    async def _reconnect(self) -> None:
        outage = self._outage
        assert outage is not None
        self._nudged.clear()
        while True:
            delay = backoff(outage.attempts, self.max_delay_s)
            log.debug("reconnect attempt %d in %.3fs", outage.attempts + 1, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), delay)
            self._nudged.clear()
            outage.attempts += 1
            try:
                await self._attempt()
            except Exception as exc:
                outage.error = _text(exc)
                continue
            break
        log.warning(
            "PostgreSQL is back after %.1fs (%d attempts)",
            time.monotonic() - outage.since, outage.attempts,
        )  # fmt: skip
        self._outage = None
        outage.back.set()
        self._back()


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
