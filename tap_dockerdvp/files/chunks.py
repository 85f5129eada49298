"""Reading one large file on every core: whole-line chunks, parsed and encoded by worker processes, in order.

Parsing CSV (``csv.reader``) and building JSON are the cost of a large file, and both run on one core in one
process. So the tap's process downloads and gunzips the file and cuts its bytes into chunks of whole lines, at a
line break outside quotes; worker processes read each chunk with the one reader
(:func:`~tap_dockerdvp.files.reader.read_batches`, given the file's header and the chunk's first row number) and
encode its rows (:class:`~tap_dockerdvp.files.encoders.Encoder`: RECORD messages, or JSON lines compressed as one gzip
member per batch-file segment); the tap's process writes the results in the file's order, so the output is
exactly what the serial reader gives.

A chunk's first row number is predicted from the line breaks before it. A worker reports the rows it read and
whether its chunk ended at the end of a row; when a prediction was wrong (a value holding a line break, a blank
line) or a chunk did not end with a whole row (a quote the line-break count did not see), everything from there
on is read in the tap's own process. Slower, never different.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import mmap
import multiprocessing
import os
import tempfile
import typing as t
from collections import deque
from dataclasses import dataclass, field
from itertools import chain

from tap_dockerdvp.files.encoders import Encoder, Encoding, Piece
from tap_dockerdvp.files.readahead import ahead
from tap_dockerdvp.files.reader import (
    CsvFormatError,
    FileLayout,
    ReadStats,
    RowBatch,
    TruncatedFileError,
    decompressed,
    read_batches,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_dockerdvp.dvp.views import ViewSpec

#: Decompressed bytes per chunk (at least; a chunk ends with the block that reaches it, about 1 MiB): enough to keep
#: a worker busy for 20 ms, little enough that a worker stays near 30 MiB.
CHUNK_BYTES = 1 << 19
#: Files smaller than this (compressed, as the API lists them) are read in the tap's process.
MIN_FILE_BYTES = 8 << 20
#: Chunks in flight per worker.
AHEAD = 2
_GZIP_LEVEL = 1

try:  # ISA-L compresses gzip about four times faster than zlib at its fast levels
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - a platform without an isal wheel
    import zlib as _zlib  # type: ignore[no-redef]


def worker_count(setting: int) -> int:
    """Worker processes for the `parallel_workers` setting: 0 is one per CPU (at most 4), 1 is none."""
    if setting == 0:
        setting = min(4, os.cpu_count() or 1)
    return setting if setting > 1 else 0


def start_pool(workers: int) -> cf.ProcessPoolExecutor:
    """Worker processes, each a fresh interpreter (never forked from the tap, which may hold threads). Spawned, not
    forked from a server process: the server would be one more process of 20 MiB, and a forked worker's resident
    set counts the server's pages again. A worker imports the tap's script as its main module, which imports
    neither the tap nor the SDK (see ``tap_dockerdvp/__main__.py``)."""
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


# --------------------------------------------------------------------------------------------------
# what runs in a worker process


@dataclass(frozen=True)
class Job:
    """One chunk for a worker. Its bytes travel through files in a spool directory (in memory, on /dev/shm where
    there is one): writing and reading a file costs a copy, a pickled queue costs several."""

    spec: ViewSpec
    header: tuple[str, ...]
    label: str
    first_row: int
    skip: int
    data_path: str  # the chunk's bytes; the worker writes its pieces to `data_path + ".out"`
    encoding: Encoding
    gzip: bool
    check_column: str | None


@dataclass
class ChunkResult:
    pieces: list[tuple[int, int, int, bool]]  # (first row, rows, bytes, gzip) of each piece, end to end in the file
    stats: ReadStats
    edges: list[t.Any] = field(default_factory=list)  # the check column's first and last value
    error: str | None = None  # a CsvFormatError: the pieces hold the rows before it
    cut: bool = False  # the chunk did not end with a whole row


_LAYOUTS: dict[tuple[t.Any, ...], FileLayout] = {}


def run_job(job: Job) -> ChunkResult:
    """Read and encode one chunk (in a worker process)."""
    key = (job.spec.view, job.spec.stream_name, job.header)
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _LAYOUTS[key] = FileLayout(job.header, job.spec, label=job.label)
    stats = ReadStats()
    edges = Edges(job.check_column)
    result = ChunkResult([], stats)
    with open(job.data_path, "rb") as chunk:
        data = chunk.read()
    batches = read_batches(
        [data], job.spec, label=job.label, layout=layout, first_row=job.first_row, skip=job.skip,
        stats=stats, plain=True,
    )  # fmt: skip
    pieces: list[Piece] = []
    try:
        pieces = list(Encoder(job.encoding).pieces(edges.watch(batches)))
    except TruncatedFileError:
        result.cut = True
    except CsvFormatError as exc:
        result.error = str(exc)
        pieces = []  # the rows before the error are read again in the tap's process, which raises it
        result.cut = True
    result.edges = edges.values
    if job.gzip:
        pieces = gzip_members(pieces, job.encoding.cut_every)
    with open(job.data_path + ".out", "wb") as out:
        for piece in pieces:
            out.write(piece.data)
    result.pieces = [(p.first_row, p.count, len(p.data), p.gzip) for p in pieces]
    return result


def gzip_members(pieces: list[Piece], every: int) -> list[Piece]:
    """Consecutive pieces of one batch-file segment joined and compressed as one gzip member each."""
    out: list[Piece] = []
    group: list[Piece] = []

    def flush() -> None:
        if group:
            compressor = _zlib.compressobj(_GZIP_LEVEL, _zlib.DEFLATED, 31)
            data = compressor.compress(b"".join(p.data for p in group)) + compressor.flush()
            out.append(Piece(data, group[0].first_row, sum(p.count for p in group), gzip=True))
            group.clear()

    for piece in pieces:
        if group and every and (piece.first_row - 1) // every != (group[0].first_row - 1) // every:
            flush()
        group.append(piece)
    flush()
    return out


class Edges:
    """The first and last value of a column across a file's batches (e.g. the action day, to check dates)."""

    def __init__(self, column: str | None) -> None:
        self.column = column
        self.values: list[t.Any] = []

    def watch(self, batches: Iterable[RowBatch]) -> Iterator[RowBatch]:
        for batch in batches:
            if self.column and self.column in batch.layout.found and batch.count:
                values = batch.values(self.column)
                self.values = [self.values[0] if self.values else values[0], values[-1]]
            yield batch


