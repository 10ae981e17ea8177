"""Pure retry policy: given an error and the attempt number, retry when, or give up."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from agentcron.errors import PermanentError

__all__ = ["DEFAULT_PERMANENT", "Backoff", "RetryDecision", "RetryPolicy"]

DEFAULT_PERMANENT: tuple[type[BaseException], ...] = (PermanentError, TypeError, ValueError)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**(attempt-1)))``."""

    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=10)

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> timedelta:
        cap = self.cap.total_seconds()
        exponent = min(max(attempt - 1, 0), 64)  # past 2**64 every ceiling is the cap
        ceiling = min(cap, self.base.total_seconds() * 2.0**exponent)
        return timedelta(seconds=ceiling * rand())


@dataclass(frozen=True, slots=True)
class RetryDecision:
    delay: timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` extra attempts after the first; errors in ``permanent`` are never retried."""

    retries: int = 0
    backoff: Backoff = field(default_factory=Backoff)
    permanent: tuple[type[BaseException], ...] = DEFAULT_PERMANENT

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def is_permanent(self, exc: BaseException) -> bool:
        return isinstance(exc, self.permanent)

    def decide(
        self,
        exc: BaseException,
        attempt: int,
        max_attempts: int | None = None,
        rand: Callable[[], float] = random.random,
    ) -> RetryDecision | None:
        """Retry after ``delay``, or None when the run should not be tried again.

        ``attempt`` is the 1-based number of the attempt that just failed; ``max_attempts``
        (default: ``retries + 1``) is what the run was enqueued with.
        """
        limit = self.max_attempts if max_attempts is None else max_attempts
        if self.is_permanent(exc) or attempt >= limit:
            return None
        return RetryDecision(self.backoff.delay(attempt, rand))
