"""Relative day words given their date: "on Wednesday" → "on Wednesday (18 Dec)".

A summary sentence is lifted from an article and read in the digest of another
day, sometimes days later in the archive: "yesterday" then names the wrong
day. ``dated`` appends the calendar date each such phrase meant when the
article was published, so the sentence reads right on any day.

What a phrase means is decided from the article's publication time in the
digest's zone (feeds give times in UTC and rarely say where the writer sat;
the digest's zone is the newsroom's, and the one readers see every time in):

* ``today``, ``tonight``, ``this morning`` … → the publication day (a
  ``today`` only in a clause that reports an event: "useful today" means
  these days);
  ``yesterday`` → the day before, ``tomorrow`` → the day after.
* a weekday (``on Wednesday``, ``said Wednesday``) → the latest such day on or
  before publication, or the next one on or after it when the words just
  before it speak of the future (``will launch on Friday``, ``is expected to``
  …); ``last Wednesday`` is
  strictly before, ``next Wednesday`` strictly after.
* ``last week``, ``this week``, ``next week`` → the Monday that week began.

A phrase already followed by a date, or by a parenthesis (this function has run
before: the JSON archive is read back and rendered again), is left alone, and
so is a sentence without such words.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from .dates import day_month, local_time

__all__ = ["dated"]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_PHRASE = re.compile(
    # Named days ("Black Friday", "Super Tuesday") are not dates relative to anything,
    # and a possessive ("today's data halls") mostly means "nowadays".
    r"(?:\b(?<!Black )(?<!Cyber )(?<!Super )(?<!Good )(?<!Easter )"
    r"(?:(?P<mod>[Ll]ast|[Nn]ext|[Tt]his|[Oo]n) )?(?P<weekday>" + "|".join(_WEEKDAYS) + r")\b"
    r"|\b(?P<day>[Tt]oday|[Tt]onight|[Yy]esterday|[Tt]omorrow"
    r"|[Tt]his (?:morning|afternoon|evening))\b"
    r"|\b(?P<week>[Ll]ast|[Tt]his|[Nn]ext) week\b)(?!['\u2019]s\b)"
)
# What may follow a phrase that already carries its date: "(…", "Dec. 18", ", 18 December".
_ALREADY_DATED = re.compile(r"\s*(?:\(|,?\s*(?:\d|(?:" + _MONTHS + r")[a-z]*\.?\s+\d))")
_FUTURE = re.compile(
    r"\b(?:will|won't|'ll|is (?:set|expected|scheduled|due) to|are (?:set|expected|scheduled|due)"
    r" to|plans? to|planned for|scheduled for|upcoming)\b",
    re.IGNORECASE,
)
_REPORTED = re.compile(r"\b(?:said|says|announced|told|reported|wrote|confirmed)\b")
_EVENT = re.compile(
    r"\b(?:\w+ed|said|says|told|began|begins|launch(?:es)?|release[sd]?|unveils?|opens?"
    r"|ships?|goes|went|made|won|lost|rose|fell)\b",
    re.IGNORECASE,
)
_DAY_OFFSET = {"yesterday": -1, "tomorrow": 1}
_WEEK_OFFSET = {"last": -1, "this": 0, "next": 1}


def dated(text: str, published: datetime, timezone: str) -> str:
    """``text`` with the date after each relative day phrase (see the module docstring)."""
    day = local_time(published, timezone).date()

    def annotate(match: re.Match[str]) -> str:
        if _ALREADY_DATED.match(text, match.end()) or _nowadays(match, text):
            return match.group(0)
        meant = _meant(match, day, _speaks_of_future(text[: match.start()]))
        if match.group("week"):
            return f"{match.group(0)} (week of {day_month(meant)})"
        return f"{match.group(0)} ({day_month(meant)})"

    return _PHRASE.sub(annotate, text)


def _nowadays(match: re.Match[str], text: str) -> bool:
    """Whether a "today" means "these days" ("glasses are useful today"), not a date.

    It names the day only in a clause that reports an event ("announced Veo 2
    today", "will ship today"); a wrong date misleads, a missing one does not.
    """
    if (match.group("day") or "").lower() != "today":
        return False
    start = max(text.rfind(mark, 0, match.start()) for mark in ",;:.") + 1
    # An introductory "Today," belongs to the clause after it.
    after = match.end() + 1 if text[start : match.start()].strip() == "" else match.end()
    ends = [i for mark in ",;:." if (i := text.find(mark, after)) >= 0]
    clause = text[start : min(ends, default=len(text))]
    return _EVENT.search(clause) is None and _FUTURE.search(clause) is None


def _speaks_of_future(before: str) -> bool:
    """Whether the words just before a phrase put it in the future.

    "It will launch on Friday" is a coming Friday; "said on Wednesday it will
    launch" is a past Wednesday: the marker must come before the phrase, in the
    same stretch of words, with no reporting verb after it.
    """
    near = before[-60:]
    markers = list(_FUTURE.finditer(near))
    return bool(markers) and _REPORTED.search(near, markers[-1].end()) is None


def _meant(match: re.Match[str], day: date, future: bool) -> date:
    """The calendar day a matched phrase names, seen from publication day ``day``."""
    if match.group("weekday"):
        modifier = (match.group("mod") or "").lower()
        ahead = (_WEEKDAYS.index(match.group("weekday")) - day.weekday()) % 7
        if modifier == "next" or (modifier != "last" and future):
            return day + timedelta(days=ahead or (7 if modifier == "next" else 0))
        behind = (day.weekday() - _WEEKDAYS.index(match.group("weekday"))) % 7
        return day - timedelta(days=behind or (7 if modifier == "last" else 0))
    if match.group("week"):
        monday = day - timedelta(days=day.weekday())
        return monday + timedelta(weeks=_WEEK_OFFSET[match.group("week").lower()])
    return day + timedelta(days=_DAY_OFFSET.get(match.group("day").lower(), 0))
