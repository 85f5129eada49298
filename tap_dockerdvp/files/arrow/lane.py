r"""The Arrow lane: pyarrow's C++ CSV parser splits the lines, the reader's rules decide what the fields are.

Building Python strings per value costs more than parsing the CSV. So, with pyarrow installed, a file is cut into
chunks of whole lines (:mod:`tap_dockerdvp.files.chunks`) and each chunk is split into text columns by
``pyarrow.csv``, in a thread one chunk ahead of the encoding. The rules stay those of
:mod:`tap_dockerdvp.files.reader`: the header is read by the same ``FileLayout``, null tokens are the same
``NULL_TOKENS``, rows are numbered the same way (blank lines not counted), and typed values come from the reader's
own parsers, once per distinct value (Arrow only finds the distinct values and puts the results in place). Any
chunk with something else in it - a ragged row, bytes that are not UTF-8, a bad value, quotes open at its end - is
read by the reader itself (``read_batches``), which also raises its errors, after the same rows.

The columns become parquet tables (:meth:`ArrowLane.tables`) or RECORD and JSONL lines (:meth:`ArrowLane.pieces`,
built in C++ by :mod:`tap_dockerdvp.files.arrow.json_lines`): exactly the rows and bytes the reader and its
encoder give.
"""

from __future__ import annotations

import codecs
import concurrent.futures as cf
import functools
import importlib.util
import logging
import os
import platform
import sys
import typing as t
from collections import deque
from itertools import chain

from tap_dockerdvp.files.arrow.json_lines import ArrowJsonRows, TextPart, TypedField, leading, plain_times
from tap_dockerdvp.files.chunks import Edges, LineChunks, header_row, quotes_closed, rest_of_file
from tap_dockerdvp.files.encoders import ArrowRows, Encoder, Encoding, Piece, arrow_column, arrow_type, cut
from tap_dockerdvp.files.readahead import ahead
from tap_dockerdvp.files.reader import NULL_TOKENS, CsvFormatError, FileLayout, ReadStats, RowBatch, decompressed

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    import pyarrow as pa

    from tap_dockerdvp.dvp.views import ViewSpec


# jemalloc for every Arrow buffer, the C++ library's own included, where pyarrow's wheels have it (Linux x86_64; a
# build without it would print a warning): mimalloc, pyarrow's default, keeps pages it freed, which costs a large
# file's read tens of MiB at its peak for no speed. Read by pyarrow when it loads (it loads later, when a large file
# or parquet needs it); a value the user set stays.
# jemalloc's own settings (read by pyarrow's build from JE_ARROW_MALLOC_CONF): one arena, as the Arrow work runs in
# a few threads taking turns (an arena per thread each keeps the pages freed in it), and freed pages given back at
# once rather than kept for a second: 8 to 10 MiB less at the peak; no thread caches (each thread kept freed
# buffers for itself): 5 to 7 MiB less. Both measured no slower.
if sys.platform.startswith("linux") and platform.machine() == "x86_64":
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", "narenas:1,muzzy_decay_ms:0,tcache:false")


@functools.cache
def has_pyarrow() -> bool:
    """Whether pyarrow is installed (the ``parquet`` extra): then large files are read through this lane."""
    return importlib.util.find_spec("pyarrow") is not None


#: Decompressed bytes per chunk: Arrow's parser and kernels have a fixed cost per call; what a chunk becomes
#: (columns, JSON text, parquet pages) is several times its size, and sets the tap's peak memory. Measured on 2
#: cores: 2 MiB is 5 to 10% faster, and takes 140 to 170 MiB at the peak instead of 110 to 140.
CHUNK_BYTES = 1 << 20