# --------------------------------------------------------------------------------------------------
# the tap's side


class ParallelRead:
    """One read of one file through the worker pool: iterate :meth:`pieces`, then read ``stats`` and ``edges``."""

    def __init__(
        self,
        pool: cf.ProcessPoolExecutor,
        workers: int,
        *,
        spool: str,
        spec: ViewSpec,
        label: str,
        encoding: Encoding,
        gzip: bool = False,
        check_column: str | None = None,
        logger: logging.Logger | logging.LoggerAdapter,
        stats: ReadStats | None = None,
        edges: Edges | None = None,
    ) -> None:
        self.pool, self.ahead, self.spool = pool, workers * AHEAD, spool
        self.spec, self.label, self.encoding, self.gzip = spec, label, encoding, gzip
        self.check_column = check_column
        self.log = logger
        self.stats = stats if stats is not None else ReadStats()
        self.edges = edges if edges is not None else Edges(check_column)
        self.layout: FileLayout | None = None
        self.serial_from: int | None = None  # the row from which this process read on, if it did
        self._paths: dict[int, str] = {}
        self._spooled = 0

    def pieces(self, chunks: Iterable[bytes], *, skip: int = 0) -> Iterator[Piece]:
        """The file's rows after ``skip``, encoded, in order; raises what the serial reader raises, after the same
        rows (:class:`CsvFormatError`, :class:`TruncatedFileError`)."""
        source = ahead(decompressed(chunks, self.label))
        rest, header = header_row(source)
        if header is None:  # no whole line: the serial reader says what it makes of that
            yield from self._serial(chain([rest], source), first_row=1, skip=skip, with_header=True)
            return
        self.layout = FileLayout.of(header, self.spec, label=self.label, log=self.log, cut_in_header=False)
        pending: deque[tuple[cf.Future[ChunkResult], bytes, int, int]] = deque()  # future, chunk, first row, lines
        next_row = 1  # the first row of the next chunk, as its line breaks predict it
        cutter = LineChunks(source, rest, CHUNK_BYTES)
        submitting, held = True, []  # held: a chunk cut inside quotes, read here with the rest
        restart: tuple[int, list[bytes]] | None = None  # (row, bytes) where this process reads on
        while restart is None:
            while submitting and len(pending) < self.ahead:
                pieces = cutter.next()
                chunk = b"".join(pieces) if pieces is not None else b""
                if pieces is None or not quotes_closed(chunk):  # no whole line left, or quotes open at the cut
                    submitting, held = False, [chunk] if chunk else []
                    break
                lines = chunk.count(b"\n")
                path = self._spool(chunk)
                job = Job(
                    self.spec, tuple(header), self.label, next_row, skip, path, self.encoding, self.gzip,
                    self.check_column,
                )  # fmt: skip
                pending.append((self.pool.submit(run_job, job), chunk, next_row, lines))
                self._paths[id(pending[-1][0])] = path
                next_row += lines
            if not pending:
                break
            future, chunk, first_row, lines = pending.popleft()
            path = self._paths.pop(id(future))
            try:
                result = future.result()
                if result.cut or result.error:  # not a whole-row chunk, or an error the serial reader must raise
                    restart = (first_row, [chunk])
                else:
                    self.stats.add(result.stats)
                    if result.edges:
                        first = self.edges.values[0] if self.edges.values else result.edges[0]
                        self.edges.values = [first, result.edges[-1]]
                    yield from _pieces_in(path + ".out", result.pieces)
                    if result.stats.rows != lines:  # a line break in a value, a blank line: later rows mispredicted
                        restart = (first_row + result.stats.rows, [])
            finally:
                _remove(path)
        if restart is None:
            restart = (next_row, [])
        for future, chunk, _first, _lines in pending:
            future.cancel()
            restart[1].append(chunk)
            with contextlib.suppress(cf.CancelledError):
                future.result()  # a worker may be writing its output: let it finish before the files go
            _remove(self._paths.pop(id(future)))
        row, leftovers = restart
        leftovers += [*held, *cutter.rest()]
        if leftovers or not cutter.exhausted:
            self.serial_from = row
            yield from self._serial(chain(leftovers, source), first_row=row, skip=skip)

    def _spool(self, chunk: bytes) -> str:
        self._spooled += 1
        path = os.path.join(self.spool, f"{id(self):x}-{self._spooled}")
        with open(path, "wb") as out:
            out.write(chunk)
        return path

    def _serial(
        self, data: Iterable[bytes], *, first_row: int, skip: int, with_header: bool = False
    ) -> Iterator[Piece]:
        """The rest of the file read and encoded in this process (the same reader, the same encoder)."""
        self.log.debug("%s: reading on from data row %d in the tap's own process", self.label, first_row)
        batches = rest_of_file(
            data, self.spec, label=self.label, layout=None if with_header else self.layout, first_row=first_row,
            skip=skip, stats=self.stats, edges=self.edges, logger=self.log,
        )  # fmt: skip
        yield from serial_pieces(batches, self.encoding, gzip=self.gzip)


