"""Whether a store can write: the outcome of its latest write attempt (`Store.check_writes`).

A store whose reads work may still be unable to write (a full disk, a read-only file or
server), and a health check that only reads would call it healthy. So each store records the
outcome of its writes here; `Store.check_writes` answers from it, and first tries a small
write of its own (`PROBE_KEY` in ``agentcron_meta``) when the store attempted none in the last
few seconds: an idle process, or a fresh one such as ``agentcron health``, finds out too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["PROBE_KEY", "WriteFailure", "WriteHealth"]

PROBE_KEY = "write_probe"


@dataclass(frozen=True, slots=True)
class WriteFailure:
    """Writes fail: the latest attempt's error, when the failures began and the latest one."""

    error: str
    since: datetime
    last_at: datetime

    def seconds(self, now: datetime | None = None) -> float:
        """How long writes have been failing."""
        return max(0.0, ((now or datetime.now(UTC)) - self.since).total_seconds())

    def reason(self) -> str:
        age = self.seconds()
        spell = f" (for {age:.0f}s)" if age >= 1 else ""
        return f"store cannot write: {self.error}{spell}"

    def to_dict(self) -> dict[str, object]:
        return {
            "write_error": self.error,
            "failing_since": self.since.isoformat().replace("+00:00", "Z"),
            "failing_for_s": round(self.seconds(), 3),
        }


class WriteHealth:
    """The outcome of the latest write attempt of one store."""

    def __init__(self) -> None:
        self.failure: WriteFailure | None = None
        self.failures = 0  # failed attempts so far
        self._attempted_at = float("-inf")  # time.monotonic() of the latest attempt

    def failed(self, exc: BaseException) -> None:
        now = datetime.now(UTC)
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        since = self.failure.since if self.failure is not None else now
        self.failure = WriteFailure(error, since, now)
        self.failures += 1
        self._attempted_at = time.monotonic()

    def succeeded(self) -> None:
        self.failure = None
        self._attempted_at = time.monotonic()

    def probe_due(self, after_s: float) -> bool:
        """No write was attempted in the last ``after_s`` seconds."""
        return time.monotonic() - self._attempted_at >= after_s
