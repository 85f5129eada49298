"""Timespan dates: ISO weeks across year boundaries, calendar months, completeness."""

import datetime as dt

import pytest

from tap_dockerdvp.dvp.periods import Timespan


@pytest.mark.parametrize(
    ("year", "week", "start", "end"),
    [
        (2026, 1, dt.date(2025, 12, 29), dt.date(2026, 1, 4)),  # week 1 of 2026 starts in 2025
        (2020, 53, dt.date(2020, 12, 28), dt.date(2021, 1, 3)),  # a 53-week ISO year
        (2022, 31, dt.date(2022, 8, 1), dt.date(2022, 8, 7)),  # the API's own example
        (2021, 1, dt.date(2021, 1, 4), dt.date(2021, 1, 10)),  # week 1 starting after Jan 1
    ],
)
def test_iso_weeks(year: int, week: int, start: dt.date, end: dt.date) -> None:
    span = Timespan.of("weeks", year, week)
    assert (span.start, span.end) == (start, end)
    assert span.start.weekday() == 0 and span.end.weekday() == 6
    assert span.start_iso == f"{start.isoformat()}T00:00:00Z"


def test_week_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="no ISO week 53"):
        Timespan.of("weeks", 2021, 53)


@pytest.mark.parametrize(
    ("year", "month", "end"),
    [(2024, 2, dt.date(2024, 2, 29)), (2025, 2, dt.date(2025, 2, 28)), (2025, 12, dt.date(2025, 12, 31))],
)
def test_months(year: int, month: int, end: dt.date) -> None:
    span = Timespan.of("months", year, month)
    assert span.start == dt.date(year, month, 1)
    assert span.end == end


def test_completeness_starts_the_day_after_the_last_day() -> None:
    week = Timespan.of("weeks", 2026, 47)  # Mon 2026-11-16 .. Sun 2026-11-22
    assert not week.is_complete(dt.date(2026, 11, 22))
    assert week.is_complete(dt.date(2026, 11, 23))
    month = Timespan.of("months", 2026, 11)
    assert not month.is_complete(dt.date(2026, 11, 30))
    assert month.is_complete(dt.date(2026, 12, 1))


def test_unknown_type() -> None:
    with pytest.raises(ValueError, match="unknown timespan type"):
        Timespan.of("days", 2026, 1)
