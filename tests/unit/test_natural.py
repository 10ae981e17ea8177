"""Natural-language triggers: plain English parsed INTO cron, interval and date triggers.

Relative phrases are read against a fixed "now": Friday 2026-11-20 10:00 UTC (11:00 in
Europe/Berlin, which is on CET, UTC+1, until 2027-03-28).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from agentcron.cli import app as cli_app
from agentcron.errors import InvalidTimezone, InvalidTrigger
from agentcron.specs import build_schedule
from agentcron.triggers import (
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    next_times,
    parse_trigger,
    trigger_from_dict,
)
from agentcron.triggers._context import ParseContext
from agentcron.triggers._words import cron_words
from agentcron.triggers.natural import read_natural

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday
BERLIN = "Europe/Berlin"


def cron(expr: str, zone: str = "UTC") -> dict[str, Any]:
    return {"cron": expr, "timezone": zone}


def every(text: str) -> dict[str, Any]:
    return {"every": text}


def at(text: str) -> dict[str, Any]:
    return {"at": text}


# (phrase, the schedule's timezone argument, normalized trigger)
PHRASES: list[tuple[str, str | None, dict[str, Any]]] = [
    # -- intervals: "every <duration>" is elapsed time, like "every 5m" --------------------
    ("every 15 minutes", None, every("15m")),
    ("every 2 hours", None, every("2h")),
    ("every hour", None, every("1h")),
    ("every day", None, every("1d")),
    ("every minute", None, every("1m")),
    ("every second", None, every("1s")),
    ("every week", None, every("1w")),
    ("every 10 seconds", None, every("10s")),
    ("every other day", None, every("2d")),
    ("every other hour", None, every("2h")),
    ("every other week", None, every("2w")),
    ("every second day", None, every("2d")),
    ("every third hour", None, every("3h")),
    ("every two hours", None, every("2h")),
    ("every half hour", None, every("30m")),
    ("every quarter of an hour", None, every("15m")),
    ("every 1 hour and 30 minutes", None, every("1h30m")),
    ("Every 15 Minutes", None, every("15m")),
    ("each hour", None, every("1h")),
    ("every 30 minutes UTC", BERLIN, every("30m")),
    ("every hour jitter 30s", None, {"every": "1h", "jitter": "30s"}),
    # -- the -ly words: calendar-aligned, like @hourly / @daily ---------------------------
    ("hourly", None, cron("0 * * * *")),
    ("daily", None, cron("0 0 * * *")),
    ("weekly", None, cron("0 0 * * 0")),
    ("monthly", None, cron("0 0 1 * *")),
    ("yearly", None, cron("0 0 1 1 *")),
    ("annually", None, cron("0 0 1 1 *")),
    ("every month", None, cron("0 0 1 * *")),
    ("every year", None, cron("0 0 1 1 *")),
    ("daily at 7", None, cron("0 7 * * *")),
    ("hourly at :15", None, cron("15 * * * *")),
    ("every hour at :30", None, cron("30 * * * *")),
    ("hourly on weekdays", None, cron("0 * * * 1-5")),
    ("weekly on mondays at 9", None, cron("0 9 * * 1")),
    ("every week on monday at 9", None, cron("0 9 * * 1")),
    ("monthly on the 15th at 8am", None, cron("0 8 15 * *")),
    # -- days of the week at times of day -----------------------------------------------
    ("every weekday at 9am", None, cron("0 9 * * 1-5")),
    ("every monday and friday at 17:30", None, cron("30 17 * * 1,5")),
    ("every tuesday at noon", None, cron("0 12 * * 2")),
    ("on weekdays at 9", None, cron("0 9 * * 1-5")),
    ("weekdays at 9", None, cron("0 9 * * 1-5")),
    ("9am every weekday", None, cron("0 9 * * 1-5")),
    ("at 9 on weekdays", None, cron("0 9 * * 1-5")),
    ("every weekend at 10", None, cron("0 10 * * 0,6")),
    ("every saturday and sunday at 10:30", None, cron("30 10 * * 0,6")),
    ("every monday, wednesday and friday at 8", None, cron("0 8 * * 1,3,5")),
    ("every mon, tue & wed at 8", None, cron("0 8 * * 1-3")),
    ("mondays and fridays at 5pm", None, cron("0 17 * * 1,5")),
    ("every monday to friday at 9", None, cron("0 9 * * 1-5")),
    ("mon-fri at 9", None, cron("0 9 * * 1-5")),
    ("every sunday at 12am", None, cron("0 0 * * 0")),
    ("every day at 7", None, cron("0 7 * * *")),
    ("every day at 9:30 pm", None, cron("30 21 * * *")),
    ("every day at 21:15", None, cron("15 21 * * *")),
    ("every day at midnight", None, cron("0 0 * * *")),
    ("every day at 12pm", None, cron("0 12 * * *")),
    ("every day at half past 8", None, cron("30 8 * * *")),
    ("every day at quarter past 9", None, cron("15 9 * * *")),
    ("every day at quarter to 5", None, cron("45 4 * * *")),
    ("every day at quarter to midnight", None, cron("45 23 * * *")),
    ("every day at 20 past 6", None, cron("20 6 * * *")),
    ("every day at half past 8 pm", None, cron("30 20 * * *")),
    ("every day at 9 o'clock", None, cron("0 9 * * *")),
    ("every day at 9 a.m.", None, cron("0 9 * * *")),
    ("every day at 9 and 17", None, cron("0 9,17 * * *")),
    ("every day at 9:00, 12:00 and 17:00", None, cron("0 9,12,17 * * *")),
    ("every day at 9:30:15", None, cron("15 30 9 * * *")),
    ("EVERY WEEKDAY AT 9AM", None, cron("0 9 * * 1-5")),
    ("  every   weekday  at 9am. ", None, cron("0 9 * * 1-5")),
    # -- intervals on some days become cron when they divide the hour / day ---------------
    ("every 15 minutes on weekdays", None, cron("*/15 * * * 1-5")),
    ("every hour on weekdays", None, cron("0 * * * 1-5")),
    ("every 2 hours on weekends", None, cron("0 */2 * * 0,6")),
    ("every 30 seconds on weekdays", None, cron("*/30 * * * * 1-5")),
    # -- days of the month and of the year -----------------------------------------------
    ("every month on the 15th at 8am", None, cron("0 8 15 * *")),
    ("last day of every month at 23:00", None, cron("0 23 L * *")),
    ("first day of every month at 8", None, cron("0 8 1 * *")),
    ("first monday of every month at 10", None, cron("0 10 * * 1#1")),
    ("every month on the first monday at 10", None, cron("0 10 * * 1#1")),
    ("every month on the last day at 23:00", None, cron("0 23 L * *")),
    ("on the 1st and 15th of every month at 9", None, cron("0 9 1,15 * *")),
    ("the 1st of every month at 9", None, cron("0 9 1 * *")),
    ("15th of each month at 12:00", None, cron("0 12 15 * *")),
    ("second tuesday of every month at 9", None, cron("0 9 * * 2#2")),
    ("last friday of the month at 5pm", None, cron("0 17 * * 5L")),
    ("every last friday at 5pm", None, cron("0 17 * * 5L")),
    ("last weekday of every month at 18:00", None, cron("0 18 LW * *")),
    ("every year on december 25 at 9", None, cron("0 9 25 12 *")),
    ("on jan 1st every year at midnight", None, cron("0 0 1 1 *")),
    ("yearly on july 4 at noon", None, cron("0 12 4 7 *")),
    # -- a time zone in the phrase wins over the schedule's -----------------------------
    ("every weekday at 9am Europe/Berlin", None, cron("0 9 * * 1-5", BERLIN)),
    ("every weekday at 9am in europe/berlin", None, cron("0 9 * * 1-5", BERLIN)),
    ("every weekday at 9am UTC", BERLIN, cron("0 9 * * 1-5")),
    ("every weekday at 9am", BERLIN, cron("0 9 * * 1-5", BERLIN)),
    ("daily at 7 America/New_York", BERLIN, cron("0 7 * * *", "America/New_York")),
    ("every day at 2:30", BERLIN, cron("30 2 * * *", BERLIN)),
    ("0 9 * * 1-5 Europe/Berlin", None, cron("0 9 * * 1-5", BERLIN)),
    # -- one time, UTC: now is Friday 2026-11-20 10:00 ------------------------------------
    ("at 17:00", None, at("2026-11-20T17:00:00Z")),  # still ahead today
    ("at 9", None, at("2026-11-21T09:00:00Z")),  # passed: tomorrow
    ("at 10:00", None, at("2026-11-21T10:00:00Z")),  # now is not ahead
    ("at noon", None, at("2026-11-20T12:00:00Z")),
    ("at midnight", None, at("2026-11-21T00:00:00Z")),
    ("in 2 hours", None, at("2026-11-20T12:00:00Z")),
    ("in 30 minutes", None, at("2026-11-20T10:30:00Z")),
    ("in an hour", None, at("2026-11-20T11:00:00Z")),
    ("in half an hour", None, at("2026-11-20T10:30:00Z")),
    ("in two hours", None, at("2026-11-20T12:00:00Z")),
    ("in 1 hour and 30 minutes", None, at("2026-11-20T11:30:00Z")),
    ("in 2 days at 9", None, at("2026-11-22T09:00:00Z")),
    ("tomorrow at 10", None, at("2026-11-21T10:00:00Z")),
    ("at 10 tomorrow", None, at("2026-11-21T10:00:00Z")),
    ("tomorrow at noon", None, at("2026-11-21T12:00:00Z")),
    ("today at 15:00", None, at("2026-11-20T15:00:00Z")),
    ("next friday at 9am", None, at("2026-11-27T09:00:00Z")),  # today is Friday: next week
    ("next monday at 8:30", None, at("2026-11-23T08:30:00Z")),
    ("on 2026-12-01 at 9", None, at("2026-12-01T09:00:00Z")),
    ("2026-12-01 at 9", None, at("2026-12-01T09:00:00Z")),
    ("at 9 on 2026-12-01", None, at("2026-12-01T09:00:00Z")),
    ("at 2026-12-01 9am", None, at("2026-12-01T09:00:00Z")),
    ("on 2026-12-01", None, at("2026-12-01T00:00:00Z")),
    ("on december 25 at 9", None, at("2026-12-25T09:00:00Z")),
    ("on dec 1st, 2027 at 9", None, at("2027-12-01T09:00:00Z")),
    ("on 1 january at 8", None, at("2027-01-01T08:00:00Z")),
    ("on november 20 at 9", None, at("2027-11-20T09:00:00Z")),  # passed this year
    ("on february 29 at 9", None, at("2028-02-29T09:00:00Z")),
    ("noon", None, at("2026-11-20T12:00:00Z")),
    # -- one time in Europe/Berlin (CET, UTC+1 in November; CEST, UTC+2 in summer) --------
    ("at 17:00", BERLIN, at("2026-11-20T16:00:00Z")),
    ("at 11", BERLIN, at("2026-11-21T10:00:00Z")),  # 11:00 local is now: tomorrow
    ("tomorrow at 10", BERLIN, at("2026-11-21T09:00:00Z")),
    ("next friday at 9am", BERLIN, at("2026-11-27T08:00:00Z")),
    ("on 2026-07-01 at 9", BERLIN, at("2026-07-01T07:00:00Z")),
    ("on 2026-03-29 at 2:30", BERLIN, at("2026-03-29T01:00:00Z")),  # gap: 03:00 CEST
    ("on 2026-10-25 at 2:30", BERLIN, at("2026-10-25T00:30:00Z")),  # twice: the first
    ("tomorrow at 10 UTC", BERLIN, at("2026-11-21T10:00:00Z")),
    ("at 9 Asia/Tokyo", None, at("2026-11-21T00:00:00Z")),  # 19:00 in Tokyo now
]


def parse(text: str, zone: str | None = None, now: datetime = NOW) -> Any:
    return parse_trigger(text, timezone=zone, now=now)


def test_the_table_is_large_and_has_no_repeats() -> None:
    assert len(PHRASES) >= 80
    assert len({(text, zone) for text, zone, _ in PHRASES}) == len(PHRASES)


@pytest.mark.parametrize(("text", "zone", "expected"), PHRASES)
def test_phrase(text: str, zone: str | None, expected: dict[str, Any]) -> None:
    assert parse(text, zone).to_dict() == expected


@pytest.mark.parametrize(("text", "zone", "expected"), PHRASES)
def test_phrase_is_deterministic_described_and_round_trips(
    text: str, zone: str | None, expected: dict[str, Any]
) -> None:
    trigger = parse(text, zone)
    again = parse(text, zone)
    assert again == trigger
    assert again.to_dict() == trigger.to_dict()
    assert trigger.describe().strip()
    assert trigger_from_dict(trigger.to_dict()) == trigger
    kind = {"cron": CronTrigger, "every": IntervalTrigger, "at": DateTrigger}[next(iter(expected))]
    assert isinstance(trigger, kind)


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        # Saturday before spring-forward: 02:30 does not exist on Sunday, 03:00 CEST instead
        ("tomorrow at 2:30", datetime(2026, 3, 28, 12, tzinfo=UTC), "2026-03-29T01:00:00Z"),
        # Saturday before fall-back: 02:30 happens twice on Sunday, the first (CEST) counts
        ("tomorrow at 2:30", datetime(2026, 10, 24, 12, tzinfo=UTC), "2026-10-25T00:30:00Z"),
        # "at" after the switch: same wall time, a different offset
        ("at 9", datetime(2026, 3, 28, 12, tzinfo=UTC), "2026-03-29T07:00:00Z"),
        ("at 9", datetime(2026, 10, 24, 12, tzinfo=UTC), "2026-10-25T08:00:00Z"),
        # elapsed time is not wall time: 2 real hours across the gap
        ("in 2 hours", datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "2026-03-29T02:30:00Z"),
        ("next sunday at 2:30", datetime(2026, 3, 27, 12, tzinfo=UTC), "2026-03-29T01:00:00Z"),
    ],
)
def test_one_time_phrases_follow_the_dst_policy(text: str, now: datetime, expected: str) -> None:
    assert parse(text, BERLIN, now).to_dict() == {"at": expected}


def test_wall_clock_phrases_keep_local_time_across_dst() -> None:
    trigger = parse("every day at 2:30 Europe/Berlin")
    fires = next_times(trigger, datetime(2026, 3, 27, 12, tzinfo=UTC), 3)
    assert fires == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:30 does not exist: 03:00 CEST
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),  # 02:30 CEST
    ]
    weekdays = parse("every weekday at 9am Europe/Berlin")
    fires = next_times(weekdays, datetime(2026, 10, 23, 12, tzinfo=UTC), 2)
    assert fires == [
        datetime(2026, 10, 26, 8, 0, tzinfo=UTC),  # Monday after fall-back: CET
        datetime(2026, 10, 27, 8, 0, tzinfo=UTC),
    ]


# -- errors ------------------------------------------------------------------------------------
TRY = (
    "try 'every weekday at 9am', 'every monday and friday at 17:30', "
    "'first day of every month at 8', 'in 2 hours'"
)


def test_unknown_words_are_named_with_examples() -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse("every blursday at 9")
    assert info.value.field == "trigger"
    assert info.value.message == (
        f"could not read 'every blursday at 9': did not understand 'blursday'; {TRY}"
    )


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("every Blursday and Zorkday at 9", "trigger", "did not understand 'Blursday', 'Zorkday'"),
        ("every weekday at 9 blah", "trigger", "did not understand 'blah'"),
        ("blursday at 9", "trigger", "did not understand 'blursday'"),
        ("every weekday at 9 of", "trigger", "understood 'every weekday at 9'"),
        ("every", "trigger", "after 'every', got the end of the phrase"),
        ("every weekday at", "trigger", "the end of the phrase is not a time of day"),
        ("at tomorrow", "at", "not an ISO 8601 time"),
        ("at blursday", "at", "did not understand 'blursday'"),
        ("every weekday at 25", "trigger", "'25' is not a time of day"),
        ("every day at 13pm", "trigger", "'13pm' is not a time of day"),
        ("every day at 9:75", "trigger", "'9:75' is not a time of day"),
        ("every monday", "trigger", "needs a time of day"),
        ("tomorrow", "trigger", "'tomorrow' needs a time of day"),
        ("next friday", "trigger", "'next friday' needs a time of day"),
        ("next blursday at 9", "trigger", "did not understand 'blursday'"),
        ("next week at 9", "trigger", "expected a day after 'next'"),
        ("on monday at 9", "trigger", "could mean every monday or just the next one"),
        ("today at 9", "trigger", "today at 09:00 has already passed"),
        ("every other month at 9", "trigger", "cannot be written as cron"),
        ("every 2 days at 9", "trigger", "cannot be written as cron"),
        ("every second tuesday at 9", "trigger", "could mean every other week"),
        ("every 7 minutes on weekdays", "trigger", "cannot be written as cron"),
        ("every 90 minutes on weekdays", "trigger", "cannot be written as cron"),
        ("every 15 minutes at 9", "trigger", "do not go together"),
        ("every day at 9:00 and 17:30", "trigger", "make one schedule for each time"),
        ("at 9 and 17", "at", "a one-time trigger has one time"),
        ("every monday at 9 every friday at 10", "trigger", "it says both"),
        ("on the 15th at 9", "trigger", "of which month"),
        ("every month on the 15th on mondays at 9", "trigger", "cannot be combined"),
        ("6th monday of every month at 9", "trigger", "at most five"),
        ("32nd of every month at 9", "trigger", "1st to 31st"),
        ("first weekday of every month at 9", "trigger", "not supported"),
        ("every year on february 30 at 9", "trigger", "'february 30' is not a date"),
        ("on 2026-02-30 at 9", "trigger", "'2026-02-30' is not a date"),
        ("every year on 2026-12-25 at 9", "trigger", "cannot repeat yearly"),
        ("tomorrow at 9 every day", "trigger", "is one time but"),
        ("in 2 hours at 9", "trigger", "do not go together"),
        ("in blursdays", "trigger", "did not understand 'blursdays'"),
        ("in a while", "trigger", "did not understand 'while'"),
        ("every week at 9", "trigger", "on which day"),
        ("every day jitter 5s at 9", "trigger", "jitter goes with an interval"),
        ("at :15", "at", "goes with 'every hour'"),
    ],
)
def test_unreadable_phrases(text: str, field: str, words: str) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse(text)
    assert info.value.field == field
    assert words in info.value.message
    assert info.value.message.startswith(f"could not read {text!r}: ")


@pytest.mark.parametrize("text", ["", "   "])
def test_empty(text: str) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse(text)
    assert info.value.field == "trigger"
    assert "empty trigger" in info.value.message


@pytest.mark.parametrize("text", ["asdf qwer", "evry 5m", "5 minutes", "lorem ipsum dolor"])
def test_gibberish_gets_the_list_of_forms(text: str) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse(text)
    assert info.value.field == "trigger"
    assert f"could not read trigger {text!r}" in info.value.message
    assert "'every 5m'" in info.value.message


def test_an_unknown_zone_in_the_phrase() -> None:
    with pytest.raises(InvalidTimezone) as info:
        parse("every weekday at 9am Mars/Olympus")
    assert info.value.field == "timezone"
    assert "Mars/Olympus" in info.value.message


# -- the other forms keep their meaning --------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "0 9 * * 1-5",
        "0 9 * * mon",
        "5 4 * * sun",
        "*/5 * * * * *",
        "0 0 L * *",
        "0 12 * * MON#2",
        "@daily",
        "every 5m",
        "every 5 minutes",
        "every 2 hours",
        "every 1h30m jitter 10s",
        "every PT5M",
        "interval:300",
        "at 2026-12-01T09:00:00+01:00",
        "at 2026-12-01 08:00",
        "in 30m",
        "in 2 hours",
        "manual",
        # forms other readers may own: natural language leaves them alone
        "on user.signup",
        "on user.message debounce 30s max 5m",
        "idle 30m cooldown 2h",
        "idle 30m cooldown 2h for user:*",
        "after 20 messages",
        "after every 20 messages for user:42",
        "on run.*",
    ],
)
def test_natural_language_leaves_other_forms_alone(text: str) -> None:
    assert read_natural(text, ParseContext(now=NOW)) is None


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("every 5 parsecs", "every", "unknown unit"),
        ("every 0s", "every", "greater than 0"),
        ("in -5m", "in", "must not be negative"),
        ("0 9 * * blursday", "cron", "day-of-week"),
        ("61 * * * *", "cron", "minute must be 0-59"),
        ("at 2026-13-01T09:00", "at", "not an ISO 8601 time"),
    ],
)
def test_errors_of_other_forms_are_theirs(text: str, field: str, words: str) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse(text)
    assert info.value.field == field
    assert words in info.value.message


# -- descriptions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("0 9 * * 1-5", "At 09:00 on Monday through Friday"),
        ("30 17 * * 1,5", "At 17:30 on Monday and Friday"),
        ("0 10 * * 0,6", "At 10:00 on Saturday and Sunday"),
        ("*/5 * * * *", "Every 5 minutes"),
        ("*/15 * * * 1-5", "Every 15 minutes on Monday through Friday"),
        ("*/30 * * * * *", "Every 30 seconds"),
        ("0 */2 * * *", "Every 2 hours at :00"),
        ("0 * * * *", "At the start of every hour"),
        ("0 9-17 * * 1-5", "Every hour from 09:00 through 17:00 on Monday through Friday"),
        ("0 9 1,15 * *", "At 09:00 on the first and the 15th day of every month"),
        ("0 9 21,22,23,31 * *", "At 09:00 on the 21st, the 22nd, the 23rd, and the 31st day"),
        ("0 8 1 * *", "At 08:00 on the first day of every month"),
        ("0 23 L * *", "At 23:00 on the last day of every month"),
        ("0 10 * * 1#1", "At 10:00 on the first Monday of the month"),
        ("0 9 25 12 *", "At 09:00 on December 25"),
    ],
)
def test_cron_words(expr: str, text: str) -> None:
    assert cron_words(expr).startswith(text)


def test_descriptions_of_natural_phrases() -> None:
    assert parse("every weekday at 9am", BERLIN).describe() == (
        "At 09:00 on Monday through Friday (Europe/Berlin)"
    )
    assert parse("every 15 minutes on weekdays").describe() == (
        "Every 15 minutes on Monday through Friday (UTC)"
    )
    assert parse("every other day").describe() == "every 2 days"
    assert parse("tomorrow at 10", BERLIN).describe() == "once at 2026-11-21 09:00 UTC"


# -- every surface -----------------------------------------------------------------------------
def test_schedules_accept_phrases() -> None:
    built = build_schedule(task="digest", trigger="every weekday at 9am", timezone=BERLIN, now=NOW)
    assert built.spec.trigger == cron("0 9 * * 1-5", BERLIN)
    assert built.spec.description == "At 09:00 on Monday through Friday (Europe/Berlin)"
    with pytest.raises(InvalidTrigger) as info:
        build_schedule(task="digest", trigger="every blursday at 9", now=NOW)
    assert "did not understand 'blursday'" in info.value.message


def test_cli_parse_reads_phrases() -> None:
    args = ["parse", "every weekday at 9am Europe/Berlin", "--after", "2026-11-20T10:00:00Z"]
    result = CliRunner().invoke(cli_app, [*args, "--count", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert '"cron": "0 9 * * 1-5"' in result.output
    assert "2026-11-23T08:00:00.000Z" in result.output
