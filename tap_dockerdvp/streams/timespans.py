"""The `timespans` stream: every complete week and month with data, the unit of extraction and of state."""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from tap_dockerdvp.periods import SINGULAR, Timespan, utc_today
from tap_dockerdvp.streams.completed_periods import CompletedPeriodStream
from tap_dockerdvp.streams.namespaces import offered_timespan_types

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

EXPORTS = "/namespaces/{namespace}/pulls/exports/years"


class TimespansStream(CompletedPeriodStream):
    """Complete timespans per (namespace, timespan type), oldest first.

    The SDK syncs a timespan's child streams (the exports) before it writes the timespan record and moves the
    bookmark, so the bookmark - the start of the last timespan whose rows were all emitted - never passes data
    that did not reach the target. One state partition per (namespace, timespan type) keeps state small.
    """

    name = "timespans"
    path = EXPORTS
    primary_keys = ("namespace", "timespan_type", "year", "timespan")
    replication_key = "timespan_start"

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
        for namespace, metadata in self._tap.streams["namespaces"].load_metadata().items():  # type: ignore[attr-defined]
            if "export" not in self._tap.sources_for(namespace):  # type: ignore[attr-defined]
                continue  # `data_source`: this namespace is read from the report catalogue only (logged there)
            offered = offered_timespan_types(metadata)
            for timespan_type in wanted:
                if timespan_type in offered:
                    partitions.append({"namespace": namespace, "timespan_type": timespan_type})
                else:
                    self.logger.info("Namespace %s offers no %s: skipped", namespace, timespan_type)
        return partitions

    def _new_timespans(self, context: Context) -> t.Iterator[dict]:
        """Records of the complete timespans after the bookmark (or from `start_date`), oldest first."""
        after, start_date = self.bookmark_window(context)
        for timespan in self._complete_timespans(context, after or start_date):
            if (after is not None and timespan.start <= after) or (
                start_date is not None and timespan.start < start_date
            ):
                continue
            yield {
                "namespace": context["namespace"],
                "timespan_type": timespan.timespan_type,
                "year": timespan.year,
                "timespan": timespan.number,
                "timespan_start": timespan.start_iso,
                "timespan_end": timespan.end_iso,
            }

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        if not context:  # no partition (e.g. every namespace is read from the report catalogue)
            return
        yield from self.emit_periods(self._new_timespans(context), context)

    def period_done(self, record: dict, context: Context) -> None:
        label = f"{record['namespace']} {record['timespan_type']} {record['year']}/{record['timespan']}"
        self._tap.progress.timespan_done(label)  # type: ignore[attr-defined]

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict:
        return {key: record[key] for key in (*self.primary_keys, "timespan_start", "timespan_end")}

    def _complete_timespans(self, context: Context, not_before: dt.date | None) -> list[Timespan]:
        namespace, timespan_type = context["namespace"], context["timespan_type"]
        base = EXPORTS.format(namespace=namespace)
        years = sorted(int(y["year"]) for y in (self.get_json(base, context) or {}).get("years") or [])
        today = utc_today()
        found = []
        for year in years:
            if not_before is not None and dt.date(year + 1, 1, 7) < not_before:
                continue  # every timespan of that year starts before the window
            listing = self.get_json(f"{base}/{year}/{timespan_type}", context) or {}
            for item in listing.get(timespan_type) or []:
                timespan = Timespan.of(timespan_type, year, int(item[SINGULAR[timespan_type]]))
                if timespan.is_complete(today):
                    found.append(timespan)
                else:
                    self.logger.info(
                        "%s %s %d/%d is not complete yet (ends %s): left for a later run",
                        namespace,
                        timespan_type,
                        year,
                        timespan.number,
                        timespan.end,
                    )
        return sorted(set(found))
