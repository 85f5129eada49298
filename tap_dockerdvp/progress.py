"""Progress a person can follow on long runs: per file, per timespan and per run, on the tap's logger.

These are plain INFO lines next to the SDK's own METRIC lines (which stay untouched for machines to read).
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
    """Rows and bytes per stream, for one timespan at a time and for the whole run."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.run_started = time.monotonic()
        self.run_rows: Counter[str] = Counter()
        self.run_bytes = 0
        self.run_files = 0
        self._span_rows: Counter[str] = Counter()
        self._span_bytes = 0
        self._span_started = time.monotonic()
        self.held_back: list[str] = []

    def note_held_back(self, reason: str) -> None:
        """A partition's bookmark stopped before a period this run (a late file); the run summary says so."""
        self.held_back.append(reason)

    def file_done(self, stream: str, rows: int, size: int | None) -> None:
        self._span_rows[stream] += rows
        self.run_rows[stream] += rows
        self._span_bytes += size or 0
        self.run_bytes += size or 0
        self.run_files += 1

    def timespan_done(self, label: str) -> None:
        elapsed = time.monotonic() - self._span_started
        streams = ", ".join(f"{name} {rows}" for name, rows in sorted(self._span_rows.items())) or "no rows"
        self.logger.info("%s done: %s; %.1f MB in %.1f s", label, streams, self._span_bytes / 1e6, elapsed)
        self._span_rows.clear()
        self._span_bytes = 0
        self._span_started = time.monotonic()

    def run_done(self) -> None:
        elapsed = time.monotonic() - self.run_started
        streams = ", ".join(f"{name} {rows}" for name, rows in sorted(self.run_rows.items())) or "no rows"
        self.logger.info(
            "Run done: %s; %d files, %.1f MB in %.1f s", streams, self.run_files, self.run_bytes / 1e6, elapsed
        )
