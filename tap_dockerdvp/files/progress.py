"""Progress a person can follow on long runs: per file, per timespan and per run, on the tap's logger.

These are plain INFO lines next to the SDK's own METRIC lines (which stay untouched for machines to read). The
README's *Logging* section lists what each level shows.
"""

from __future__ import annotations

import logging
import time
import typing as t
from collections import Counter

# Rows between two looks at the clock while a file streams: cheap enough for the hot loop.
CHECK_EVERY_ROWS = 1 << 14


def rows_text(count: int) -> str:
    """``1 row``, ``12,345 rows``."""
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _mb(size: int | None) -> str:
    return f"{size / 1e6:,.1f} MB" if size else "? MB"


class FileProgress:
    """Progress of one file. A file read within ``interval`` seconds says one DEBUG line; a longer one says, at
    INFO, rows and MB done out of the file's size with a percentage every ``interval`` seconds, and a last line.
    ``download`` is anything with ``received`` (bytes so far) and ``size`` (bytes in all, when known)."""

    def __init__(self, logger: t.Any, label: str, download: t.Any, interval: float) -> None:
        self.logger, self.label, self.download, self.interval = logger, label, download, interval
        self.started = self.last = time.monotonic()
        self.long = False

    def _done_text(self) -> str:
        received, size = self.download.received, self.download.size
        if size:
            return f"{received / 1e6:,.1f} of {size / 1e6:,.1f} MB ({min(100.0, 100.0 * received / size):.0f}%)"
        return f"{received / 1e6:,.1f} MB"

    def tick(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last, self.long = now, True
            self.logger.info(
                "%s: %s, %s, %.0f rows/s", self.label, rows_text(rows), self._done_text(), rows / (now - self.started)
            )

    def done(self, rows: int) -> float:
        elapsed = time.monotonic() - self.started
        if elapsed >= self.interval:
            self.long = True
        self.logger.log(
            logging.INFO if self.long else logging.DEBUG,
            "%s: %s, %s in %.1f s",
            self.label,
            rows_text(rows),
            _mb(self.download.received),
            elapsed,
        )
        return elapsed


class RunProgress:
    """What a run did, for the lines a person reads: rows and bytes per timespan, and one summary at the end.

    Streams report into it through the tap (`tap.progress`):
    - `period_started()` and `period_done(label)` around each period (a timespan, a report period): its line
      counts the files read in between;
    - `file_done(stream, rows, size)` after each file, for the period's line and the bytes downloaded;
    - `note_skipped(reason, item)` for something the run did not read and never will as configured (a view the
      namespace does not offer, a timespan type it lacks);
    - `note_held_back(reason, item)` for something left for a later run (a timespan not complete yet);
    - rows per stream are counted by every stream's record counter (`RowCounter`), so they match the METRIC
      lines.
    """

    # Items named per reason in the summary; the rest are counted.
    ITEMS_SHOWN = 6

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.run_started = time.monotonic()
        self.run_rows: Counter[str] = Counter()
        self.run_bytes = 0
        self.run_files = 0
        self.skipped: dict[str, dict[str, None]] = {}  # reason -> items, in the order first seen
        self.held_back: dict[str, dict[str, None]] = {}
        self._span_rows: Counter[str] = Counter()
        self._span_bytes = 0
        self._span_started = time.monotonic()

    def add_rows(self, stream: str, rows: int) -> None:
        self.run_rows[stream] += rows

    def file_done(self, stream: str, rows: int, size: int | None) -> None:
        self._span_rows[stream] += rows
        self._span_bytes += size or 0
        self.run_bytes += size or 0
        self.run_files += 1

    def note_skipped(self, reason: str, item: str = "") -> None:
        """Record that ``item`` (e.g. "acme ext_summary weeks") is not read, because of ``reason`` (e.g. "the
        namespace does not offer the view"). The summary prints each reason once, with its items counted."""
        self.skipped.setdefault(reason, {})[item] = None

    def note_held_back(self, reason: str, item: str = "") -> None:
        """Record that ``item`` (e.g. "acme weeks 2026/48") is left for a later run, because of ``reason`` (e.g.
        "not complete yet")."""
        self.held_back.setdefault(reason, {})[item] = None

    def period_started(self) -> None:
        """A period's files begin: its line counts only what comes from here on."""
        self._span_rows.clear()
        self._span_bytes = 0
        self._span_started = time.monotonic()

    def period_done(self, label: str) -> None:
        """The period's line: rows per stream and bytes of its files, and how long they took."""
        elapsed = time.monotonic() - self._span_started
        streams = ", ".join(f"{name} {rows}" for name, rows in sorted(self._span_rows.items())) or "no rows"
        self.logger.info("%s done: %s; %.1f MB in %.1f s", label, streams, self._span_bytes / 1e6, elapsed)
        self.period_started()

    def summary_lines(self) -> list[str]:
        elapsed = time.monotonic() - self.run_started
        total = sum(self.run_rows.values())
        lines = [
            f"Run summary: {total:,} rows in {elapsed:.1f} s; {self.run_files} files, "
            f"{self.run_bytes / 1e6:.1f} MB downloaded",
            "Run summary: rows per stream: "
            + (", ".join(f"{name} {rows:,}" for name, rows in sorted(self.run_rows.items())) or "none"),
        ]
        for heading, notes in (("skipped", self.skipped), ("held back", self.held_back)):
            for reason, items in notes.items():
                named = [item for item in items if item]
                shown = ", ".join(named[: self.ITEMS_SHOWN])
                more = len(named) - self.ITEMS_SHOWN
                lines.append(
                    f"Run summary: {heading}, {reason}: {len(items)}"
                    + (f" ({shown}{f' and {more} more' if more > 0 else ''})" if named else "")
                )
        return lines

    def run_done(self) -> None:
        for line in self.summary_lines():
            self.logger.info("%s", line)