def _pieces_in(path: str, pieces: list[tuple[int, int, int, bool]]) -> Iterator[Piece]:
    """The pieces a worker wrote end to end in ``path``, as views of the file mapped in memory (no copy)."""
    if not pieces:
        return
    with open(path, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mapped)
    offset = 0
    try:
        for first_row, count, size, gzip in pieces:
            part = view[offset : offset + size]
            offset += size
            try:
                yield Piece(part, first_row, count, gzip)
            finally:
                part.release()
    finally:
        view.release()
        mapped.close()


def _remove(path: str) -> None:
    for name in (path, path + ".out"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(name)


def spool_directory() -> str:
    """A directory for chunks on their way to and from the workers: in memory (/dev/shm) where there is one."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None  # noqa: S108
    return tempfile.mkdtemp(prefix="tap-dockerdvp-", dir=base)


def rest_of_file(
    data: Iterable[bytes],
    spec: ViewSpec,
    *,
    label: str,
    layout: FileLayout | None,
    first_row: int,
    skip: int,
    stats: ReadStats,
    edges: Edges,
    logger: logging.Logger | logging.LoggerAdapter,
) -> Iterator[RowBatch]:
    """The rest of a file (decompressed bytes) read by the reader in this process, after a part read otherwise;
    its counts are added to ``stats`` (``layout`` None: the data starts with the header row)."""
    part = ReadStats()
    try:
        batches = read_batches(
            data, spec, label=label, layout=layout, first_row=first_row, skip=skip, stats=part, plain=True,
            logger=logger,
        )  # fmt: skip
        yield from edges.watch(batches)
    finally:
        stats.add(part)


class LineChunks:
    """A file's decompressed blocks cut into chunks of whole lines of about ``size`` bytes (a line longer than that
    is a chunk of its own), without copying the blocks: a chunk is a list of pieces to join. Whether quotes are
    open at a cut is for the caller to check (:func:`quotes_closed`). The bytes not handed out are :meth:`rest`,
    the source's next blocks come after them."""

    def __init__(self, source: Iterator[bytes], first: bytes, size: int) -> None:
        self.source, self.size = source, size
        self._rest: list[bytes] = [first] if first else []
        self.exhausted = False

    def next(self) -> list[bytes | memoryview] | None:
        """The next chunk, or None when no whole line is left (then the source is exhausted)."""
        pieces, self._rest = self._rest, []
        total = sum(map(len, pieces))
        searched = 0  # pieces known to hold no line break
        while True:
            if total >= self.size or self.exhausted:
                for index in range(len(pieces) - 1, searched - 1, -1):
                    piece = pieces[index]
                    if end := piece.rfind(b"\n") + 1:
                        self._rest = [p for p in (piece[end:], *pieces[index + 1 :]) if p]  # less than a line
                        return [*pieces[:index], piece if end == len(piece) else memoryview(piece)[:end]]
                searched = len(pieces)
                if self.exhausted:
                    self._rest = pieces
                    return None
            block = next(self.source, None)
            if block is None:
                self.exhausted = True
                continue
            pieces.append(block)
            total += len(block)

    def rest(self) -> list[bytes]:
        """The bytes after the chunks handed out."""
        return self._rest


