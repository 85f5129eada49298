"""The `pull_events` stream: the `raw` data view, one record per pull action.

Millions of rows a week: they are written as RECORD lines in batches (or into BATCH files) straight from the
reader's row batches, see :mod:`tap_dockerdvp.streams.period_files`. Raw files are fetched for one granularity
only (`raw_timespan_type`): a month's raw rows are the same pulls as its weeks'.
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_dockerdvp.dvp.views import VIEWS
from tap_dockerdvp.streams.exports import ExportStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class PullEventsStream(ExportStream):
    """The `raw` view: one record per pull action, for the `raw_timespan_type` granularity only."""

    name = "pull_events"
    spec = VIEWS["raw"]

    @override
    def applies_to(self, context: Context) -> bool:
        return context["timespan_type"] == self.config["raw_timespan_type"] and super().applies_to(context)
