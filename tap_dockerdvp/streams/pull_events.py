"""The `pull_events` stream: the `raw` data view, one record per pull action.

Millions of rows a week go through :mod:`tap_dockerdvp.fast_path` rather than the SDK's per-record path: the
rows are parsed, typed and written as RECORD lines in batches, with the same records as the SDK path would
write. What the fast path cannot do - stream maps, flattening, BATCH messages, a record limit - sends the
stream back to the SDK path, with a log line saying why. The parent's bookmark semantics do not change: this
stream's sync returns only when every row of the timespan was written, and the parent moves its bookmark after.
"""

from __future__ import annotations

import os
import typing as t

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from tap_dockerdvp.fast_path import RecordEncoder, RowBatch, StdoutSink, iter_row_batches
from tap_dockerdvp.streams.exports import ExportStream
from tap_dockerdvp.views import VIEWS

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

#: Set to 0 to send every `pull_events` record through the SDK's record path (for comparisons).
FAST_PATH_ENV = "TAP_DOCKERDVP_FAST_PATH"


class PullEventsStream(ExportStream):
    """The `raw` view: one record per pull action, for the `raw_timespan_type` granularity only."""

    name = "pull_events"
    spec = VIEWS["raw"]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = False  # True while a timespan is synced through the fast path

    def _offered(self, context: Context) -> bool:
        if context["timespan_type"] != self.config["raw_timespan_type"]:
            # A month's raw rows are the same pulls as its weeks': fetch one granularity only.
            return False
        return super()._offered(context)

    # -- the fast path ---------------------------------------------------------------------------
    def fast_path_blocker(self, context: Context | None, *, write_messages: bool = True) -> str | None:
        """Why the fast path cannot write this sync's records, or None when it can."""
        config = self.config
        if os.environ.get(FAST_PATH_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
            return f"{FAST_PATH_ENV} is off"
        if config.get("flattening_enabled"):
            return "flattening is enabled (flattening_enabled)"
        maps = self.stream_maps  # what the SDK made of `stream_maps` for this stream
        if len(maps) != 1 or type(maps[0]) is not SameRecordTransform or maps[0].stream_alias != self.name:
            return "stream maps apply to it (stream_maps)"
        if not write_messages:
            return "records are written as BATCH messages"
        if context is None or not self.selected:
            return "it has no timespan context or is not selected"
        if self.ABORT_AT_RECORD_COUNT is not None:
            return "a record limit is set"
        if self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            return "type conformance is on"
        cls = type(self)
        for method in ("post_process", "_write_record_message", "_generate_record_messages", "_process_record"):
            if getattr(cls, method) is not getattr(Stream, method):
                return f"{method} is overridden"
        return None

    def _sync_records(
        self,
        context: Context | None = None,
        *,
        write_messages: bool = True,
    ) -> t.Generator[dict, t.Any, t.Any]:
        blocker = self.fast_path_blocker(context, write_messages=write_messages)
        if blocker is not None:
            if context is not None and self.selected:
                self._log_once(
                    ("sdk-record-path", blocker),
                    "%s: %s, so its records go through the SDK's record path (slower than the fast path)",
                    self.name,
                    blocker,
                )
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        self._sync_fast(context)  # type: ignore[arg-type]
        yield from ()

    def _parse_download(self, chunks: t.Iterable[bytes], *, label: str, skip: int) -> t.Iterator[dict]:
        if not self._fast:
            return super()._parse_download(chunks, label=label, skip=skip)
        return iter_row_batches(chunks, self.spec, label=label, logger=self.logger, skip=skip)

    def _sync_fast(self, context: Context) -> None:
        """`Stream._sync_records` for one timespan, writing its rows as batches of RECORD lines."""
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        every = self.STATE_MSG_FREQUENCY
        with record_counter, timer:
            record_counter.with_context(context)
            timer.with_context(context)
            partition_context = self._get_state_partition_context(context)
            self._write_starting_replication_value(context)
            encoder = RecordEncoder(
                self.stream_maps[0].stream_alias,
                selected=self.mask.__getitem__,
                partition=partition_context,
                version=self._stream_version,
            )
            sink = StdoutSink()
            written = 0
            self._fast = True
            try:
                for batch in self.get_records(context):
                    if not isinstance(batch, RowBatch):  # not from the fast parser: the SDK's way
                        self._process_record(batch, child_context=dict(context), partition_context=partition_context)
                        self._write_record_message(batch)
                        count = 1
                    else:
                        sink.write(encoder.encode(batch))
                        self.state_manager.is_flushed = False
                        count = batch.count
                    record_counter.increment(count)
                    if (written + count) // every != written // every:
                        self._write_state_message()
                    written += count
            finally:
                self._fast = False
                sink.flush()
            if context == partition_context:
                self._finalize_state(self.get_context_state(context))
        self._write_state_message()
