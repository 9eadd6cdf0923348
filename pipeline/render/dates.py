"""Dates and times as readers see them, the same in every output.

Formatting does not depend on the process locale (``%A`` would), so a server
with a different locale still produces identical files. Times are shown in the
digest's own time zone; a stored time without a zone is UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ..models import UPDATE, RankedStory

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(day: date) -> str:
    """``Thursday 19 December 2024``."""
    return f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    """``19 Dec 2024``."""
    return f"{day_month(day)} {day.year}"


def day_month(day: date) -> str:
    """``19 Dec``: for a date the reader places in the current year."""
    return f"{day.day} {MONTHS[day.month - 1][:3]}"


def month_name(year: int, month: int) -> str:
    """``December 2024``."""
    return f"{MONTHS[month - 1]} {year}"


def local_time(moment: datetime, timezone: str) -> datetime:
    """``moment`` in the digest's zone (naive times are taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(timezone))


def short_time(moment: datetime, timezone: str) -> str:
    """``19 Dec 2024, 08:15`` in the digest's zone."""
    local = local_time(moment, timezone)
    return f"{short_date(local.date())}, {local:%H:%M}"


def edition_label(story: RankedStory) -> str:
    """``Updated · first reported 18 Dec`` for an update, empty for a new story."""
    if story.edition != UPDATE:
        return ""
    if story.first_published is None:
        return "Updated"
    first = story.first_published
    return f"Updated · first reported {first.day} {MONTHS[first.month - 1][:3]}"
