"""The `timespans` stream: every complete week and month with data, the unit of extraction and of state."""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk import typing as th

from tap_dockerdvp.client import DockerHubStream
from tap_dockerdvp.periods import SINGULAR, Timespan, utc_today
from tap_dockerdvp.streams.namespaces import offered_timespan_types

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

EXPORTS = "/namespaces/{namespace}/pulls/exports/years"


class TimespansStream(DockerHubStream):
    """Complete timespans per (namespace, timespan type), oldest first.

    The SDK syncs a timespan's child streams (the exports) before it writes the timespan record and moves the
    bookmark, so the bookmark - the start of the last timespan whose rows were all emitted - never passes data
    that did not reach the target. One state partition per (namespace, timespan type) keeps state small.
    """

    name = "timespans"
    path = EXPORTS
    primary_keys = ("namespace", "timespan_type", "year", "timespan")
    replication_key = "timespan_start"
    is_sorted = True

    schema = th.PropertiesList(
        th.Property("namespace", th.StringType, required=True, description="Docker Hub namespace"),
        th.Property("timespan_type", th.StringType, required=True, description="`weeks` or `months`"),
        th.Property("year", th.IntegerType, required=True, description="Year (the ISO year for weeks)"),
        th.Property("timespan", th.IntegerType, required=True, description="ISO week number or month number"),
        th.Property("timespan_start", th.DateTimeType, required=True, description="First day, 00:00Z"),
        th.Property("timespan_end", th.DateTimeType, required=True, description="Last day (inclusive), 00:00Z"),
    ).to_dict()

    @property
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

    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        if not context:  # no partition (e.g. every namespace is read from the report catalogue)
            return
        after, start_date = self._window(context)
        for timespan in self._complete_timespans(context, after or start_date):
            if (after is not None and timespan.start <= after) or (
                start_date is not None and timespan.start < start_date
            ):
                continue
            record = {
                "namespace": context["namespace"],
                "timespan_type": timespan.timespan_type,
                "year": timespan.year,
                "timespan": timespan.number,
                "timespan_start": timespan.start_iso,
                "timespan_end": timespan.end_iso,
            }
            yield record
            # Resumed here only after the SDK synced this timespan's children, wrote the record and moved the
            # bookmark. When only a child stream is selected the SDK does not move it, so move it here. Then
            # announce it at once: a run that dies in the next timespan resumes after this one.
            if not self.selected:
                self._increment_stream_state(record, context=context)
            self._write_state_message()
            self._tap.progress.timespan_done(  # type: ignore[attr-defined]
                f"{context['namespace']} {timespan.timespan_type} {timespan.year}/{timespan.number}"
            )

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        return {key: record[key] for key in (*self.primary_keys, "timespan_start", "timespan_end")}

    def _window(self, context: Context) -> tuple[dt.date | None, dt.date | None]:
        """(start of the last extracted timespan, start_date): a bookmark wins over start_date."""
        bookmark = self.get_context_state(context).get("replication_key_value")
        if bookmark:
            return _to_date(bookmark), None
        start = self.config.get("start_date")
        return None, (_to_date(start) if start else None)

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


def _to_date(value: str | dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
