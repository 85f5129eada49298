"""The one base for "the rows of a period's files": export views under `timespans`, reports under `reports`.

For each period its parent emits, a stream lists the period's files, downloads each (retries, Range resume,
fresh URLs), has the file engine read it (:mod:`tap_dockerdvp.files.engine`) and writes its rows in one of three
ways:

- **RECORD lines** (the default): the rows' RECORD messages are written to stdout many rows at a time from
  ``get_records``, which yields nothing, so the SDK's per-record path is skipped (public API only: the SDK's
  counter counts them);
- **records** through the SDK when stream maps, flattening or a record limit apply, logged once per stream;
- **BATCH files** (``batch_config``): ``get_batches`` writes jsonl or parquet files straight from the engine.

A file that breaks off is resumed by the download; damage found only after decompression (bad CRC, cut last
line, an error page) makes the file be read again, skipping the rows already written, so a retry neither loses
nor repeats a row. A period whose files are listed but not ready yet (a late file) holds its partition's bookmark
back for ``late_data_grace_days`` (see :meth:`PeriodFilesStream.files_of`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import typing as t
from dataclasses import dataclass, field
from functools import cached_property

from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from tap_dockerdvp.dvp.periods import utc_today
from tap_dockerdvp.errors import DownloadError, FileChangedError, TruncatedFileError, UnendedLineError
from tap_dockerdvp.files import engine
from tap_dockerdvp.files.batch_files import BatchFiles, BatchShape
from tap_dockerdvp.files.compression import GZIP_MAGIC
from tap_dockerdvp.files.encoders import Output, StdoutSink, cut
from tap_dockerdvp.files.progress import CHECK_EVERY_ROWS, FileProgress
from tap_dockerdvp.files.reader import CsvFormatError, Reading, records
from tap_dockerdvp.http.downloads import Download, UrlExpiredError, wait_before_retry
from tap_dockerdvp.streams.base import DockerHubStream

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import metrics
    from singer_sdk.helpers.types import Context

    from tap_dockerdvp.dvp.views import ViewSpec
    from tap_dockerdvp.streams.completed_periods import CompletedPeriodStream


@dataclass
class PeriodFile:
    """One file of a period. The URL may be presigned: it is never logged, put in a record or in state."""

    url: str = field(repr=False)
    size: int | None = None
    name: str | None = None  # the file name (no query string), for rows that carry it


class Late(Exception):
    """The period's files are listed as existing but cannot be read yet."""


class FileGone(Exception):
    """A file went away for good before it could be read (its message says why); its rows are lost."""


