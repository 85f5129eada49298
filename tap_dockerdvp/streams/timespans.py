"""The `timespans` stream: every complete week and month with data, the unit of extraction and of state."""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from tap_dockerdvp.dvp import answers, endpoints
from tap_dockerdvp.dvp.namespaces import offered_timespan_types
from tap_dockerdvp.dvp.periods import SINGULAR, Timespan, utc_today
from tap_dockerdvp.dvp.sources import EXPORT
from tap_dockerdvp.streams.completed_periods import CompletedPeriodStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_dockerdvp.streams.completed_periods import PeriodWindow


class TimespansStream(CompletedPeriodStream):
    """Complete timespans per (namespace, timespan type), oldest first.

    A timespan's child streams (the exports) are synced before the timespan record is written and the bookmark
    moves (see :mod:`.completed_periods`), so the bookmark - the start of the last timespan whose rows were all
    emitted - never passes data that did not reach the target. One state partition per (namespace, timespan type)
    keeps state small. A week number the ISO calendar lacks for its year is skipped with a WARNING.
    """

    name = "timespans"
    path = endpoints.EXPORT_YEARS
    partition_keys = ("namespace", "timespan_type")
    primary_keys = ("namespace", "timespan_type", "year", "timespan")
    replication_key = "timespan_start"
    period_noun = "timespans"

    schema = th.PropertiesList(
        th.Property("namespace", th.StringType, required=True, description="Docker Hub namespace"),
        th.Property("timespan_type", th.StringType, required=True, description="`weeks` or `months`"),
        th.Property("year", th.IntegerType, required=True, description="Year (the ISO year for weeks)"),
        th.Property("timespan", th.IntegerType, required=True, description="ISO week number or month number"),
        th.Property("timespan_start", th.DateTimeType, required=True, description="First day, 00:00Z"),
        th.Property("timespan_end", th.DateTimeType, required=True, description="Last day (inclusive), 00:00Z"),
    ).to_dict()

    @property
    @override
    def partitions(self) -> list[dict] | None:
        wanted = list(self.config["timespan_types"])
        partitions = []
        for namespace, metadata in self.tap.namespace_metadata().items():
            if EXPORT not in self.tap.sources_for(namespace):
                continue  # `data_source`: this namespace is read from the report catalogue only (logged there)
            offered = offered_timespan_types(metadata)
            for timespan_type in wanted:
                if timespan_type in offered:
                    partitions.append({"namespace": namespace, "timespan_type": timespan_type})
                else:
                    self.tap.progress.note_skipped(
                        "the namespace offers no such timespan type", f"{namespace} {timespan_type}"
                    )
                    self.logger.debug("Namespace %s offers no %s: skipped", namespace, timespan_type)
        return partitions

    @override
    def listed_periods(self, context: Context, window: PeriodWindow) -> list[dict]:
        """Records of the complete timespans the window may select, oldest first."""
        return [
            {
                "namespace": context["namespace"],
                "timespan_type": timespan.timespan_type,
                "year": timespan.year,
                "timespan": timespan.number,
                "timespan_start": timespan.start_iso,
                "timespan_end": timespan.end_iso,
            }
            for timespan in self._complete_timespans(context, window)
        ]

    @override
    def period_label(self, record: dict) -> str:
        return f"{record['namespace']} {record['timespan_type']} {record['year']}/{record['timespan']}"

    @override
    def child_context(self, record: dict) -> dict:
        return {key: record[key] for key in (*self.primary_keys, "timespan_start", "timespan_end")}

    def _complete_timespans(self, context: Context, window: PeriodWindow) -> list[Timespan]:
        """The complete timespans of the years the window reaches, plus, for the lookback, as many earlier years
        as it takes to find its timespans (the API lists only timespans with data)."""
        base = endpoints.EXPORT_YEARS.format(namespace=context["namespace"])
        what = f"GET {base}"
        years = sorted(
            _number(y, "year", what=what) for y in answers.listed(self.get_json(base, context), "years", what=what)
        )
        # Every timespan of a year starts between 29 December of the year before (ISO week 1) and 31 December.
        if window.end_date is not None:
            years = [year for year in years if dt.date(year - 1, 12, 29) < window.end_date]
        earliest, start_date = window.earliest, window.start_date

        def before_window(year: int) -> bool:
            return earliest is not None and dt.date(year, 12, 31) < earliest

        # years before the window's first timespan, newest last: only the lookback may need them
        earlier = [y for y in years if before_window(y) and (start_date is None or dt.date(y, 12, 31) >= start_date)]
        found = [span for y in years if not before_window(y) for span in self._listed_timespans(context, y, window)]
        while earlier and window.lookback_short(span.start for span in found):
            found.extend(self._listed_timespans(context, earlier.pop(), window))
        return sorted(set(found))

    def _listed_timespans(self, context: Context, year: int, window: PeriodWindow) -> list[Timespan]:
        """The complete timespans the API lists for ``year`` that start before `end_date`."""
        namespace, timespan_type = context["namespace"], context["timespan_type"]
        path = f"{endpoints.EXPORT_YEARS.format(namespace=namespace)}/{year}/{timespan_type}"
        listing = answers.listed(self.get_json(path, context), timespan_type, what=f"GET {path}")
        today = utc_today()
        found = []
        for item in listing:
            number = item.get(SINGULAR[timespan_type]) if isinstance(item, dict) else item  # {"week": 31}, or 31
            try:
                timespan = Timespan.of(timespan_type, year, int(number))  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                self.logger.warning(
                    "%s %s %d: the API lists %r, which is not a %s of that year (%s): skipped (the tap reads "
                    "weeks as ISO 8601 weeks; please report this)",
                    namespace,
                    timespan_type,
                    year,
                    number if number is not None else item,
                    SINGULAR[timespan_type],
                    exc,
                )
                continue
            if window.end_date is not None and timespan.start >= window.end_date:
                continue  # after the window: not this run's, complete or not
            if timespan.is_complete(today):
                found.append(timespan)
            else:
                label = f"{namespace} {timespan_type} {year}/{timespan.number}"
                self.tap.progress.note_held_back("not complete yet, left for a later run", label)
                self.logger.debug("%s is not complete yet (ends %s): left for a later run", label, timespan.end)
        return found


def _number(item: t.Any, key: str, *, what: str) -> int:
    """A listed year: ``{"year": 2026}`` as documented, or ``2026``."""
    value: t.Any = item.get(key) if isinstance(item, dict) else item
    try:
        return int(value)
    except (TypeError, ValueError):
        raise answers.unexpected(item, f"{{{key!r}: <number>}}", what=what) from None
