"""What `timespans` and `reports` share: parent streams whose records are completed periods.

Each record is a period (an export timespan, a report period) whose rows the child streams emit. The parent syncs
a period's children itself, before it hands the period record to the SDK, then moves the bookmark (the start of
the last period whose rows were all emitted) and announces it in a STATE message. So the bookmark never passes
data that did not reach the target, a run that dies resumes after the last finished period, and the bookmark
moves whether or not the parent stream itself is selected. A period whose files are late (see
:mod:`.period_files`) ends its partition for this run, before the bookmark passes it.

Which periods a run extracts is one rule, :class:`PeriodWindow` (`start_date`, `end_date`, the bookmark and
`lookback_timespans`). Periods extracted again (the lookback, or a window behind the bookmark) are emitted, and
the bookmark never moves back for them: it only moves past the value it had when the run began.

Public SDK API only: children are synced with ``Stream.sync``, the bookmark moves through the stream's state
manager, and BATCH mode writes each period record to its own file before the state moves past it.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

from singer_sdk.exceptions import AbortedSyncFailedException, AbortedSyncPausedException
from singer_sdk.singerlib import StateMessage
from typing_extensions import override

from tap_dockerdvp.dvp.periods import to_date
from tap_dockerdvp.files.batch_files import BatchFiles
from tap_dockerdvp.streams.base import DockerHubStream

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from singer_sdk.helpers.types import Context


P = t.TypeVar("P")


@dataclass(frozen=True)
class PeriodWindow:
    """Which periods of one state partition a run extracts, given the bookmark and the settings.

    - ``end_date`` (exclusive): a period that starts on or after it is never extracted, so the bookmark of a
      windowed run stays inside the window and a later run from its state goes on from there.
    - A bookmark before ``end_date`` wins over ``start_date`` (Singer's rule): the periods after it are new, and
      the ``lookback`` most recent periods at or before it (not before ``start_date``) are extracted again first.
    - A bookmark at or after ``end_date`` cannot be this window's own (that is always before ``end_date``): another
      window's or an unwindowed run's state. The whole window [``start_date``, ``end_date``) is extracted again and
      the bookmark stays where it is, so neither this run nor a later one skips the window.
    - No bookmark: the periods from ``start_date`` on.
    """

    bookmark: dt.date | None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    lookback: int = 0

    @property
    def resumes(self) -> bool:
        """True when the run goes on from the bookmark."""
        return self.bookmark is not None and not self.behind_bookmark

    @property
    def behind_bookmark(self) -> bool:
        """True when the whole window ends at or before the bookmark (see the class docstring)."""
        return self.bookmark is not None and self.end_date is not None and self.bookmark >= self.end_date

    def inside(self, start: dt.date) -> bool:
        """Whether a period starting on ``start`` lies in [``start_date``, ``end_date``)."""
        return (self.start_date is None or start >= self.start_date) and (
            self.end_date is None or start < self.end_date
        )

    @property
    def earliest(self) -> dt.date | None:
        """The earliest period start the run needs, the lookback aside (None: from the first)."""
        return self.bookmark if self.resumes else self.start_date

    def select(self, periods: Sequence[P], start: Callable[[P], dt.date]) -> tuple[list[P], list[P]]:
        """(extracted again, new) among ``periods`` (oldest first), each oldest first: all of the first come before
        the second."""
        if self.resumes:
            assert self.bookmark is not None
            window = [p for p in periods if self.end_date is None or start(p) < self.end_date]
            done = [p for p in window if start(p) <= self.bookmark and self.inside(start(p))]
            again = done[max(0, len(done) - self.lookback) :] if self.lookback > 0 else []
            return again, [p for p in window if start(p) > self.bookmark]
        chosen = [p for p in periods if self.inside(start(p))]
        return (chosen, []) if self.behind_bookmark else ([], chosen)

    def lookback_short(self, starts: t.Iterable[dt.date]) -> bool:
        """True while fewer than ``lookback`` of ``starts`` are periods the lookback may extract again."""
        if not self.resumes or self.lookback <= 0:
            return False
        assert self.bookmark is not None
        return sum(1 for s in starts if s <= self.bookmark and self.inside(s)) < self.lookback


class CompletedPeriodStream(DockerHubStream):
    """A sorted, incremental parent stream of completed periods, one state partition per context."""

    is_sorted = True
    # A period extracted again is older than the bookmark. The SDK would call that unsorted data; `advance` keeps
    # the bookmark from moving back instead (see `get_records`).
    check_sorted = False
    # `advance` announces the state after every period; the SDK's periodic STATE would only repeat it.
    STATE_MSG_FREQUENCY = 2**62
    #: the context keys of a state partition
    partition_keys: t.ClassVar[tuple[str, ...]]
    #: what a period is called in log lines: "timespans", "report periods"
    period_noun: t.ClassVar[str]

    @classmethod
    def partition_key(cls, context: t.Mapping[str, t.Any]) -> tuple[tuple[str, str], ...]:
        """The state partition of a context (the parent's own, or a child's, which holds the same keys)."""
        return tuple((key, str(context[key])) for key in cls.partition_keys)

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # Incremental: a run emits the new periods only, so a new table version would delete every earlier one.
        return False

    # -- what a subclass says ----------------------------------------------------------------------
    def listed_periods(self, context: Context, window: PeriodWindow) -> list[dict]:
        """The partition's complete period records, oldest first: at least those ``window`` may select."""
        raise NotImplementedError

    def child_context(self, record: dict) -> dict:
        """The context the child streams get for a period."""
        raise NotImplementedError

    def describe_partition(self, context: Context) -> str:
        """The partition in log lines: ``acme weeks``."""
        return " ".join(str(context[key]) for key in self.partition_keys)

    def period_label(self, record: dict) -> str:
        """A period in log lines: ``acme weeks 2026/46``."""
        raise NotImplementedError

    # -- the window and the bookmark -----------------------------------------------------------------
    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        # The SDK caps a date-time bookmark at the sync's start time; a period is listed only once complete, so
        # its start is always in the past: nothing to cap, and no signpost left in the state. The run's checks
        # still come first (see DockerHubStream).
        self.tap.preflight()
        return None

    def period_start(self, record: dict) -> dt.date:
        assert self.replication_key is not None
        return to_date(record[self.replication_key])

    def window(self, context: Context) -> PeriodWindow:
        """The partition's :class:`PeriodWindow`: its bookmark and the `start_date`, `end_date` and
        `lookback_timespans` settings."""
        bookmark = self.get_context_state(context).get("replication_key_value")
        start, end = self.config.get("start_date"), self.config.get("end_date")
        return PeriodWindow(
            bookmark=to_date(bookmark) if bookmark else None,
            start_date=to_date(start) if start else None,
            end_date=to_date(end) if end else None,
            lookback=int(self.config.get("lookback_timespans") or 0),
        )

    def advance(self, record: dict, context: Context, floor: str | None) -> None:
        """Move the partition's bookmark to ``record``, never back before ``floor`` (its value when the run
        began), and announce it (STATE)."""
        assert self.replication_key is not None
        if floor is not None and self.period_start(record) <= to_date(floor):
            # A period extracted again. The SDK's own increment (a selected parent) may have set the bookmark back
            # to it in memory; put it back before anything writes it.
            state = self.get_context_state(context)
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = floor
        else:
            self.state_manager.increment_state(record, context=context, replication_key=self.replication_key)
        self._tap.write_message(StateMessage(value=self.tap_state))
        self.state_manager.is_flushed = True

    # -- the periods -------------------------------------------------------------------------------
    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        if not context:  # no partition (e.g. no namespace reads this source)
            return
        floor = self.get_context_state(context).get("replication_key_value") or None
        window = self.window(context)
        again, new = window.select(self.listed_periods(context, window), self.period_start)
        self.log_window(context, window, again)
        for record in (*again, *new):
            self.tap.progress.period_started()
            self.sync_children(record)
            if self.partition_key(context) in self.tap.run.held_back:
                return  # this partition goes no further this run; its bookmark stays before the late period
            yield record
            # Resumed once the SDK wrote the record (RECORD mode) or its batch file was announced (BATCH mode).
            self.advance(record, context, floor)
            self.tap.progress.period_done(self.period_label(record))

    def log_window(self, context: Context, window: PeriodWindow, again: list[dict]) -> None:
        """Say which periods are extracted again, and why."""
        label = self.describe_partition(context)
        dates = [str(self.period_start(r)) for r in again]
        starts = (", ".join(dates) if len(dates) <= 3 else f"{dates[0]} to {dates[-1]}") if dates else "none listed"
        if window.behind_bookmark:
            self.logger.warning(
                "%s: the bookmark %s is not before end_date %s, so it is not this window's: the window's %d %s "
                "(%s) are extracted again and the bookmark stays at %s. Give each window its own state ID "
                "(meltano run --state-id-suffix ...)",
                label,
                window.bookmark,
                window.end_date,
                len(again),
                self.period_noun,
                starts,
                window.bookmark,
            )
        elif window.resumes and window.lookback > 0:
            self.logger.info(
                "%s: extracting again the %d most recent %s up to the bookmark %s (lookback_timespans %d)%s",
                label,
                len(again),
                self.period_noun,
                window.bookmark,
                window.lookback,
                f": {starts}" if again else "",
            )

    def sync_children(self, record: dict) -> None:
        """Sync every selected child for the period. One that has nothing for it (a view the namespace does not
        offer) still writes its SCHEMA, so every selected stream's table exists after a run, and says nothing."""
        child_context = self.child_context(record)
        for child in self.child_streams:
            if not (child.selected or child.has_selected_descendents):
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
        shape = self.batch_shape()
        for partition in contexts:
            for period in self.get_records(partition):
                record = self.post_process(period, partition)
                if record is None or not self.selected:
                    continue
                # One file per period: the bookmark that follows must not pass a period record still buffered.
                with BatchFiles(batch_config, tap_name=self.tap_name, stream_name=self.name) as writer:
                    writer.add_rows(shape.rows([record]), shape.keys, shape.schema)
                    urls = writer.close()
                for url in urls:
                    yield batch_config.encoding, [url]
