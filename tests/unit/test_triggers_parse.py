"""The trigger grammar: string forms, object forms, normalized objects, errors, descriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcron.errors import InvalidTimezone, InvalidTrigger, ValidationError
from agentcron.triggers import (
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    ManualTrigger,
    Trigger,
    next_times,
    parse_trigger,
    to_stored,
    trigger_from_dict,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def parse(value: Any, **kwargs: Any) -> Trigger:
    return parse_trigger(value, now=NOW, **kwargs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0 9 * * 1-5", {"cron": "0 9 * * 1-5", "timezone": "UTC"}),
        ("*/5 * * * * *", {"cron": "*/5 * * * * *", "timezone": "UTC"}),
        ("cron: 0 9 * * 1-5", {"cron": "0 9 * * 1-5", "timezone": "UTC"}),
        ("CRON:0   9 * *   mon-fri", {"cron": "0 9 * * MON-FRI", "timezone": "UTC"}),
        ("@yearly", {"cron": "0 0 1 1 *", "timezone": "UTC"}),
        ("@annually", {"cron": "0 0 1 1 *", "timezone": "UTC"}),
        ("@monthly", {"cron": "0 0 1 * *", "timezone": "UTC"}),
        ("@weekly", {"cron": "0 0 * * 0", "timezone": "UTC"}),
        ("@daily", {"cron": "0 0 * * *", "timezone": "UTC"}),
        ("@MIDNIGHT", {"cron": "0 0 * * *", "timezone": "UTC"}),
        ("@hourly", {"cron": "0 * * * *", "timezone": "UTC"}),
        ("every 5m", {"every": "5m"}),
        ("every 1h30m", {"every": "1h30m"}),
        ("every 5 minutes", {"every": "5m"}),
        ("every PT5M", {"every": "5m"}),
        ("interval:300", {"every": "5m"}),
        ("interval: 90", {"every": "1m30s"}),
        ("every 5m jitter 10s", {"every": "5m", "jitter": "10s"}),
        ("at 2026-12-01T09:00:00+01:00", {"at": "2026-12-01T08:00:00Z"}),
        ("at 2026-12-01T08:00:00Z", {"at": "2026-12-01T08:00:00Z"}),
        ("at 2026-12-01 08:00", {"at": "2026-12-01T08:00:00Z"}),
        ("in 30m", {"at": "2026-01-01T12:30:00Z"}),
        ("in 2 hours", {"at": "2026-01-01T14:00:00Z"}),
        ("manual", {"manual": True}),
        ("  Manual  ", {"manual": True}),
        ("  EVERY 5M  ", {"every": "5m"}),
    ],
)
def test_string_forms(text: str, expected: dict[str, Any]) -> None:
    assert parse(text).to_dict() == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"cron": "0 9 * * 1-5"}, {"cron": "0 9 * * 1-5", "timezone": "UTC"}),
        (
            {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
            {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
        ),
        ({"cron": "@daily"}, {"cron": "0 0 * * *", "timezone": "UTC"}),
        ({"every": "5m"}, {"every": "5m"}),
        ({"every": 300}, {"every": "5m"}),
        ({"interval": 300}, {"every": "5m"}),
        (
            {
                "every": "1h",
                "start": "2026-01-01T09:00:00+01:00",
                "end": "2026-02-01T00:00:00Z",
                "jitter": "10s",
            },
            {
                "every": "1h",
                "start": "2026-01-01T08:00:00Z",
                "end": "2026-02-01T00:00:00Z",
                "jitter": "10s",
            },
        ),
        ({"at": "2026-12-01T09:00:00+01:00"}, {"at": "2026-12-01T08:00:00Z"}),
        ({"in": "30m"}, {"at": "2026-01-01T12:30:00Z"}),
        ({"manual": True}, {"manual": True}),
        ({"version": 1, "every": "5m"}, {"every": "5m"}),
    ],
)
def test_object_forms(data: dict[str, Any], expected: dict[str, Any]) -> None:
    assert parse(data).to_dict() == expected


def test_kinds_and_protocol() -> None:
    kinds = {
        "0 9 * * *": (CronTrigger, "cron"),
        "every 5m": (IntervalTrigger, "interval"),
        "in 5m": (DateTrigger, "date"),
        "manual": (ManualTrigger, "manual"),
    }
    for text, (cls, kind) in kinds.items():
        trigger = parse(text)
        assert isinstance(trigger, cls)
        assert isinstance(trigger, Trigger)
        assert trigger.kind == kind


def test_a_trigger_is_returned_as_is() -> None:
    trigger = IntervalTrigger(timedelta(minutes=5))
    assert parse_trigger(trigger) is trigger


def test_schedule_timezone_applies_to_cron_and_naive_times() -> None:
    cron = parse("0 9 * * *", timezone="Europe/Berlin")
    assert cron.to_dict() == {"cron": "0 9 * * *", "timezone": "Europe/Berlin"}
    assert parse("at 2026-07-01T09:00", timezone="Europe/Berlin").to_dict() == {
        "at": "2026-07-01T07:00:00Z"
    }
    explicit = parse({"cron": "0 9 * * *", "timezone": "Asia/Tokyo"}, timezone="Europe/Berlin")
    assert explicit.to_dict()["timezone"] == "Asia/Tokyo"


def test_utc_aliases_normalize_to_utc() -> None:
    assert parse({"cron": "0 9 * * *", "timezone": "Etc/UTC"}).to_dict()["timezone"] == "UTC"


def test_now_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC)
    trigger = parse_trigger("in 1h")
    assert isinstance(trigger, DateTrigger)
    assert before + timedelta(hours=1) <= trigger.at <= datetime.now(UTC) + timedelta(hours=1)


ROUND_TRIP = [
    "0 9 * * 1-5",
    "*/5 * * * * *",
    "0 0 L * *",
    "0 12 * * MON#2",
    "every 5m",
    "every 1h30m jitter 10s",
    "at 2026-12-01T09:00:00+01:00",
    "in 30m",
    "manual",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_round_trip(text: str, zone: str) -> None:
    trigger = parse(text, timezone=zone)
    for data in (trigger.to_dict(), to_stored(trigger)):
        again = trigger_from_dict(data)
        assert again == trigger
        assert again.to_dict() == trigger.to_dict()
        assert next_times(again, NOW, 20) == next_times(trigger, NOW, 20)


def test_round_trip_interval_with_start_and_end() -> None:
    trigger = IntervalTrigger(
        every=timedelta(minutes=7),
        start=datetime(2026, 1, 1, 9, 0, 3, tzinfo=UTC),
        end=datetime(2026, 1, 2, tzinfo=UTC),
        jitter=timedelta(seconds=5),
    )
    again = trigger_from_dict(to_stored(trigger))
    assert again == trigger
    assert next_times(again, NOW, 50) == next_times(trigger, NOW, 50)


def test_to_stored_adds_the_version() -> None:
    assert to_stored(parse("every 5m")) == {"version": 1, "every": "5m"}


@pytest.mark.parametrize("version", [2, 0, "1", None, True])
def test_other_versions_are_rejected(version: Any) -> None:
    with pytest.raises(InvalidTrigger) as info:
        trigger_from_dict({"version": version, "every": "5m"})
    assert info.value.field == "version"


@pytest.mark.parametrize(
    ("value", "error", "field", "words"),
    [
        ("61 * * * *", InvalidTrigger, "cron", "minute must be 0-59, got 61"),
        ("0 24 * * *", InvalidTrigger, "cron", "hour must be 0-23, got 24"),
        ("0 0 * 13 *", InvalidTrigger, "cron", "month must be 1-12, got 13"),
        ("0 0 0 * *", InvalidTrigger, "cron", "day-of-month must be 1-31, got 0"),
        ("0 0 * * 8", InvalidTrigger, "cron", "day-of-week must be 0-7, got 8"),
        ("61 0 * * * *", InvalidTrigger, "cron", "second must be 0-59, got 61"),
        ("*/0 * * * *", InvalidTrigger, "cron", "step must be at least 1"),
        ("0 0 31 2 *", InvalidTrigger, "cron", "day-of-month"),
        ("cron: 0 9 * *", InvalidTrigger, "cron", "expected 5 fields"),
        ("@reboot", InvalidTrigger, "cron", "unknown cron shortcut"),
        ("every 0s", InvalidTrigger, "every", "interval must be greater than 0"),
        ("every -5m", InvalidTrigger, "every", "interval must be greater than 0"),
        ("every 5 parsecs", InvalidTrigger, "every", "unknown unit"),
        ("every 5m jitter -1s", InvalidTrigger, "jitter", "must not be negative"),
        ("at tomorrow", InvalidTrigger, "at", "not an ISO 8601 time"),
        ("in -5m", InvalidTrigger, "in", "must not be negative"),
        ({"cron": "* * *"}, InvalidTrigger, "cron", "expected 5 fields"),
        ({"cron": 5}, InvalidTrigger, "cron", "expected a cron expression"),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, InvalidTimezone, "timezone", "Mars"),
        ({"cron": "0 9 * * *", "timezone": ["UTC"]}, InvalidTimezone, "timezone", "not a time"),
        ({"foo": 1}, InvalidTrigger, "trigger", "'foo'"),
        ({}, InvalidTrigger, "trigger", "empty trigger object"),
        ({"every": "5m", "cron": "* * * * *"}, InvalidTrigger, "trigger", "exactly one kind"),
        ({"every": "5m", "colour": "red"}, InvalidTrigger, "trigger", "'colour'"),
        ({"manual": False}, InvalidTrigger, "manual", "manual"),
        ({"every": [5]}, InvalidTrigger, "every", "expected a duration"),
        ({"at": None}, InvalidTrigger, "at", "ISO 8601"),
        ({"every": "5m", "start": "soon"}, InvalidTrigger, "start", "ISO 8601"),
        (
            {"every": "5m", "start": "2026-02-01T00:00Z", "end": "2026-01-01T00:00Z"},
            InvalidTrigger,
            "end",
            "before start",
        ),
        ("", InvalidTrigger, "trigger", "empty trigger"),
        ("   ", InvalidTrigger, "trigger", "empty trigger"),
        (None, InvalidTrigger, "trigger", "expected a trigger"),
        (300, InvalidTrigger, "trigger", "expected a trigger"),
        ("evry 5m", InvalidTrigger, "trigger", "could not read trigger 'evry 5m'"),
        ("5 minutes", InvalidTrigger, "trigger", "'every 5m'"),
    ],
)
def test_bad_input(value: Any, error: type[ValidationError], field: str, words: str) -> None:
    with pytest.raises(error) as info:
        parse(value)
    assert info.value.field == field
    assert words in str(info.value)


def test_unrecognized_text_lists_the_forms() -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse("evry 5m")
    assert info.value.message == (
        "could not read trigger 'evry 5m': expected a cron expression, @daily, 'every 5m', "
        "'at <ISO time>', 'in 30m' or 'manual'"
    )


def test_unknown_schedule_timezone() -> None:
    with pytest.raises(InvalidTimezone) as info:
        parse("0 9 * * *", timezone="Mars/Olympus")
    assert info.value.field == "timezone"
    with pytest.raises(InvalidTimezone):
        CronTrigger("0 9 * * *", "Mars/Olympus")


def test_constructors_validate() -> None:
    with pytest.raises(InvalidTrigger, match="greater than 0"):
        IntervalTrigger(timedelta(0))
    with pytest.raises(InvalidTrigger, match="timezone-aware"):
        IntervalTrigger(timedelta(minutes=5), start=datetime(2026, 1, 1))
    with pytest.raises(InvalidTrigger, match="timezone-aware"):
        DateTrigger(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualTrigger().next_after(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (
            {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
            "At 09:00 on Monday through Friday (Europe/Berlin)",
        ),
        ("@daily", "At 00:00 every day (UTC)"),
        ("0 0 L * *", "At 00:00 on the last day of every month (UTC)"),
        ("every 5m", "every 5 minutes"),
        ("every 1h", "every hour"),
        ("every 1h30m", "every 1 hour 30 minutes"),
        ("every 5m jitter 10s", "every 5 minutes (jitter up to 10 seconds)"),
        (
            {"every": "1d", "start": "2026-01-01T09:00:00Z", "end": "2026-02-01T00:00:00Z"},
            "every day from 2026-01-01 09:00 UTC until 2026-02-01 00:00 UTC",
        ),
        ("at 2026-12-01T09:00:00+01:00", "once at 2026-12-01 08:00 UTC"),
        ("manual", "only on demand"),
    ],
)
def test_describe(value: Any, text: str) -> None:
    assert parse(value).describe() == text


def test_jitter_property() -> None:
    assert parse("every 5m jitter 10s").jitter == timedelta(seconds=10)
    for text in ("every 5m", "0 9 * * *", "in 5m", "manual"):
        assert parse(text).jitter is None