class TablePart:
    """Consecutive rows of a file as an Arrow table (what a parquet batch file is written from)."""

    __slots__ = ("count", "first_row", "table")

    def __init__(self, table: pa.Table, first_row: int) -> None:
        self.table, self.first_row, self.count = table, first_row, table.num_rows

    @property
    def last_row(self) -> int:
        return self.first_row + self.count - 1

    def split(self, count: int) -> TablePart:
        return TablePart(self.table.slice(0, count), self.first_row)

    def drop(self, count: int) -> TablePart:
        return TablePart(self.table.slice(count), self.first_row + count)


class _Fallback(Exception):
    """This chunk is for the reader itself."""


class _Parser:
    """Where chunks are parsed: in a thread, one chunk ahead of the caller (``threads``), or in the caller's
    thread when it asks for the result (the least memory)."""

    def __init__(self, threads: bool) -> None:
        self.pool = cf.ThreadPoolExecutor(1, thread_name_prefix="tap-dockerdvp-parse") if threads else None
        self.depth = 2 if threads else 1

    def submit(self, parse: t.Callable[[list[t.Any]], _R], pieces: list[t.Any]) -> cf.Future[_R]:
        if self.pool is not None:
            return self.pool.submit(parse, pieces)
        future: cf.Future[_R] = cf.Future()
        try:
            future.set_result(parse(pieces))
        except _Fallback as exc:
            future.set_exception(exc)
        return future

    def __enter__(self) -> _Parser:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


_R = t.TypeVar("_R")


#: The reader's null tokens, which Arrow's parser makes nulls
_NULL_VALUES = sorted(NULL_TOKENS)


def _raw(values: list[str | None]) -> list[str]:
    """Raw values of a text column for the reader's parsers: a null (a null token) as the token ``""``."""
    return ["" if value is None else value for value in values]


def _cut_outside_quotes(chunk: bytes, columns: list[pa.Array]) -> bool:
    """Whether a chunk (whole lines, starting outside quotes) ends outside quotes. Arrow's parser takes a quote
    left open at the end as a value that runs to the end: in a row's last field (any other leaves the row short,
    which the parser reports), so a last value that does not end with the chunk's line break settles it; else the
    quote characters are counted."""
    last = columns[-1][len(columns[-1]) - 1].as_py() if len(columns[-1]) else None
    return not (last and last.endswith("\n")) or quotes_closed(chunk)