class PeriodFilesStream(DockerHubStream):
    """Rows of the files of each period the parent emits. Subclasses say how to list and open the files."""

    spec: t.ClassVar[ViewSpec]
    replication_key = None
    # No state partition per period: the parent's bookmark is the state.
    state_partitioning_keys: t.ClassVar[list[str]] = []
    # The reader already types every value; the SDK's conformance pass would only cost time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    def extra_key(self) -> str:
        """The key that holds a row's unknown columns (the view's)."""
        return self.spec.extra_key

    # -- what a subclass says ----------------------------------------------------------------------
    def applies_to(self, context: Context) -> bool:
        """Whether this stream has files for the period (a view the namespace offers, a report of its type)."""
        return True

    def describe(self, context: Context) -> str:
        """The period in log lines: ``acme raw weeks 2026/46``."""
        raise NotImplementedError

    def period_end(self, context: Context) -> dt.date:
        raise NotImplementedError

    def list_files(self, context: Context) -> list[PeriodFile]:
        """The period's files; raises :class:`Late` when they are listed as existing but cannot be read yet."""
        raise NotImplementedError

    def open_file(self, context: Context, files: list[PeriodFile], index: int, label: str) -> Download:
        """The byte stream of file ``index``; it may replace ``files[index]`` with a fresh URL when one expires."""
        raise NotImplementedError

    def row_constants(self, context: Context, files: list[PeriodFile], index: int) -> dict[str, t.Any]:
        """The fields every row of file ``index`` carries besides its columns (the context, the file index)."""
        raise NotImplementedError

    def download(
        self,
        session: requests.Session,
        file: PeriodFile,
        label: str,
        refresh_url: t.Callable[[], str],
    ) -> Download:
        """The byte stream of ``file`` with the settings' retries (see
        :class:`~tap_dockerdvp.http.downloads.Download`)."""
        return Download(
            session,
            file.url,
            label=label,
            timeout=self.timeout,
            advertised_size=file.size,
            refresh_url=refresh_url,
            max_tries=int(self.config["max_retries"]) + 1,
            retry_base_seconds=float(self.config["retry_base_seconds"]),
            logger=self.logger,
        )

    def recover(self, exc: Exception, context: Context, files: list[PeriodFile], index: int) -> bool:
        """A subclass's own failure of a file (e.g. a report's 401): True to read it again, False to re-raise; it
        may also raise :class:`Late` or :class:`FileGone`."""
        return False

    #: a column whose first and last value of each file :meth:`check_edges` sees (e.g. the rows' day)
    check_column: t.ClassVar[str | None] = None

    def check_edges(self, context: Context, values: list[t.Any]) -> None:
        """Called after each file with the first and last value of :attr:`check_column` (none if it lacks it)."""

    # -- keys and outputs -----------------------------------------------------------------------------
    @cached_property
    def property_order(self) -> tuple[str, ...]:
        """Every property, in schema order: the order of each row's keys."""
        return tuple(self.schema["properties"])

    def sdk_path_reason(self) -> str | None:
        """Why rows must go through the SDK's record path (stream maps, flattening, a record limit), or None."""
        if self.ABORT_AT_RECORD_COUNT is not None:
            return "a record limit is set"
        return self.maps_reason()

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # A sync here is one period's slice of the table: an ACTIVATE_VERSION would let a target delete every
        # other period's rows. These streams are incremental through their parent's bookmark.
        return False

    @override
    def get_record_counter(self, *args: t.Any, **kwargs: t.Any) -> metrics.Counter:
        counter = super().get_record_counter(*args, **kwargs)
        self.sync_record_counter = counter  # RECORD lines written in get_records are counted on it
        return counter

    # -- records (the SDK's sync calls this) -----------------------------------------------------------
    @override
    def preprocess_context(self, context: Context) -> Context:
        # The SDK calls this as a sync begins, before its "Beginning sync" line (see `DockerHubStream.log`).
        self.context_applies = self.applies_to(context)
        return super().preprocess_context(context)

    context_applies = True

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        assert context is not None
        if not self.context_applies:
            return
        files = self.files_of(context)
        reason = self.sdk_path_reason()
        if reason is None and self.selected:
            self.write_record_lines(context, files)
            return
        if reason is not None:
            self.tap.run.log_once(
                self.logger,
                ("sdk-path", self.name, reason),
                logging.INFO,
                "%s: %s, so its rows go through the SDK's record path",
                self.name,
                reason,
            )
        order = self.property_order
        for index in range(len(files)):
            constants = self.row_constants(context, files, index)
            for batch in self.read_file(context, files, index, Output("batches")):
                yield from records(batch, order, constants, extra_key=self.extra_key)

    def write_record_lines(self, context: Context, files: list[PeriodFile]) -> None:
        """Every row as a RECORD message on stdout, many rows per write (what the SDK would write)."""
        keys, stream = self.selected_keys(), self.stream_maps[0].stream_alias
        sink = StdoutSink()
        counter = self.sync_record_counter
        try:
            for index in range(len(files)):
                constants = tuple(self.row_constants(context, files, index).items())
                output = Output("record", keys, constants, stream=stream, extra_key=self.extra_key)
                for piece in self.read_file(context, files, index, output):
                    sink.write(piece.data)
                    counter.increment(piece.count)
        finally:
            sink.flush()

    # -- BATCH files (the SDK's sync calls this when batch_config is set) -------------------------------
    @override
    def get_batches(self, batch_config: t.Any, context: Context | None = None) -> t.Iterable[tuple[t.Any, list[str]]]:
        assert context is not None
        if not self.context_applies:
            return
        files = self.files_of(context)
        if not files:
            return
        writer = BatchFiles(batch_config, tap_name=self.tap_name, stream_name=self.name)
        shape = self.batch_shape()
        if shape.mapper is not None:
            self.tap.run.log_once(
                self.logger,
                ("batch-mapped", self.name),
                logging.INFO,
                "%s: stream maps or flattening apply: its BATCH rows are mapped record by record (slower)",
                self.name,
            )
        with writer:  # a sync that fails abandons its open file
            for index in range(len(files)):
                for url in self.file_batches(context, files, index, writer, shape):
                    yield batch_config.encoding, [url]
                # a batch file never spans two source files; it is written while the next file is read
                finished = writer.finish()
                writer.source_done()
                for url in finished:
                    yield batch_config.encoding, [url]
            for url in writer.close():
                yield batch_config.encoding, [url]

    def file_batches(
        self, context: Context, files: list[PeriodFile], index: int, writer: BatchFiles, shape: BatchShape
    ) -> t.Iterator[str]:
        """The rows of file ``index`` into ``writer``: the URLs of the batch files this completed."""
        keys, schema = shape.keys, shape.schema
        constants = self.row_constants(context, files, index)
        if shape.mapper is not None:  # stream maps or flattening: the SDK's mapper, record by record
            for batch in self.read_file(context, files, index, Output("batches"), rollback=writer.rollback):
                self.tap.progress.add_rows(self.name, batch.count)
                for part in cut(batch, writer.batch_size):
                    rows = shape.rows(records(part, self.property_order, constants, extra_key=self.extra_key))
                    yield from writer.add_rows(rows, keys, schema, source_rows=part.count)
            return
        # straight from the engine: JSON lines (each piece one gzip member of a gzip file) or Arrow tables
        output = Output(
            writer.format, keys, tuple(constants.items()), extra_key=self.extra_key,
            cut_every=writer.batch_size, schema=schema,
        )  # fmt: skip
        for part in self.read_file(context, files, index, output, rollback=writer.rollback):
            self.tap.progress.add_rows(self.name, part.count)
            yield from writer.add(part)

    # -- files --------------------------------------------------------------------------------------
    def files_of(self, context: Context) -> list[PeriodFile]:
        """The period's files; none when they are late (see :meth:`late`)."""
        try:
            return self.list_files(context)
        except Late as late:
            self.late(context, late)
            return []

    def late(self, context: Context, late: Late) -> None:
        """A file listed but not readable yet holds the partition's bookmark back while the period ended less
        than ``late_data_grace_days`` ago (the next run tries again); after that the period is taken as empty."""
        grace = int(self.config["late_data_grace_days"])
        age = (utc_today() - self.period_end(context)).days
        what = f"{self.describe(context)}: {late}"
        if age < grace:
            reason = (
                f"{what}; the period ended {age} days ago (late_data_grace_days {grace}): its bookmark stays "
                "before it and the next run tries again"
            )
            parent = t.cast("type[CompletedPeriodStream]", self.parent_stream_type)
            self.tap.run.held_back.setdefault(parent.partition_key(context), reason)
            self.logger.warning("%s", reason)
            self.tap.progress.note_held_back(
                "files listed but not readable yet (late); the bookmark stays before them", self.describe(context)
            )
        else:
            self.logger.warning(
                "%s; the period ended %d days ago, past late_data_grace_days (%d): taken as empty", what, age, grace
            )
            self.tap.progress.note_skipped(
                "late files past late_data_grace_days, taken as empty", self.describe(context)
            )

    def read_file(
        self,
        context: Context,
        files: list[PeriodFile],
        index: int,
        output: Output,
        *,
        rollback: t.Callable[[bool], int] | None = None,
    ) -> t.Iterator[t.Any]:
        """What the engine makes of file ``index`` as ``output`` says (row batches, encoded pieces or tables), each
        row once, whatever had to be read again. A file that changed while it was read is read again from its first
        row: the rows sent of the old version are sent again, with the same keys, so a target upserts them.

        ``rollback(restart)`` (BATCH files) discards what was written but not handed out, and returns the rows of
        the file that were (none with ``restart``); without it, every item yielded counts as written.
        """
        label = self.file_label(context, files, index)
        emitted = failures = 0
        max_tries = int(self.config["max_retries"]) + 1
        retry_base = float(self.config["retry_base_seconds"])
        progress: FileProgress | None = None
        unended: int | None = None  # the size of a body read whole whose last line had no line break
        while True:
            restart = False  # the file changed while it was read: it is read again from its first row
            download = self.open_file(context, files, index, label)
            if progress is None:
                progress = FileProgress(self.logger, label, download, self.config["progress_interval_seconds"])
            progress.download = download
            reading = Reading(label, self.logger, self.check_column)
            next_tick = emitted + CHECK_EVERY_ROWS
            try:
                blocks = _line_ended(download, unended, self.logger, label) if unended else download
                for item in engine.read(blocks, self.spec, output, skip=emitted, reading=reading):
                    yield item
                    emitted = item.last_row
                    if emitted >= next_tick:
                        progress.tick(emitted)
                        next_tick = emitted + CHECK_EVERY_ROWS
                break
            except (TruncatedFileError, CsvFormatError) as exc:
                # A plain body cut in transit, or so written: a second download of the same size settles it
                # (`_line_ended`). That download is a check, not a retry: with `max_retries: 0` such a file could
                # never be read. A gzip body's CSV without its last line break is cut.
                checking = unended is None
                unended = (
                    download.received
                    if isinstance(exc, UnendedLineError) and download.length_checked and download.head != GZIP_MAGIC
                    else None
                )
                restart = isinstance(exc, FileChangedError)
                if restart:
                    self.logger.warning("%s: %s: reading it again from its first row", label, exc)
                    emitted = 0
                if checking and unended:
                    self.logger.info("%s: downloading it again to tell a file written so from a cut one", exc)
                else:
                    failures += 1
                    # Bad content is retried only twice: an error page may be transient, a wrong format is not.
                    limit = min(max_tries, 3) if isinstance(exc, CsvFormatError) else max_tries
                    self.give_up_after(failures, limit, exc)
                    time.sleep(
                        wait_before_retry(
                            exc, failures - 1, base=retry_base, logger=self.logger, label=label, tries=limit
                        )
                    )
            except UrlExpiredError as exc:
                raise DownloadError(f"{exc}; fresh URLs did not help after {max_tries} tries") from None
            except Exception as exc:
                try:
                    if not self.recover(exc, context, files, index):
                        raise
                except Late as late:
                    self.late(context, late)
                    return
                except FileGone as gone:
                    self.logger.warning("%s: %s; %d rows were emitted", label, gone, emitted)
                    return
                failures += 1
                self.give_up_after(failures, max_tries, exc)
            if rollback is not None:
                emitted = rollback(restart)
        reading.stats.log(self.logger, label, self.extra_key)
        self.check_edges(context, reading.edges.values)
        progress.done(emitted)
        self.tap.progress.file_done(self.name, emitted, download.received)

    def file_label(self, context: Context, files: list[PeriodFile], index: int) -> str:
        name = f" ({files[index].name})" if files[index].name else ""
        return f"{self.describe(context)} file {index + 1}/{len(files)}{name}"

    @staticmethod
    def give_up_after(failures: int, max_tries: int, exc: Exception | str) -> None:
        if failures >= max_tries:
            # bad content in every download is the file's own, or a lasting error page: a rerun alone does not help
            then = (
                "an error page may pass, so run again later; a file that stays so is one the tap cannot read: "
                "please report it"
                if isinstance(exc, CsvFormatError)
                else "run again to resume"
            )
            raise DownloadError(
                f"{exc} (gave up after {failures} tries; the period's bookmark did not move: {then})"
            ) from None


