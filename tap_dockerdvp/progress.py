"""Progress a person can follow on long runs: per file, per timespan and per run, on the tap's logger.

These are plain INFO lines next to the SDK's own METRIC lines (which stay untouched for machines to read).
"""

from __future__ import annotations

import logging
import time
import typing as t
from collections import Counter

# What a stream's `logger` is: a Logger up to singer-sdk 0.54, a LoggerAdapter from 0.55 on.
LoggerLike: t.TypeAlias = "logging.Logger | logging.LoggerAdapter[t.Any]"

# Rows between two looks at the clock while a file streams: cheap enough for the hot loop.
CHECK_EVERY_ROWS = 1 << 14


class FileProgress:
    """Logs a file's size when it starts, rows so far and rate every ``interval`` seconds, and a last line."""

    def __init__(self, logger: LoggerLike, label: str, size: int | None, interval: float) -> None:
        self.logger, self.label, self.interval = logger, label, interval
        self.started = self.last = time.monotonic()
        size_text = f"{size / 1e6:.1f} MB" if size else "size unknown"
        logger.info("%s: reading (%s)", label, size_text)

    def tick(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.logger.info("%s: %d rows so far, %.0f rows/s", self.label, rows, rows / (now - self.started))

    def done(self, rows: int) -> float:
        elapsed = time.monotonic() - self.started
        self.logger.info("%s: %d rows in %.1f s (%.0f rows/s)", self.label, rows, elapsed, rows / max(elapsed, 1e-9))
        return elapsed


class RunProgress:
    """Rows and bytes per stream, for one timespan at a time and for the whole run."""

    def __init__(self, logger: LoggerLike) -> None:
        self.logger = logger
        self.run_started = time.monotonic()
        self.run_rows: Counter[str] = Counter()
        self.run_bytes = 0
        self.run_files = 0
        self._span_rows: Counter[str] = Counter()
        self._span_bytes = 0
        self._span_started = time.monotonic()

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