class ArrowLane:
    """One read of one file through Arrow: as tables with the columns ``keys`` typed from ``schema``
    (:meth:`tables`, parquet), or as encoded pieces (:meth:`pieces`, RECORD messages and JSONL lines)."""

    def __init__(
        self,
        spec: ViewSpec,
        *,
        label: str,
        keys: tuple[str, ...],
        constants: Mapping[str, t.Any],
        schema: Mapping[str, t.Any] | None = None,
        extra_key: str = "extra_columns",
        stats: ReadStats,
        edges: Edges,
        logger: logging.Logger | logging.LoggerAdapter,
        threads: bool = True,
    ) -> None:
        self.spec, self.label, self.keys, self.constants, self.extra_key = spec, label, keys, constants, extra_key
        self.schema = schema
        self.props = {key: schema["properties"][key] for key in keys} if schema is not None else {}
        self.stats, self.edges, self.log, self.threads = stats, edges, logger, threads
        self.layout: FileLayout | None = None
        self._constants: dict[str, pa.Array] = {}

    def tables(self, chunks: Iterable[bytes], *, skip: int = 0) -> Iterator[TablePart]:
        """The file's rows after ``skip`` as tables, in order; raises what the reader raises, after the same rows."""
        assert self.schema is not None
        rows = ArrowRows(self.keys, self.schema, extra_key=self.extra_key)
        for part in self._parts(chunks, skip):
            if isinstance(part, TextPart):
                yield TablePart(self._table(part), part.first_row)
            else:
                yield TablePart(rows.from_batch(part, self.constants), part.first_row)

    def pieces(self, chunks: Iterable[bytes], encoding: Encoding, *, skip: int = 0) -> Iterator[Piece]:
        """The file's rows after ``skip`` encoded as ``encoding`` says (the same pieces as the reader's
        :class:`~tap_dockerdvp.files.encoders.Encoder`), in order; raises what the reader raises, after the same
        rows."""
        encoder = Encoder(encoding)
        lines = ArrowJsonRows(encoding.keys, extra_key=encoding.extra_key)
        for part in self._parts(chunks, skip):
            if not isinstance(part, TextPart):
                yield from encoder.pieces([part])
                continue
            assert self.layout is not None
            for sub in cut(part, encoding.cut_every):
                prefix, suffix = encoder.envelope()
                data = lines.encode(sub, self.layout, self.constants, prefix=prefix, suffix=suffix)
                yield Piece(data, sub.first_row, sub.count)

    def _parts(self, chunks: Iterable[bytes], skip: int) -> Iterator[TextPart | RowBatch]:
        """The file's rows after ``skip``: text parts from Arrow's parser, row batches from the reader where the
        reader must read on. With threads, the next chunk is parsed in a thread while the caller encodes this one."""
        source = ahead(decompressed(chunks, self.label), depth=2)
        rest, header = header_row(source)
        if header is None:  # no whole line: the reader says what it makes of that
            yield from self._reader(chain([rest], source), first_row=1, skip=skip, with_header=True)
            return
        self.layout = FileLayout.of(header, self.spec, label=self.label, log=self.log, cut_in_header=False)
        next_row, cutter = 1, LineChunks(source, rest, CHUNK_BYTES)
        pending: deque[tuple[cf.Future[tuple[TextPart, list[t.Any]]], list[t.Any]]] = deque()
        leftovers: list[t.Any] = []  # chunks cut but not read in the lane: the reader reads them
        with _Parser(self.threads) as parser:
            while True:
                while len(pending) < parser.depth and (pieces := cutter.next()) is not None:
                    pending.append((parser.submit(self._text_part, pieces), pieces))
                if not pending:
                    break
                future, pieces = pending.popleft()
                try:
                    part, edges = future.result()
                except _Fallback:  # something only the reader reads right: it reads on from this chunk
                    leftovers = [b"".join(p) for p in (pieces, *(p for _f, p in pending))]
                    break
                del pieces  # read: its bytes can go while the part is used
                part.first_row = next_row
                next_row += part.count
                self.stats.rows += part.count
                if edges:
                    self.edges.values = [self.edges.values[0] if self.edges.values else edges[0], edges[1]]
                if part.last_row > skip:
                    yield part.drop(skip - part.first_row + 1) if part.first_row <= skip else part
            for future, _pieces in pending:
                future.cancel()
        leftovers += cutter.rest()
        if leftovers or not cutter.exhausted:
            yield from self._reader(chain(leftovers, source), first_row=next_row, skip=skip)

    def _reader(
        self, data: Iterable[bytes], *, first_row: int, skip: int, with_header: bool = False
    ) -> Iterator[RowBatch]:
        """The rest of the file read by the reader itself."""
        return rest_of_file(
            data, self.spec, label=self.label, layout=None if with_header else self.layout, first_row=first_row,
            skip=skip, stats=self.stats, edges=self.edges, logger=self.log,
        )  # fmt: skip

    # -- the Arrow lane ----------------------------------------------------------------------------
    def _text_part(self, pieces: list[t.Any]) -> tuple[TextPart, list[t.Any]]:
        """A chunk of whole lines (``pieces`` end to end) split into text columns, null tokens as nulls, its typed
        fields checked by the reader's parsers (row numbers come later: ``first_row`` is 1); and the check column's
        first and last value."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        layout = self.layout
        assert layout is not None
        chunk = b"".join(pieces)
        if not chunk.isascii():
            try:
                codecs.utf_8_decode(chunk, "strict", True)
            except UnicodeDecodeError:
                raise _Fallback from None  # the reader's byte rule
        names = [f"f{i}" for i in range(layout.width)]
        invalid: list[t.Any] = []

        def skip_invalid(row: t.Any) -> str:  # a ragged row: noted, the chunk goes to the reader
            invalid.append(row)
            return "skip"

        try:
            table = pacsv.read_csv(
                pa.py_buffer(chunk),
                # one block: one chunk per column, no copy to join them
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=len(chunk) + 1),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    null_values=_NULL_VALUES,  # the reader's null rule, quoted or not
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    check_utf8=False,  # checked above, by the reader's rule
                ),
            )
        except pa.ArrowInvalid:
            raise _Fallback from None  # something Arrow's parser does not take: the reader's rules
        if invalid:
            raise _Fallback  # a ragged row: the reader keeps its surplus values
        # copied to their size: the parser's arrays hold buffers sized for the whole chunk (measured: taken as
        # they are, the tap's peak memory grows by 10 to 20 MiB and it is no faster)
        columns = [table.column(i).combine_chunks() for i in range(layout.width)]
        if not _cut_outside_quotes(chunk, columns):
            raise _Fallback  # quotes open at the cut: the reader reads on from this chunk's start
        typed: dict[int, TypedField] = {}
        times: dict[int, pa.Array] = {}
        for index, kind in layout.typed.items():
            if kind == "date-time" and (moments := plain_times(columns[index])) is not None:  # Docker's own form
                times[index] = moments
                continue
            # the reader's own parser types each distinct value once (Docker's days and counts repeat a lot); a
            # value it rejects sends the chunk to the reader, which raises after the rows before it
            distinct = pc.unique(columns[index])
            try:
                typed[index] = TypedField(distinct, layout.convert(index, _raw(distinct.to_pylist()), 1))
            except CsvFormatError:
                raise _Fallback from None
        part = TextPart(columns, 1, typed, times)
        check = self.edges.column
        if not (check and part.count and check in layout.found):
            return part, []
        index = layout.found[check]
        raw = [columns[index][0].as_py(), columns[index][part.count - 1].as_py()]
        return part, (layout.convert(index, _raw(raw), 1) if index in layout.typed else raw)

    def _table(self, part: TextPart) -> pa.Table:
        """A text part as a table with the columns ``keys``, typed from the schema."""
        import pyarrow as pa

        layout = self.layout
        assert layout is not None
        count = part.count
        arrays = []
        for key in self.keys:
            if key in self.constants:
                arrays.append(self._constant(key, count))
            elif key == "row_number":
                arrays.append(part.row_numbers())
            elif key == self.extra_key:
                arrays.append(self._extra(part.columns, count))
            elif (index := layout.found.get(key)) is None:  # a column of the view this file lacks
                arrays.append(arrow_column([None] * count, self.props[key]))
            elif index not in layout.typed:
                arrays.append(part.columns[index])
            elif index in part.times:
                arrays.append(part.times[index].cast(arrow_type(self.props[key])))
            else:
                field = part.typed[index]
                values = field.made.get("arrow")
                if values is None:
                    values = field.made["arrow"] = arrow_column(field.values, self.props[key])
                arrays.append(part.take_typed(index, values))
        return pa.Table.from_arrays(arrays, names=list(self.keys))

    def _constant(self, key: str, count: int) -> pa.Array:
        """``count`` rows of a column whose value is the same for every row of the file."""
        import pyarrow as pa

        def make(size: int) -> pa.Array:
            return pa.repeat(arrow_column([self.constants[key]], self.props[key])[0], size)

        return leading(self._constants, key, count, make)

    def _extra(self, columns: list[pa.Array], count: int) -> pa.Array:
        """The unknown columns as a struct (text, null tokens as null), or nulls when the file has none."""
        import pyarrow as pa

        layout = self.layout
        assert layout is not None
        if not layout.extra:
            return pa.nulls(count)
        fields = [columns[i] for i in layout.extra.values()]
        return pa.StructArray.from_arrays(fields, names=list(layout.extra))
