"""retry: exponential backoff with full jitter, permanent errors, attempts (no I/O)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from agentcron.errors import PermanentError, ResultTooLarge, TaskTimeout
from agentcron.retry import DEFAULT_PERMANENT, Backoff, RetryDecision, RetryPolicy

S = timedelta(seconds=1)


def top() -> float:
    """The top of the jitter range: the delay is the ceiling."""
    return 1.0


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 1 * S), (2, 2 * S), (3, 4 * S), (4, 8 * S), (10, 512 * S)]
)
def test_backoff_ceiling_doubles(attempt: int, ceiling: timedelta) -> None:
    assert Backoff().delay(attempt, rand=top) == ceiling


def test_backoff_is_capped() -> None:
    backoff = Backoff(base=2 * S, cap=timedelta(seconds=30))
    assert backoff.delay(4, rand=top) == 16 * S
    assert backoff.delay(5, rand=top) == 30 * S
    assert backoff.delay(60, rand=top) == 30 * S
    assert Backoff().delay(11, rand=top) == timedelta(minutes=10)  # the default cap


def test_backoff_cap_holds_for_huge_attempt_numbers() -> None:
    """A task retried for ever (retries=10_000) must not crash its worker on attempt 1026."""
    assert Backoff().delay(1100, rand=top) == timedelta(minutes=10)


def test_backoff_full_jitter_bounds() -> None:
    source = random.Random(3)
    backoff = Backoff(base=timedelta(milliseconds=500), cap=timedelta(seconds=20))
    for attempt in range(1, 12):
        ceiling = min(20.0, 0.5 * 2 ** (attempt - 1))
        for _ in range(50):
            delay = backoff.delay(attempt, rand=source.random).total_seconds()
            assert 0 <= delay <= ceiling


def test_backoff_jitter_is_proportional() -> None:
    backoff = Backoff(base=4 * S)
    assert backoff.delay(2, rand=lambda: 0.0) == timedelta(0)
    assert backoff.delay(2, rand=lambda: 0.25) == 2 * S
    assert backoff.delay(2, rand=lambda: 0.5) == 4 * S


def test_backoff_uses_random_by_default() -> None:
    delays = {Backoff().delay(8) for _ in range(20)}
    assert len(delays) > 1
    assert all(timedelta(0) <= d <= 128 * S for d in delays)


def test_policy_retries_until_attempts_are_spent() -> None:
    policy = RetryPolicy(retries=2)
    assert policy.max_attempts == 3
    error = RuntimeError("provider timed out")
    assert policy.decide(error, 1, rand=top) == RetryDecision(1 * S)
    assert policy.decide(error, 2, rand=top) == RetryDecision(2 * S)
    assert policy.decide(error, 3, rand=top) is None
    assert policy.decide(error, 4, rand=top) is None


def test_policy_without_retries_never_retries() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 1
    assert policy.decide(ConnectionError(), 1) is None


def test_max_attempts_of_the_run_wins() -> None:
    """A run enqueued with more (or fewer) attempts than the task's default keeps them."""
    policy = RetryPolicy(retries=0)
    assert policy.decide(TimeoutError(), 1, max_attempts=3, rand=top) == RetryDecision(1 * S)
    assert policy.decide(TimeoutError(), 3, max_attempts=3) is None
    assert RetryPolicy(retries=5).decide(TimeoutError(), 1, max_attempts=1) is None


def test_decision_uses_the_policy_backoff() -> None:
    policy = RetryPolicy(retries=5, backoff=Backoff(base=10 * S, cap=25 * S))
    assert policy.decide(OSError(), 1, rand=lambda: 0.5) == RetryDecision(5 * S)
    assert policy.decide(OSError(), 3, rand=top) == RetryDecision(25 * S)


@pytest.mark.parametrize(
    "error",
    [
        TypeError("bad argument"),
        ValueError("bad value"),
        json.JSONDecodeError("bad json", "{", 0),  # a ValueError
        PermanentError("the user was deleted"),
        ResultTooLarge(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_permanent_errors_are_not_retried(error: BaseException) -> None:
    policy = RetryPolicy(retries=10)
    assert policy.is_permanent(error)
    assert policy.decide(error, 1) is None


@pytest.mark.parametrize(
    "error",
    [RuntimeError(), TimeoutError(), ConnectionError(), TaskTimeout(), KeyError("x")],
    ids=lambda e: type(e).__name__,
)
def test_transient_errors_are_retried(error: BaseException) -> None:
    policy = RetryPolicy(retries=1)
    assert not policy.is_permanent(error)
    assert policy.decide(error, 1, rand=top) == RetryDecision(1 * S)


def test_default_permanent_errors() -> None:
    assert set(DEFAULT_PERMANENT) == {PermanentError, TypeError, ValueError}


def test_custom_permanent_errors() -> None:
    class QuotaExceeded(Exception):
        pass

    policy = RetryPolicy(retries=3, permanent=(*DEFAULT_PERMANENT, QuotaExceeded))
    assert policy.decide(QuotaExceeded(), 1) is None
    assert policy.decide(TypeError(), 1) is None
    only_custom = RetryPolicy(retries=3, permanent=(QuotaExceeded,))
    assert only_custom.decide(ValueError(), 1, rand=top) == RetryDecision(1 * S)
