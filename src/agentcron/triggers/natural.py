"""Natural-language triggers: plain English read, deterministically, INTO the existing kinds.

::

    every weekday at 9am                 {"cron": "0 9 * * 1-5", "timezone": ...}
    every monday and friday at 17:30     {"cron": "30 17 * * 1,5", ...}
    every morning at 8, every evening at 6, every weekday morning at 7:30
                                         {"cron": "0 8 * * *"}, "0 18 * * *", "30 7 * * 1-5"
    every other tuesday at 3pm           {"cron": "0 15 * * 2", "every_weeks": 2,
                                          "start": "<the first one after now>", ...}
    on the 1st and 15th at noon          {"cron": "0 12 1,15 * *", ...}
    on weekdays at half past 8           {"cron": "30 8 * * 1-5", ...}
    first monday of every month at 10    {"cron": "0 10 * * 1#1", ...}
    last day of every month at 23:00     {"cron": "0 23 L * *", ...}
    every 15 minutes on weekdays         {"cron": "*/15 * * * 1-5", ...}
    every year on december 25 at 9       {"cron": "0 9 25 12 *", ...}
    hourly, daily at 7, hourly at :15    {"cron": "0 * * * *"}, {"cron": "0 7 * * *"}, ...
    every hour, every other day          {"every": "1h"}, {"every": "2d"}
    every hour jitter 30s                {"every": "1h", "jitter": "30s"}
    at 17:00, tomorrow at 10, next friday at 9am, on 2026-12-01 at 9, on december 25 at 9,
    in an hour, in 2 days at 9           {"at": "<ISO, UTC>"}

Days: ``monday``/``mon``, ``mondays``, ``weekday(s)``, ``weekend(s)``, lists (``monday,
wednesday and friday``), ranges (``mon-fri``, ``monday to friday``). Times: ``9``, ``9am``,
``9:30 pm``, ``21:15``, ``9:30:15``, ``noon``, ``midnight``, ``9 o'clock``, ``half past 8``,
``quarter to 5``, ``20 past 6``; several at once (``at 9 and 17``) when cron can say them.
Parts of the day: ``morning`` (01:00-11:59), ``afternoon`` (12:00-17:59), ``evening``
(17:00-23:59), ``night`` (19:00-04:59), after days (``every weekday morning``), after
``every``/``tomorrow``/``this``/``next friday``, as ``in the evening``, or ``tonight``.
Clauses come in any order (``9am every weekday``, ``at 10 tomorrow``).

The rules a reader may not guess:

- Case, commas and ``the`` do not matter. A time zone anywhere in the phrase
  (``Europe/Berlin``, ``in Europe/Berlin``, ``UTC``) wins over the schedule's zone; it also
  works after a cron expression: ``0 9 * * 1-5 Europe/Berlin``.
- A bare number after ``at`` is the 24-hour clock (``at 5`` is 05:00); ``half past 8`` is
  08:30, ``quarter to 5`` 04:45, ``quarter to midnight`` 23:45. With a part of the day, a
  time written without am/pm as 1 to 12 moves into it (``every evening at 6`` is 18:00,
  ``every night at 12`` is 00:00); a time outside the part is an error (``every evening at
  9am``). A night time after midnight is on the next day: ``tonight at 1`` is tomorrow at
  01:00, and ``every friday night at 1`` is an error (say ``every saturday at 1am``).
- ``every other tuesday``, ``every 3 weeks on monday and thursday``: cron with
  ``every_weeks``, counted from the first slot after ``now``; it keeps the local time across
  DST (an interval of 14 days would move by an hour).
- Several days of the month repeat monthly (``on the 1st and 15th``); one day does not say
  which month (``on the 15th`` is an error: ``on the 15th of every month``).
- ``every <duration>`` (``every hour``, ``every day``, ``every other day``) is an interval
  of elapsed time, like ``every 5m``; the ``-ly`` words and ``every month``/``every year``
  are calendar-aligned at midnight, like ``@hourly``/``@daily``/``@monthly``.
- A phrase that names days or a part of the day needs a time (``every monday`` and
  ``every morning`` alone are errors), and
  ``on monday`` is an error (every monday, or the next one?): ``every monday``/``on mondays``
  repeat, ``next monday`` (the first monday after today, never today) is one time.
- One-time phrases are resolved when parsed, against ``now`` in the zone: ``at 17:00`` is
  today if 17:00 is still ahead, else tomorrow; ``today at 9`` once 9:00 has passed is an
  error. A wall time skipped or repeated by DST resolves by `resolve_local`.
- A phrase that cron cannot express exactly (``every other month``, ``every 2 days at 9``,
  ``at 9:00 and 17:30``) is an error that says what to do instead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import available_timezones

from agentcron.errors import InvalidTrigger, TriggerNotUnderstood
from agentcron.triggers._clauses import read_phrase
from agentcron.triggers._compose import compose
from agentcron.triggers._context import ParseContext
from agentcron.triggers._cronexpr import normalize_cron
from agentcron.triggers._phrase import (
    DAY_PARTS,
    DAYS,
    EXAMPLES,
    MONTHS,
    ORDINAL_WORDS,
    SHORTCUTS,
    NotUnderstood,
    Token,
    Unreadable,
    Words,
    is_known,
    tokenize,
)
from agentcron.triggers._time import load_zone
from agentcron.triggers.base import Trigger
from agentcron.triggers.cron import CronTrigger

__all__ = ["EXAMPLES", "read_natural"]

_DAY_WORDS = frozenset({*DAYS, *(f"{day}s" for day in DAYS if len(day) > 5)})
_ANYWHERE = frozenset(
    {"at", "every", "each", "today", "tomorrow", "tonight", "noon", "midnight", "midday", "oclock"}
    | {"weekday", "weekdays", "weekend", "weekends", *SHORTCUTS, *_DAY_WORDS, *DAY_PARTS}
)
"""After a first word we do not know (``blursday at 9``), these make it a phrase of ours."""
_STARTERS = _ANYWHERE | {"in", "next", "this", "half", "quarter", *ORDINAL_WORDS, *MONTHS}
_VALUE_START = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}(st|nd|rd|th)|\d{1,2}[:.]\d{2}(:\d{2})?")
_CLOCK_WORD = re.compile(r"\d{1,2}([:.]\d{2})?(am|pm)")
_DURATION_LIKE = re.compile(r"[-+]?\s*(p[\dt]\S*|(\d[\d.]*\s*[a-zµ]*\s*)+)")
_JITTER = re.compile(r"\s+jitter\s+")
_ZONE_LIKE = re.compile(r"[a-z][\w+\-]*(/[\w+\-]+)+|utc|gmt", re.IGNORECASE)


def read_natural(text: str, ctx: ParseContext) -> Trigger | None:
    """The `STRING_FORMS` reader for English: None for anything another form reads.

    Cron expressions, ``every 5m``/``every 2 hours``, ``at <ISO time>`` and ``in 30m``
    (durations in digits) are left to their readers, as is text with no English trigger
    word in it. A phrase that is English but cannot be read raises `InvalidTrigger`
    naming the words it did not understand (field ``trigger``; ``at`` for ``at ...``):
    `TriggerNotUnderstood` when its words or their order were not understood.
    """
    body, zone_word = _split_zone(text)
    if zone_word is not None and _is_cron(body):
        return CronTrigger(body, _zone_name(zone_word))
    if _read_by_another_form(text):
        return None
    tokens = tokenize(body.rstrip(". "))
    if not tokens or not _looks_natural(tokens):
        return None
    zone = ctx.timezone if zone_word is None else _zone_name(zone_word)
    try:
        return _read(tokens, zone, ctx.now)
    except Unreadable as exc:
        examples = "; try " + ", ".join(map(repr, exc.examples)) if exc.examples else ""
        error = TriggerNotUnderstood if isinstance(exc, NotUnderstood) else InvalidTrigger
        raise error(
            f"could not read {text!r}: {exc.reason}{examples}",
            field="at" if tokens[0].text == "at" else "trigger",
        ) from None


def _read(tokens: list[Token], zone: str, now: datetime) -> Trigger:
    unknown = [token.raw for token in tokens if not is_known(token.text)]
    if unknown:
        raise NotUnderstood(
            f"did not understand {', '.join(map(repr, unknown))}", examples=EXAMPLES
        )
    return compose(read_phrase(Words(tokens)), zone, now)


def _read_by_another_form(text: str) -> bool:
    """Cron, ``every``/``in`` + a duration in digits, ``at`` + an ISO time, ``interval:``."""
    lower = text.lower()
    if lower.startswith(("@", "interval")) or "*" in lower or _is_cron(text):
        return True
    head, _, rest = lower.partition(" ")
    rest = rest.strip()
    if head == "every":
        return _DURATION_LIKE.fullmatch(_JITTER.split(rest, maxsplit=1)[0]) is not None
    if head == "in":
        return _DURATION_LIKE.fullmatch(rest) is not None
    return head == "at" and _is_iso(rest)


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return " " not in text and re.match(r"\d{4}-", text) is not None  # for its error
    return True


def _is_cron(text: str) -> bool:
    if not 5 <= len(text.split()) <= 6 and not text.startswith("@"):
        return False
    try:
        normalize_cron(text)
    except InvalidTrigger:
        return False
    return True


def _looks_natural(tokens: list[Token]) -> bool:
    first = tokens[0].text
    if first == "on":  # "on weekdays", but not an event name: "on user.signup"
        rest = [token.text for token in tokens[1:]]
        return bool(rest) and (is_known(rest[0]) or "at" in rest or "every" in rest)
    if first in _STARTERS or _VALUE_START.fullmatch(first) or first.split("-")[0] in DAYS:
        return True
    if is_known(first) and not first[0].isdigit():  # "after every 20 messages" is not ours
        return False
    return any(t.text in _ANYWHERE or _CLOCK_WORD.fullmatch(t.text) for t in tokens)


def _split_zone(text: str) -> tuple[str, str | None]:
    """The text without its (last) time zone word, and that word (``in`` before it goes)."""
    words = text.split()
    found = [index for index, word in enumerate(words) if _ZONE_LIKE.fullmatch(word)]
    if not found:
        return text, None
    index = found[-1]
    start = index - 1 if index > 0 and words[index - 1].lower() == "in" else index
    return " ".join(words[:start] + words[index + 1 :]), words[index]


def _zone_name(word: str) -> str:
    """The IANA name for ``word`` in any case (``europe/berlin``); `InvalidTimezone` if none."""
    name = _zone_names().get(word.lower(), word)
    return "UTC" if load_zone(name) is UTC else name


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}
