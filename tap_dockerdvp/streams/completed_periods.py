"""What `timespans` and `reports` share: parent streams whose records are completed periods.

Each record is a period (an export timespan, a report period) whose rows the child streams emit. The SDK syncs a
record's children before it writes the record and moves the bookmark, so the bookmark - the start of the last
period whose rows were all emitted - never passes data that did not reach the target.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_dockerdvp.client import DockerHubStream
from tap_dockerdvp.periods import to_date

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class CompletedPeriodStream(DockerHubStream):
    """A sorted, incremental parent stream of completed periods, one state partition per context."""

    is_sorted = True

    def bookmark_window(self, context: Context) -> tuple[dt.date | None, dt.date | None]:
        """(start of the last period extracted, `start_date`): a bookmark wins over start_date."""
        bookmark = self.get_context_state(context).get("replication_key_value")
        if bookmark:
            return to_date(bookmark), None
        start = self.config.get("start_date")
        return None, (to_date(start) if start else None)

    def emit_periods(self, records: t.Iterable[dict], context: Context) -> t.Iterator[dict]:
        """Yield period records, moving and announcing the bookmark once each period's children are done."""
        for record in records:
            yield record
            # Resumed here only after the SDK synced this period's children, wrote the record and moved the
            # bookmark. When only a child stream is selected the SDK does not move it, so move it here. Then
            # announce it at once: a run that dies in the next period resumes after this one.
            if not self.selected:
                self._increment_stream_state(record, context=context)
            self._write_state_message()
            self.period_done(record, context)

    def period_done(self, record: dict, context: Context) -> None:
        """Called once a period's rows were all emitted and its bookmark announced."""
