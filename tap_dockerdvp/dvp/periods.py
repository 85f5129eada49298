"""Timespan arithmetic: the DVP API names a timespan only by year and number, the tap computes its dates.

Weeks are ISO-8601 weeks, Monday to Sunday (the API's examples match ISO numbering: week 31 of 2022 starts on
2022-08-01), so week 1 of a year may start in December of the year before. Months are calendar months. A
timespan is complete once the day after its last day has begun in UTC: Docker publishes a month "on the first
day of the following month", and a week cannot be final before its Sunday is over.
"""

from __future__ import annotations

import calendar
import datetime as dt
import typing as t
from dataclasses import dataclass

WEEKS = "weeks"
MONTHS = "months"
TIMESPAN_TYPES = (WEEKS, MONTHS)
# The API's singular keys: {"weeks": [{"week": 31}]}.
SINGULAR = {WEEKS: "week", MONTHS: "month"}


@dataclass(frozen=True, order=True)
class Period:
    """Days the data of a file covers: an export timespan or a report period, the unit the tap bookmarks."""

    start: dt.date  # first day
    end: dt.date  # last day, inclusive (the API's PullModel.end is that Sunday at 00:00Z)

    def is_complete(self, today: dt.date) -> bool:
        """True once the whole period lies before ``today`` (UTC)."""
        return self.end < today

    @property
    def start_iso(self) -> str:
        return f"{self.start.isoformat()}T00:00:00Z"

    @property
    def end_iso(self) -> str:
        return f"{self.end.isoformat()}T00:00:00Z"

    def next_start(self) -> dt.date:
        return self.end + dt.timedelta(days=1)


@dataclass(frozen=True, order=True)
class Timespan(Period):
    """One week or month of the export API, which names it by year and number."""

    timespan_type: str
    year: int
    number: int

    @classmethod
    def of(cls, timespan_type: str, year: int, number: int) -> Timespan:
        if timespan_type == WEEKS:
            try:
                start = dt.date.fromisocalendar(year, number, 1)
            except ValueError as exc:
                raise ValueError(f"{year} has no ISO week {number}") from exc
            return cls(start, start + dt.timedelta(days=6), WEEKS, year, number)
        if timespan_type == MONTHS:
            if not 1 <= number <= 12:
                raise ValueError(f"month {number} is out of range")
            last_day = calendar.monthrange(year, number)[1]
            return cls(dt.date(year, number, 1), dt.date(year, number, last_day), MONTHS, year, number)
        raise ValueError(f"unknown timespan type {timespan_type!r}")


def to_date(value: str | dt.date | dt.datetime) -> dt.date:
    """The date of a bookmark, a setting or a record value (ISO text, a date or a datetime)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def is_iso_date(value: t.Any) -> bool:
    """Whether ``value`` is ISO 8601 text of a date (``2026-11-20``) or a date-time (``2026-11-20T00:00:00Z``), as
    settings and bookmarks hold them."""
    text = str(value) if isinstance(value, str) else ""
    try:
        dt.date.fromisoformat(text[:10])
        if len(text) > 10:
            dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()
