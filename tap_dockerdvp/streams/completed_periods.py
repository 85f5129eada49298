"""What `timespans` and `reports` share: parent streams whose records are completed periods.

Each record is a period (an export timespan, a report period) whose rows the child streams emit. The parent syncs
a period's children itself, before it hands the period record to the SDK, then moves the bookmark (the start of
the last period whose rows were all emitted) and announces it in a STATE message. So the bookmark never passes
data that did not reach the target, a run that dies resumes after the last finished period, and the bookmark
moves whether or not the parent stream itself is selected. A period whose files are late (see
:mod:`.period_files`) ends its partition for this run, before the bookmark passes it.

Public SDK API only: children are synced with ``Stream.sync``, the bookmark moves through the stream's state
manager, and BATCH mode writes each period record to its own file before the state moves past it.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk.exceptions import AbortedSyncFailedException, AbortedSyncPausedException
from typing_extensions import override

from tap_dockerdvp.batch_files import BatchFiles
from tap_dockerdvp.client import DockerHubStream
from tap_dockerdvp.encoders import ArrowRows, dumps
from tap_dockerdvp.periods import to_date

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_dockerdvp.streams.period_files import PeriodFilesStream


class CompletedPeriodStream(DockerHubStream):
    """A sorted, incremental parent stream of completed periods, one state partition per context."""

    is_sorted = True
    #: the context keys of a state partition
    partition_keys: t.ClassVar[tuple[str, ...]]

    @classmethod
    def partition_key(cls, context: t.Mapping[str, t.Any]) -> tuple[tuple[str, str], ...]:
        """The state partition of a context (the parent's own, or a child's, which holds the same keys)."""
        return tuple((key, str(context[key])) for key in cls.partition_keys)

    # -- what a subclass says ----------------------------------------------------------------------
    def new_periods(self, context: Context) -> t.Iterator[dict]:
        """The period records after the bookmark (or from `start_date`), oldest first."""
        raise NotImplementedError

    def child_context(self, record: dict) -> dict:
        """The context the child streams get for a period."""
        raise NotImplementedError

    def period_done(self, record: dict, context: Context) -> None:
        """Called once a period's rows were all emitted and its bookmark announced."""

    # -- bookmarks ---------------------------------------------------------------------------------
    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        # The SDK caps a date-time bookmark at the sync's start time; a period is listed only once complete, so
        # its start is always in the past: nothing to cap, and no signpost left in the state.
        return None

    def bookmark_window(self, context: Context) -> tuple[dt.date | None, dt.date | None]:
        """(start of the last period extracted, `start_date`): a bookmark wins over start_date."""
        bookmark = self.get_context_state(context).get("replication_key_value")
        if bookmark:
            return to_date(bookmark), None
        start = self.config.get("start_date")
        return None, (to_date(start) if start else None)

    def advance(self, record: dict, context: Context) -> None:
        """Move the partition's bookmark to ``record`` and announce it (STATE)."""
        assert self.replication_key is not None
        self.state_manager.increment_state(record, context=context, replication_key=self.replication_key)
        self._tap.state_writer.write_state(self.tap_state)
        self.state_manager.is_flushed = True

    # -- the periods -------------------------------------------------------------------------------
    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        if not context:  # no partition (e.g. no namespace reads this source)
            return
        for record in self.new_periods(context):
            self.sync_children(record)
            if self.partition_key(context) in self.tap.run.held_back:
                return  # this partition goes no further this run; its bookmark stays before the late period
            yield record
            # Resumed once the SDK wrote the record (RECORD mode) or its batch file was announced (BATCH mode).
            self.advance(record, context)
            self.period_done(record, context)

    def sync_children(self, record: dict) -> None:
        """Sync every selected child for the period, except those that have nothing for it."""
        child_context = self.child_context(record)
        for child in t.cast("list[PeriodFilesStream]", self.child_streams):
            if not (child.selected or child.has_selected_descendents) or not child.applies_to(child_context):
                continue
            try:
                child.sync(context=child_context)
            except (AbortedSyncFailedException, AbortedSyncPausedException):
                continue  # a record limit (e.g. --test) stopped the child: go on with the others, as the SDK does

    @override
    def generate_child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        return ()  # the children were synced by get_records, before the SDK saw the record

    # -- BATCH mode --------------------------------------------------------------------------------
    @override
    def get_batches(self, batch_config: t.Any, context: Context | None = None) -> t.Iterable[tuple[t.Any, list[str]]]:
        contexts = [context] if context else (self.partitions or [])
        keys = self.selected_keys()
        for partition in contexts:
            for period in self.get_records(partition):
                record = self.post_process(period, partition)
                if record is None or not self.selected:
                    continue
                # One file per period: the bookmark that follows must not pass a period record still buffered.
                writer = BatchFiles(batch_config, tap_name=self.tap_name, stream_name=self.name)
                row = {key: record.get(key) for key in keys}
                if writer.format == "jsonl":
                    writer.add_text(dumps(row) + "\n", 1)
                else:
                    writer.add_table(ArrowRows(keys, self.schema).from_records([row]))
                url = writer.close()
                if url:
                    yield batch_config.encoding, [url]
