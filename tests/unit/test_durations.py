"""durations: every accepted form, the errors, and the shortest formatting (no I/O)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentcron.durations import format_duration, parse_duration
from agentcron.errors import InvalidDuration, ValidationError

S = timedelta(seconds=1)
MS = timedelta(milliseconds=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", 500 * MS),
        ("30s", 30 * S),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("0s", timedelta(0)),
        ("1.5h", timedelta(minutes=90)),
        ("0.25s", 250 * MS),
        # combinations, in any order, with spaces
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("30m1h", timedelta(minutes=90)),
        ("  5m  ", timedelta(minutes=5)),
        ("5 m", timedelta(minutes=5)),
        # words
        ("2 hours", timedelta(hours=2)),
        ("1 hour 30 minutes", timedelta(minutes=90)),
        ("10 mins", timedelta(minutes=10)),
        ("45 sec", 45 * S),
        ("3 days", timedelta(days=3)),
        ("2 weeks", timedelta(weeks=2)),
        ("100 milliseconds", 100 * MS),
        ("5M", timedelta(minutes=5)),  # case does not matter
        # a bare number is seconds
        ("90", 90 * S),
        ("1.5", 1500 * MS),
        # ISO 8601
        ("PT1H30M", timedelta(minutes=90)),
        ("PT30S", 30 * S),
        ("PT0.5S", 500 * MS),
        ("P1D", timedelta(days=1)),
        ("P1W", timedelta(weeks=1)),
        ("P1DT12H", timedelta(hours=36)),
        ("P2W3D", timedelta(days=17)),
        ("PT1.5H", timedelta(minutes=90)),
        ("pt5m", timedelta(minutes=5)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90, 90 * S), (0, timedelta(0)), (1.5, 1500 * MS), (timedelta(hours=1), timedelta(hours=1))],
)
def test_parse_numbers_and_timedeltas(value: int | float | timedelta, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "", "   ", "abc", "5x", "5mm", "m", "1h30", "h1", "-5m", "5m-", "1,5h", "5 m x",
        "P", "PT", "P1H", "PT1D", "P1Y", "P1M", "PTS", "1h P1D", "∞",
        True, False, float("nan"), float("inf"), float("-inf"),
    ],
)  # fmt: skip
def test_invalid_durations(value: str | float | bool) -> None:
    with pytest.raises(InvalidDuration):
        parse_duration(value)


@pytest.mark.parametrize(
    "value",
    [
        "1e400",
        "99999999999w",
        "P9999999999W",
        "99999999999999999999999",
        1e20,
        10**30,
    ],
)
def test_durations_too_large_are_invalid_not_a_crash(value: str | float) -> None:
    """An oversized duration is a 4xx naming the field, not an OverflowError (a 500)."""
    with pytest.raises(InvalidDuration) as caught:
        parse_duration(value, field="timeout")
    assert caught.value.field == "timeout"


def test_errors_name_the_field() -> None:
    with pytest.raises(InvalidDuration) as caught:
        parse_duration("soon", field="timeout")
    assert caught.value.field == "timeout"
    assert str(caught.value).startswith("timeout: ")
    assert "soon" in str(caught.value)
    assert isinstance(caught.value, ValidationError)


def test_unknown_unit_is_named() -> None:
    with pytest.raises(InvalidDuration, match="'y'"):
        parse_duration("5y")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (500 * MS, "500ms"),
        (30 * S, "30s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(weeks=2, seconds=1), "2w1s"),
        (timedelta(seconds=61, milliseconds=5), "1m1s5ms"),
        (-timedelta(minutes=5), "-5m"),
        (timedelta(microseconds=400), "0s"),  # below a millisecond
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize(
    "text", ["500ms", "30s", "5m", "1h30m", "1d", "1w", "2w3d4h5m6s7ms", "PT1H30M", "90"]
)
def test_format_then_parse_round_trips(text: str) -> None:
    value = parse_duration(text)
    assert parse_duration(format_duration(value)) == value
