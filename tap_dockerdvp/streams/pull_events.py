"""The `pull_events` stream: the `raw` data view, one record per pull action."""

from __future__ import annotations

import typing as t

from tap_dockerdvp.streams.exports import ExportStream
from tap_dockerdvp.views import VIEWS

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class PullEventsStream(ExportStream):
    """The `raw` view: one record per pull action, for the `raw_timespan_type` granularity only."""

    name = "pull_events"
    spec = VIEWS["raw"]

    def _offered(self, context: Context) -> bool:
        if context["timespan_type"] != self.config["raw_timespan_type"]:
            # A month's raw rows are the same pulls as its weeks': fetch one granularity only.
            return False
        return super()._offered(context)
