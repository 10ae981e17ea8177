"""The words of a natural-language trigger: tokens, a cursor over them, and the vocabulary.

A phrase is split on spaces and commas, lower-cased, with ``the`` dropped, ``a.m.``/``p.m.``
folded to ``am``/``pm`` and joined to the number before them (``9 am`` -> ``9am``), and
``o'clock`` spelled ``oclock``. Each token keeps the text it was written as, for messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "DAYS",
    "DAY_PARTS",
    "EXAMPLES",
    "MONTHS",
    "NUMBER_WORDS",
    "ORDINAL_WORDS",
    "SHORTCUTS",
    "UNITS",
    "NotUnderstood",
    "Token",
    "Unreadable",
    "Words",
    "is_known",
    "tokenize",
]


EXAMPLES = (
    "every weekday at 9am",
    "every monday and friday at 17:30",
    "first day of every month at 8",
    "in 2 hours",
)
"""What to try, shown after a phrase whose words or order were not understood."""


class Unreadable(Exception):  # an internal signal: natural.py raises InvalidTrigger
    """A phrase that cannot be read: ``reason`` says why, ``examples`` what to try instead.

    Reasons that already say what to write instead come without examples.
    """

    def __init__(self, reason: str, *, examples: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.examples = examples


class NotUnderstood(Unreadable):
    """The words, or their order, were not understood; a plain `Unreadable` is a phrase that
    was understood but cannot be a trigger (a time already past, a date that does not exist,
    a rhythm cron cannot say, an ambiguity). Only this one is worth asking an LLM about."""


@dataclass(frozen=True)
class Token:
    text: str
    """Normalized: lower case, ``9am``, ``oclock``."""
    raw: str
    """As written."""


DAYS = {
    "sunday": 0, "sun": 0, "monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2,
    "wednesday": 3, "wed": 3, "thursday": 4, "thu": 4, "thur": 4, "thurs": 4,
    "friday": 5, "fri": 5, "saturday": 6, "sat": 6,
}  # fmt: skip
"""Day names (and abbreviations) as cron day-of-week numbers, Sunday = 0."""

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip

DAY_PARTS = {
    "morning": "morning", "mornings": "morning", "afternoon": "afternoon",
    "afternoons": "afternoon", "evening": "evening", "evenings": "evening", "night": "night",
    "nights": "night",
}  # fmt: skip
"""Parts of the day (singular and plural) -> the part; see `_compose` for their hours."""

ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip

_SECOND, _MINUTE, _HOUR = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
UNITS = {
    "second": _SECOND, "seconds": _SECOND, "sec": _SECOND, "secs": _SECOND,
    "minute": _MINUTE, "minutes": _MINUTE, "min": _MINUTE, "mins": _MINUTE,
    "hour": _HOUR, "hours": _HOUR, "hr": _HOUR, "hrs": _HOUR,
    "day": timedelta(days=1), "days": timedelta(days=1),
    "week": timedelta(weeks=1), "weeks": timedelta(weeks=1),
}  # fmt: skip
"""Units of elapsed time (months and years are calendar words, not durations)."""

SHORTCUTS = {
    "hourly": "hourly", "daily": "daily", "weekly": "weekly", "monthly": "monthly",
    "yearly": "yearly", "annually": "yearly",
}  # fmt: skip

_STRUCTURE = frozenset({
    "every", "each", "on", "at", "in", "of", "and", ",", "other", "next", "today", "tomorrow",
    "noon", "midday", "midnight", "half", "quarter", "past", "after", "to", "before", "oclock",
    "through", "thru", "weekday", "weekdays", "weekend", "weekends", "month", "months", "year",
    "years", "jitter", "tonight", "this",
})  # fmt: skip
_PATTERNS = (
    re.compile(r"\d+"),  # 9, 15, 2026
    re.compile(r"\d{1,2}(st|nd|rd|th)"),  # 15th
    re.compile(r"\d{1,2}([:.]\d{2}(:\d{2})?)?(am|pm)?"),  # 9am, 9:30pm, 21:15, 9:30:15
    re.compile(r":\d{2}"),  # :15, a minute of every hour
    re.compile(r"\d{4}-\d{1,2}-\d{1,2}"),  # 2026-12-01
    re.compile(r"(\d+(\.\d+)?(ms|s|m|h|d|w))+"),  # 5m, 1h30m
)
_AM_PM = re.compile(r"(?<![a-z])([ap])\.m\.?(?![a-z])", re.IGNORECASE)
_OCLOCK = re.compile(r"o['’]?\s?clock", re.IGNORECASE)
_HOURISH = re.compile(r"\d{1,2}([:.]\d{2}(:\d{2})?)?")


def is_known(word: str) -> bool:
    """True when ``word`` (a token's text) is in the vocabulary or has a known shape."""
    if word in _STRUCTURE or word in UNITS or word in SHORTCUTS or word in NUMBER_WORDS:
        return True
    if word in DAY_PARTS:
        return True
    if word in DAYS or word.removesuffix("s") in DAYS or word in MONTHS:
        return True
    if "-" in word and all(part in DAYS for part in word.split("-", 1)):  # mon-fri
        return True
    return word in ORDINAL_WORDS or any(p.fullmatch(word) for p in _PATTERNS)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` (see the module docstring)."""
    text = _OCLOCK.sub(" oclock", _AM_PM.sub(r"\1m", text))
    text = text.replace("&", " and ").replace(",", " , ")
    tokens: list[Token] = []
    the = ""
    for raw in text.split():
        word = raw.lower()
        if word == "the":  # dropped, but kept in what the next token was written as
            the += raw + " "
            continue
        raw, the = the + raw, ""
        if word in ("am", "pm") and tokens and _HOURISH.fullmatch(tokens[-1].text):
            last = tokens.pop()
            tokens.append(Token(last.text + word, f"{last.raw} {raw}"))
            continue
        tokens.append(Token(word, raw))
    return tokens


class Words:
    """A cursor over the tokens of a phrase."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    @property
    def done(self) -> bool:
        return self.pos >= len(self.tokens)

    def peek(self, ahead: int = 0) -> str:
        """The text of the token ``ahead`` places on; ``""`` past the end."""
        index = self.pos + ahead
        return self.tokens[index].text if index < len(self.tokens) else ""

    def take(self) -> str:
        word = self.peek()
        self.pos += 1
        return word

    def accept(self, *words: str) -> bool:
        """Step over the next token when it is one of ``words``."""
        if self.peek() in words and not self.done:
            self.pos += 1
            return True
        return False

    def said(self, start: int, end: int | None = None) -> str:
        """The tokens ``start:end`` as written (end: the cursor)."""
        stop = self.pos if end is None else end
        return " ".join(token.raw for token in self.tokens[start:stop])

    def next_said(self) -> str:
        """The next token as written, or ``end of phrase``."""
        return repr(self.tokens[self.pos].raw) if not self.done else "the end of the phrase"
