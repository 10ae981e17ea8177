"""The phrases people write first: parts of the day, every other week, several days of the
month; and the cron trigger that fires every few weeks at a fixed local time.

"Now" is Friday 2026-11-20 10:00 UTC (11:00 in Europe/Berlin, CET), as in test_natural.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from agentcron.errors import InvalidTrigger
from agentcron.triggers import CronTrigger, next_times, parse_trigger, trigger_from_dict

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday
BERLIN = "Europe/Berlin"


def parse(text: str | dict[str, Any], zone: str | None = None, now: datetime = NOW) -> Any:
    return parse_trigger(text, timezone=zone, now=now)


def cron(expr: str, zone: str = "UTC", **extra: Any) -> dict[str, Any]:
    return {"cron": expr, "timezone": zone, **extra}


PHRASES: list[tuple[str, str | None, dict[str, Any]]] = [
    # -- the forms of issue 11 -----------------------------------------------------------
    ("every morning at 8", None, cron("0 8 * * *")),
    ("every evening at 6", None, cron("0 18 * * *")),
    ("every weekday morning at 7:30", None, cron("30 7 * * 1-5")),
    ("on the 1st and 15th at noon", None, cron("0 12 1,15 * *")),
    ("every 2nd friday of the month at 10", None, cron("0 10 * * 5#2")),
    ("hourly", None, cron("0 * * * *")),
    ("every 90 minutes", None, {"every": "1h30m"}),
    # every other tuesday: the weeks count from the first one after now (Tuesday the 24th)
    (
        "every other tuesday at 3pm",
        BERLIN,
        cron("0 15 * * 2", BERLIN, every_weeks=2, start="2026-11-24T14:00:00Z"),
    ),
    # -- parts of the day: a time without am/pm moves into the part ------------------------
    ("every afternoon at 3", None, cron("0 15 * * *")),
    ("every afternoon at 12:30", None, cron("30 12 * * *")),
    ("every evening at half past 6", None, cron("30 18 * * *")),
    ("every evening at 18:30", None, cron("30 18 * * *")),
    ("every evening at 7pm", None, cron("0 19 * * *")),
    ("every night at 10", None, cron("0 22 * * *")),
    ("every night at 12", None, cron("0 0 * * *")),
    ("every night at 1", None, cron("0 1 * * *")),
    ("every morning at 07:30", None, cron("30 7 * * *")),
    ("every morning at 11", None, cron("0 11 * * *")),
    ("every day at 6 in the evening", None, cron("0 18 * * *")),
    ("every monday morning at 9", None, cron("0 9 * * 1")),
    ("every saturday and sunday evening at 8", None, cron("0 20 * * 0,6")),
    ("on weekday mornings at 7", None, cron("0 7 * * 1-5")),
    ("on monday mornings at 9", None, cron("0 9 * * 1")),
    ("weekday evenings at 6:15", None, cron("15 18 * * 1-5")),
    ("mornings at 8", None, cron("0 8 * * *")),
    ("at 8 every morning", None, cron("0 8 * * *")),
    ("every morning at 8 Europe/Berlin", None, cron("0 8 * * *", BERLIN)),
    ("tomorrow morning at 8", None, {"at": "2026-11-21T08:00:00Z"}),
    ("tomorrow evening at 6", BERLIN, {"at": "2026-11-21T17:00:00Z"}),
    ("tonight at 10", None, {"at": "2026-11-20T22:00:00Z"}),
    ("tonight at 12", None, {"at": "2026-11-21T00:00:00Z"}),  # after midnight: tomorrow
    ("tonight at 1:30", None, {"at": "2026-11-21T01:30:00Z"}),
    ("tomorrow night at 11", None, {"at": "2026-11-21T23:00:00Z"}),
    ("this evening at 6:30", None, {"at": "2026-11-20T18:30:00Z"}),
    ("this afternoon at 2", None, {"at": "2026-11-20T14:00:00Z"}),
    ("at 6 in the evening", None, {"at": "2026-11-20T18:00:00Z"}),
    ("next friday evening at 7", None, {"at": "2026-11-27T19:00:00Z"}),
    # -- every few weeks on days of the week ---------------------------------------------
    (
        "every other week on tuesday at 15:00",
        None,
        cron("0 15 * * 2", every_weeks=2, start="2026-11-24T15:00:00Z"),
    ),
    (
        "every 3 weeks on monday and thursday at 9",
        None,
        cron("0 9 * * 1,4", every_weeks=3, start="2026-11-23T09:00:00Z"),
    ),
    (  # today, Friday, at 17:00 is still ahead: this week counts
        "every other friday at 17:00",
        None,
        cron("0 17 * * 5", every_weeks=2, start="2026-11-20T17:00:00Z"),
    ),
    (
        "every other tuesday morning at 9",
        None,
        cron("0 9 * * 2", every_weeks=2, start="2026-11-24T09:00:00Z"),
    ),
    # -- several days of the month repeat monthly ----------------------------------------
    ("the 1st and 15th at 9", None, cron("0 9 1,15 * *")),
    ("on the 1st, 10th and 20th at 8am", None, cron("0 8 1,10,20 * *")),
    ("every 1st and 15th at noon", None, cron("0 12 1,15 * *")),
]


@pytest.mark.parametrize(("text", "zone", "expected"), PHRASES)
def test_phrase(text: str, zone: str | None, expected: dict[str, Any]) -> None:
    trigger = parse(text, zone)
    assert trigger.to_dict() == expected
    assert trigger_from_dict(trigger.to_dict()) == trigger
    assert trigger.describe().strip()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("every morning", "'every morning' needs a time of day, as in 'every morning at 8'"),
        ("every evening at 9am", "09:00 is not in the evening (17:00 to 23:59)"),
        ("every morning at 12", "12:00 is not in the morning"),
        ("every morning at 15:00", "15:00 is not in the morning"),
        ("every afternoon at 8", "not in the afternoon"),
        ("every night at 6", "not in the night"),
        ("every friday night at 1", "after midnight, so on the next day"),
        ("next friday night at 1", "after midnight"),
        ("morning at 8", "could mean every morning or the next one"),
        ("this monday at 9", "expected morning, afternoon, evening or night after 'this'"),
        ("every morning at 8 in the evening", "it says both"),
        ("every other tuesday", "'every other tuesday' needs a time of day"),
        ("every 2 weeks at 9", "'every 2 weeks' on which day?"),
        ("every other month at 9", "cannot be written as cron"),
        ("every second tuesday at 9", "say 'every other tuesday' or 'second tuesday of"),
        ("on the 15th at 9", "of which month"),  # one day: the next 15th, or every month?
        ("every 2 weeks on the first monday of every month at 9", "goes with days of the week"),
    ],
)
def test_unreadable(text: str, words: str) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse(text)
    assert words in info.value.message
    assert info.value.message.startswith(f"could not read {text!r}: ")


def local(moment: datetime, zone: str = BERLIN) -> datetime:
    return moment.astimezone(CronTrigger("* * * * *", zone)._zone)


def test_every_other_tuesday_keeps_15_00_local_across_dst() -> None:
    """Berlin leaves summer time on 2026-10-25: 15:00 is 13:00 UTC before, 14:00 after. A
    14-day interval would drift to 14:00 local; the cron with every_weeks does not."""
    now = datetime(2026, 10, 1, 12, tzinfo=UTC)  # a Thursday, in summer time
    trigger = parse("every other tuesday at 3pm", BERLIN, now)
    fires = next_times(trigger, now, 6)
    assert [local(t).strftime("%a %Y-%m-%d %H:%M") for t in fires] == [
        "Tue 2026-10-06 15:00",
        "Tue 2026-10-20 15:00",
        "Tue 2026-11-03 15:00",
        "Tue 2026-11-17 15:00",
        "Tue 2026-12-01 15:00",
        "Tue 2026-12-15 15:00",
    ]
    assert [t.hour for t in fires] == [13, 13, 14, 14, 14, 14]  # UTC moves, local does not
    gaps = {b - a for a, b in itertools.pairwise(fires)}
    assert gaps == {timedelta(days=14), timedelta(days=14, hours=1)}  # elapsed time varies


def test_every_other_tuesday_across_spring_forward() -> None:
    now = datetime(2027, 3, 10, 12, tzinfo=UTC)  # Berlin goes to summer time on 2027-03-28
    fires = next_times(parse("every other tuesday at 3pm", BERLIN, now), now, 3)
    assert [(local(t).date(), local(t).hour) for t in fires] == [
        (date(2027, 3, 16), 15),
        (date(2027, 3, 30), 15),
        (date(2027, 4, 13), 15),
    ]


def test_every_few_weeks_fires_every_day_of_an_active_week_only() -> None:
    start = datetime(2026, 11, 23, 8, tzinfo=UTC)  # Monday 09:00 Berlin
    trigger = CronTrigger("0 9 * * 1,4", BERLIN, every_weeks=3, start=start)
    fires = next_times(trigger, datetime(2026, 11, 1, tzinfo=UTC), 6)
    days = [local(t).date() for t in fires]
    assert days == [
        date(2026, 11, 23), date(2026, 11, 26),
        date(2026, 12, 14), date(2026, 12, 17),
        date(2027, 1, 4), date(2027, 1, 7),
    ]  # fmt: skip
    assert all(local(t).hour == 9 for t in fires)


def test_frequent_cron_every_few_weeks_skips_whole_weeks_fast() -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    trigger = CronTrigger("*/5 * * * *", "UTC", every_weeks=4, start=start)
    after_the_week = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)  # Sunday: the week ends
    assert trigger.next_after(after_the_week) == datetime(2026, 12, 21, tzinfo=UTC)
    assert trigger.next_after(datetime(2026, 11, 1, tzinfo=UTC)) == start  # not before start


def test_cron_object_with_every_weeks() -> None:
    trigger = parse({"cron": "0 15 * * 2", "every_weeks": 2}, BERLIN)
    assert trigger.to_dict() == cron(
        "0 15 * * 2", BERLIN, every_weeks=2, start="2026-11-24T14:00:00Z"
    )
    explicit = parse(
        {"cron": "0 15 * * 2", "timezone": BERLIN, "every_weeks": 2, "start": "2026-12-01"}
    )
    assert explicit.to_dict()["start"] == "2026-11-30T23:00:00Z"  # midnight Berlin
    assert next_times(explicit, NOW, 1) == [datetime(2026, 12, 1, 14, tzinfo=UTC)]
    assert explicit.describe() == (
        "At 15:00 on Tuesday, every other week, from 2026-12-01 00:00 (Europe/Berlin)"
    )


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"cron": "0 9 * * 1", "every_weeks": 0}, "every_weeks", "from 1 to 520"),
        ({"cron": "0 9 * * 1", "every_weeks": "2"}, "every_weeks", "whole number"),
        ({"cron": "0 9 * * 1", "every_weeks": True}, "every_weeks", "whole number"),
        ({"cron": "0 9 * * 1", "every_weeks": 2, "start": "soon"}, "start", "ISO 8601"),
        ({"cron": "0 9 * * 1", "weeks": 2}, "trigger", "unknown key(s) 'weeks'"),
    ],
)
def test_cron_object_errors(body: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse(body)
    assert info.value.field == field
    assert words in info.value.message


def test_a_cron_start_alone_holds_the_first_fire() -> None:
    trigger = parse({"cron": "0 9 * * *", "start": "2026-12-24T00:00:00Z"})
    assert next_times(trigger, NOW, 2) == [
        datetime(2026, 12, 24, 9, tzinfo=UTC),
        datetime(2026, 12, 25, 9, tzinfo=UTC),
    ]
    assert trigger.to_dict() == cron("0 9 * * *", start="2026-12-24T00:00:00Z")