_S = t.TypeVar("_S", bound=PeriodFilesStream)


def view_stream(base: type[_S], spec: ViewSpec) -> type[_S]:
    """The stream of ``spec``'s files: a class of its own in ``base``'s module, named after its stream
    (``repo_summary`` → ``RepoSummaryStream``)."""
    name = "".join(part.title() for part in spec.stream_name.split("_")) + "Stream"
    namespace = {"name": spec.stream_name, "spec": spec, "__doc__": spec.description, "__module__": base.__module__}
    return type(name, (base,), namespace)


def _line_ended(
    download: Download, size: int, logger: logging.Logger | logging.LoggerAdapter, label: str
) -> t.Iterator[bytes]:
    """The download's bytes, with a line break after a plain (not gzip) body that lacks one and, whole by its
    Content-Length, has the ``size`` of the download before, which ended so too: many CSV writers leave the last
    line break out, and a cut in transit would not repeat. Without it, the reader takes the last line for a cut."""
    first = last = b""
    for block in download:
        if block:
            first, last = first or block[:2], block[-1:]
            yield block
    plain = first and first != GZIP_MAGIC and last not in (b"\n", b"\r")
    if plain and download.length_checked and download.received == size:
        logger.info("%s: the last line has no line break in two downloads of %d bytes: read as whole", label, size)
        yield b"\n"
