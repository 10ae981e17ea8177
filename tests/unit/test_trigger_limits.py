"""Limits on what a trigger may ask for: intervals of at least 1 s, and jitter no longer than
the trigger's period (`agentcron.triggers.period`), refused at the edge naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcron.errors import InvalidTrigger, ValidationError
from agentcron.specs import build_schedule
from agentcron.triggers import (
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    ManualTrigger,
    parse_trigger,
    period,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    "trigger",
    ["every 1ms", "every 500ms", "every 999ms", "interval:0.5", "every 0.1s", {"every": "0.1s"},
     {"interval": 0.5}, {"every": "PT0.5S"}, "every 500 milliseconds"],
)  # fmt: skip
def test_intervals_under_one_second_are_refused(trigger: Any) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse_trigger(trigger, now=T0)
    assert info.value.field == "every"
    assert "interval must be at least 1s" in info.value.message


@pytest.mark.parametrize(
    ("trigger", "every"),
    [("every 1s", timedelta(seconds=1)), ("every 1.5s", timedelta(seconds=1.5)),
     ("interval:1", timedelta(seconds=1))],
)  # fmt: skip
def test_one_second_is_the_shortest_interval(trigger: str, every: timedelta) -> None:
    parsed = parse_trigger(trigger, now=T0)
    assert isinstance(parsed, IntervalTrigger)
    assert parsed.every == every


def test_a_cron_with_seconds_still_fires_every_second() -> None:
    parsed = parse_trigger("cron: * * * * * *", now=T0)
    assert period(parsed, T0) == timedelta(seconds=1)


def test_building_a_schedule_refuses_a_sub_second_interval_naming_the_trigger() -> None:
    with pytest.raises(InvalidTrigger) as info:
        build_schedule(task="t", trigger="every 1ms", now=T0)
    assert info.value.field == "trigger"
    assert info.value.message.startswith("every: interval must be at least 1s, got 1ms")


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (IntervalTrigger(timedelta(minutes=7)), timedelta(minutes=7)),
        (CronTrigger("*/5 * * * *"), timedelta(minutes=5)),
        (CronTrigger("0 9 * * 1-5"), timedelta(days=1)),  # Mon-Fri: 1 day (3 over the weekend)
        (CronTrigger("0 9,17 * * *"), timedelta(hours=8)),
        (CronTrigger("0 0 1 * *"), timedelta(days=28)),  # February's
        (DateTrigger(T0 + timedelta(days=1)), None),
        (ManualTrigger(), None),
    ],
)
def test_period_is_the_shortest_gap_between_fires(trigger: Any, expected: Any) -> None:
    assert period(trigger, T0) == expected


def test_a_cron_that_fires_once_more_has_no_period() -> None:
    last = datetime(9999, 12, 31, 12, tzinfo=UTC)
    assert period(CronTrigger("0 0 31 12 *"), last) is None


@pytest.mark.parametrize(
    ("trigger", "jitter", "shortest"),
    [
        ("every 5m", "6m", "5m"),
        ("*/5 * * * *", "5m1s", "5m"),
        ("0 9 * * 1-5", "25h", "1d"),
        ("cron: */10 * * * * *", "11s", "10s"),
    ],
)
def test_a_schedule_jitter_longer_than_the_period_is_refused(
    trigger: str, jitter: str, shortest: str
) -> None:
    with pytest.raises(ValidationError) as info:
        build_schedule(task="t", trigger=trigger, jitter=jitter, now=T0)
    assert info.value.field == "jitter"
    assert f"longer than the trigger's period ({shortest})" in info.value.message


@pytest.mark.parametrize(
    ("trigger", "jitter"),
    [("every 5m", "5m"), ("*/5 * * * *", "4m"), ("0 9 * * 1-5", "1d"), ("every 1m", 0),
     ("at 2026-06-01T09:00:00Z", "1w"), ("manual", "1h")],
)  # fmt: skip
def test_jitter_up_to_the_period_is_kept(trigger: str, jitter: Any) -> None:
    """A one-time or manual trigger has no period: any jitter spreads its one run."""
    spec = build_schedule(task="t", trigger=trigger, jitter=jitter, now=T0).spec
    assert spec.jitter is not None


@pytest.mark.parametrize("trigger", ["every 5m jitter 6m", {"every": "5m", "jitter": "10m"}])
def test_an_interval_jitter_longer_than_the_interval_is_refused(trigger: Any) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse_trigger(trigger, now=T0)
    assert info.value.field == "jitter"
    assert "must not be longer than the interval (5m)" in info.value.message
    with pytest.raises(InvalidTrigger) as built:
        build_schedule(task="t", trigger=trigger, now=T0)
    assert built.value.message.startswith("jitter: must not be longer than the interval")
