"""Pure subject rules: quota windows, idle decisions, message multiples, glob -> LIKE."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from agentcron.errors import ValidationError
from agentcron.models import Quota
from agentcron.rules.idle import crossed_multiples, idle_action
from agentcron.rules.quotas import quota_window
from agentcron.rules.subjects import glob_to_like
from agentcron.subjects import check_kind, check_subject


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "zone", "at", "start", "end"),
    [
        ("day", "UTC", "2026-03-10T15:00", "2026-03-10T00:00", "2026-03-11T00:00"),
        ("day", "Europe/Berlin", "2026-03-10T23:30", "2026-03-10T23:00", "2026-03-11T23:00"),
        # spring forward in Berlin (2026-03-29): a 23-hour day
        ("day", "Europe/Berlin", "2026-03-29T12:00", "2026-03-28T23:00", "2026-03-29T22:00"),
        # fall back (2026-10-25): a 25-hour day
        ("day", "Europe/Berlin", "2026-10-25T12:00", "2026-10-24T22:00", "2026-10-25T23:00"),
        ("hour", "UTC", "2026-03-10T15:59", "2026-03-10T15:00", "2026-03-10T16:00"),
        ("hour", "Asia/Kolkata", "2026-03-10T15:10", "2026-03-10T14:30", "2026-03-10T15:30"),
        ("week", "UTC", "2026-03-12T10:00", "2026-03-09T00:00", "2026-03-16T00:00"),
        ("week", "Asia/Tokyo", "2026-03-08T16:00", "2026-03-08T15:00", "2026-03-15T15:00"),
        ("day", "Not/AZone", "2026-03-10T15:00", "2026-03-10T00:00", "2026-03-11T00:00"),
    ],
)
def test_quota_window(period: str, zone: str, at: str, start: str, end: str) -> None:
    assert quota_window(Quota(3, period), zone, utc(at)) == (utc(start), utc(end))


def test_idle_action() -> None:
    # now 100, idle 10: active at 95 -> wait; at 80 -> fire at 90
    assert idle_action(100, 10, None, 95, None, None) == ("wait", None)
    assert idle_action(100, 10, None, 80, None, None) == ("fire", 90)
    assert idle_action(100, 10, None, 80, 80, 85) == ("done", None)  # answered
    assert idle_action(100, 10, None, None, None, None) == ("done", None)  # gone
    assert idle_action(100, 10, 60, 80, 20, 50) == ("defer", 110)  # cooldown since 50
    assert idle_action(100, 10, 60, 80, 20, 30) == ("fire", 90)  # cooldown over


def test_crossed_multiples() -> None:
    assert crossed_multiples(0, 2, 3) == []
    assert crossed_multiples(0, 3, 3) == [3]
    assert crossed_multiples(3, 10, 3) == [6, 9]
    assert crossed_multiples(0, 1000, 1) == list(range(901, 1001))  # the newest 100


@pytest.mark.parametrize(
    ("glob", "like"),
    [("user:*", "user:%"), ("a_b%?", "a\\_b\\%_"), ("x\\y*", "x\\\\y%"), ("[ab]*", "[ab]%")],
)
def test_glob_to_like(glob: str, like: str) -> None:
    assert glob_to_like(glob) == like


def test_glob_to_like_agrees_with_sqlite_glob() -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    names = ["user:1", "user_1", "user%1", "use", "user:12", "x\\y"]
    for glob in ["user:*", "user_?", "user%*", "use?", "x\\*", "*"]:
        by_glob = {n for n in names if conn.execute("SELECT ? GLOB ?", (n, glob)).fetchone()[0]}
        regex = re.compile(_like_regex(glob_to_like(glob)), re.S)
        assert {n for n in names if regex.fullmatch(n)} == by_glob, glob


def _like_regex(like: str) -> str:
    out, chars = [], iter(like)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars)))
        else:
            out.append({"%": ".*", "_": "."}.get(ch, re.escape(ch)))
    return "".join(out)


@pytest.mark.parametrize("value", ["", "x" * 257, "a\nb", None, 42])
def test_check_subject_refuses(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        check_subject(value)
    assert caught.value.field == "subject"


def test_check_subject_and_kind_accept() -> None:
    assert check_subject("user:42") == "user:42"
    assert check_subject("x" * 256) == "x" * 256
    assert check_kind("message") == "message"
    assert check_kind("page.view") == "page.view"
    with pytest.raises(ValidationError):
        check_kind("x" * 33)