def quotes_closed(chunk: bytes) -> bool:
    """Whether a chunk that starts outside quotes ends outside them: an even count of quote characters."""
    return chunk.count(b'"') % 2 == 0


def gzip_members_each(pieces: Iterable[Piece], every: int) -> Iterator[Piece]:
    """Each piece compressed on its own (the serial side of :func:`gzip_members`)."""
    for piece in pieces:
        yield from gzip_members([piece], every)


def gzip_members_ahead(pieces: Iterable[Piece], every: int, depth: int = 2) -> Iterator[Piece]:
    """Each piece compressed on its own by a thread, while the next pieces are made (ISA-L and zlib release the
    GIL); in order, at most ``depth`` pieces waiting."""
    with cf.ThreadPoolExecutor(1, thread_name_prefix="tap-dockerdvp-gzip") as pool:
        pending: deque[cf.Future[list[Piece]]] = deque()
        try:
            for piece in pieces:
                pending.append(pool.submit(gzip_members, [piece], every))
                if len(pending) > depth:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def header_row(blocks: Iterator[bytes]) -> tuple[bytes, list[str] | None]:
    """(the bytes after the header row, the header row), reading blocks until a line break outside quotes;
    (all bytes read, None) when there is none within a chunk's worth."""
    import csv
    import io

    data = b""
    for block in blocks:
        if not data and block.startswith(b"\xef\xbb\xbf"):
            block = block[3:]  # a BOM
        data += block
        start = 0
        while end := data.find(b"\n", start) + 1:
            if data.count(b'"', 0, end) % 2 == 0:
                text = data[:end].decode("utf-8", errors="tap-dockerdvp-cp1252")
                return data[end:], next(csv.reader(io.StringIO(text, newline="")), [])
            start = end
        if len(data) > CHUNK_BYTES:
            break
    return data, None


def serial_pieces(batches: Iterable[RowBatch], encoding: Encoding, *, gzip: bool = False) -> Iterator[Piece]:
    """The pieces of batches read in this process (small files)."""
    pieces = Encoder(encoding).pieces(batches)
    return gzip_members_each(pieces, encoding.cut_every) if gzip else pieces


__all__ = ["ChunkResult", "Edges", "Job", "ParallelRead", "run_job", "serial_pieces", "start_pool", "worker_count"]
