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

import concurrent.futures as cf
import csv
import io
import typing as t
from collections import deque
from itertools import chain

from tap_dockerdvp.files import chunks
from tap_dockerdvp.files.arrow.json_lines import (
    ArrowJsonRows,
    TextPart,
    TypedField,
    leading,
    one_value,
    plain_times,
)
from tap_dockerdvp.files.arrow.tables import ArrowRows, arrow_column, arrow_type
from tap_dockerdvp.files.chunks import LineChunks, quotes_closed
from tap_dockerdvp.files.compression import decompressed
from tap_dockerdvp.files.encoders import Encoder, Piece, cut
from tap_dockerdvp.files.readahead import ahead
from tap_dockerdvp.files.reader import (
    BYTE_RULE,
    NULL_TOKENS,
    CsvFormatError,
    FileLayout,
    ReadStats,
    RowBatch,
    read_batches,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import pyarrow as pa

    from tap_dockerdvp.dvp.views import ViewSpec
    from tap_dockerdvp.files.encoders import Output
    from tap_dockerdvp.files.reader import Reading


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
    """A thread that parses chunks one ahead of the caller, who encodes the chunk before."""

    depth = 2  # chunks parsed or being parsed: the one the caller waits for, and the next

    def __init__(self) -> None:
        self.pool = cf.ThreadPoolExecutor(1, thread_name_prefix="tap-dockerdvp-parse")

    def submit(self, parse: t.Callable[[list[t.Any]], _R], pieces: list[t.Any]) -> cf.Future[_R]:
        return self.pool.submit(parse, pieces)

    def __enter__(self) -> _Parser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_R = t.TypeVar("_R")


#: The reader's null tokens, which Arrow's parser makes nulls
_NULL_VALUES = sorted(NULL_TOKENS)


def _raw(values: list[str | None]) -> list[str]:
    """Raw values of a text column for the reader's parsers: a null (a null token) as the token ``""``."""
    return ["" if value is None else value for value in values]


def _cut_outside_quotes(chunk: pa.Buffer, columns: list[pa.Array]) -> bool:
    """Whether a chunk (whole lines, starting outside quotes) ends outside quotes. Arrow's parser takes a quote
    left open at the end as a value that runs to the end: in a row's last field (any other leaves the row short,
    which the parser reports), so a last value that does not end with the chunk's line break settles it; else the
    quote characters are counted."""
    last = columns[-1][len(columns[-1]) - 1].as_py() if len(columns[-1]) else None
    return not (last and last.endswith("\n")) or quotes_closed(chunk.to_pybytes())


def _a_row_of_nulls(columns: list[pa.Array]) -> bool:
    """Whether some row is null in every column (in C++, without the interpreter's lock)."""
    import pyarrow.compute as pc

    if not all(column.null_count for column in columns):
        return False
    everywhere = pc.is_null(columns[0])
    for column in columns[1:]:
        everywhere = pc.and_(everywhere, pc.is_null(column))
    return bool(pc.any(everywhere).as_py())


def _utf8(buffer: pa.Buffer) -> bool:
    """Whether ``buffer`` is valid UTF-8 (checked in C++, the bytes not copied)."""
    import pyarrow as pa

    try:
        one_value(buffer, pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _joined(pieces: list[t.Any]) -> pa.Buffer:
    """The pieces of a chunk end to end, in a buffer of Arrow's memory pool: its pages are used again chunk after
    chunk, where a new bytes object of a megabyte is new pages every time (the kernel's zeroing and page faults cost
    three quarters of a millisecond a chunk, holding the interpreter's lock)."""
    import pyarrow as pa

    buffer = pa.allocate_buffer(sum(map(len, pieces)))
    view, start = memoryview(buffer).cast("B"), 0
    for piece in pieces:
        view[start : start + len(piece)] = piece
        start += len(piece)
    return buffer


class ArrowLane:
    """One read of one file through Arrow, as an :class:`~tap_dockerdvp.files.encoders.Output` says: tables with
    the columns ``keys`` typed from ``schema`` (:meth:`tables`, parquet), or encoded pieces (:meth:`pieces`,
    RECORD messages and JSONL lines)."""

    def __init__(self, spec: ViewSpec, output: Output, reading: Reading) -> None:
        self.spec, self.output, self.label, self.log = spec, output, reading.label, reading.logger
        self.keys, self.extra_key = output.keys, output.extra_key
        self.constants = dict(output.constants)
        schema = output.schema
        self.props = {key: schema["properties"][key] for key in self.keys} if schema is not None else {}
        self.stats, self.edges = reading.stats, reading.edges
        self.layout: FileLayout | None = None
        self._constants: dict[str, pa.Array] = {}

    def tables(self, blocks: Iterable[bytes], *, skip: int = 0) -> Iterator[TablePart]:
        """The file's rows after ``skip`` as tables, in order; raises what the reader raises, after the same rows."""
        assert self.output.schema is not None
        rows = ArrowRows(self.keys, self.output.schema, extra_key=self.extra_key)
        for part in self._parts(blocks, skip):
            if isinstance(part, TextPart):
                yield TablePart(self._table(part), part.first_row)
            else:
                yield TablePart(rows.from_batch(part, self.constants), part.first_row)

    def pieces(self, blocks: Iterable[bytes], *, skip: int = 0) -> Iterator[Piece]:
        """The file's rows after ``skip`` encoded (the same pieces as the reader's
        :class:`~tap_dockerdvp.files.encoders.Encoder`), in order; raises what the reader raises, after the same
        rows."""
        encoder = Encoder(self.output)
        lines = ArrowJsonRows(self.keys, extra_key=self.extra_key)
        for part in self._parts(blocks, skip):
            if not isinstance(part, TextPart):
                yield from encoder.pieces([part])
                continue
            assert self.layout is not None
            for sub in cut(part, self.output.cut_every):
                prefix, suffix = encoder.envelope()
                data = lines.encode(sub, self.layout, self.constants, prefix=prefix, suffix=suffix)
                yield Piece(data, sub.first_row, sub.count)

    def _parts(self, blocks: Iterable[bytes], skip: int) -> Iterator[TextPart | RowBatch]:
        """The file's rows after ``skip``: text parts from Arrow's parser, row batches from the reader where the
        reader must read on. The next chunk is parsed in a thread while the caller encodes this one."""
        source = ahead(decompressed(blocks, self.label), depth=2)
        rest, header = _header_row(source)
        if header is None:  # no whole line: the reader says what it makes of that
            yield from self._reader(chain([rest], source), first_row=1, skip=skip, with_header=True)
            return
        self.layout = FileLayout.of(header, self.spec, label=self.label, log=self.log, cut_in_header=False)
        next_row, cutter = 1, LineChunks(source, rest, chunks.CHUNK_BYTES)
        pending: deque[tuple[cf.Future[tuple[TextPart, list[t.Any]]], list[t.Any]]] = deque()
        leftovers: list[t.Any] = []  # chunks cut but not read in the lane: the reader reads them
        with _Parser() as parser:
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
        """The rest of the file (decompressed bytes) read by the reader itself; its counts are added to the
        lane's (``with_header``: the data starts with the header row)."""
        part = ReadStats()
        try:
            batches = read_batches(
                data, self.spec, label=self.label, layout=None if with_header else self.layout,
                first_row=first_row, skip=skip, stats=part, plain=True, logger=self.log,
            )  # fmt: skip
            yield from self.edges.watch(batches)
        finally:
            self.stats.add(part)

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
        chunk = _joined(pieces)
        if not _utf8(chunk):
            raise _Fallback  # the reader's byte rule
        names = [f"f{i}" for i in range(layout.width)]
        invalid: list[t.Any] = []

        def skip_invalid(row: t.Any) -> str:  # a ragged row: noted, the chunk goes to the reader
            invalid.append(row)
            return "skip"

        try:
            table = pacsv.read_csv(
                chunk,
                # one block: one chunk per column, no copy to join them
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=chunk.size + 1),
                # a blank line becomes a row of nulls (found below), which the reader skips and counts
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=skip_invalid, ignore_empty_lines=False
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    null_values=_NULL_VALUES,  # the reader's null rule, quoted or not
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    check_utf8=False,  # checked above, as Arrow's own check would (once, on the whole chunk)
                ),
            )
        except pa.ArrowInvalid:
            raise _Fallback from None  # something Arrow's parser does not take: the reader's rules
        if invalid:
            raise _Fallback  # a ragged row: the reader keeps its surplus values
        # copied to their size: the parser's arrays hold buffers sized for the whole chunk (measured: taken as
        # they are, the tap's peak memory grows by 10 to 20 MiB and it is no faster)
        columns = [table.column(i).combine_chunks() for i in range(layout.width)]
        if _a_row_of_nulls(columns):
            raise _Fallback  # a blank line, or a row of empty values: the reader tells them apart
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


def _header_row(blocks: Iterator[bytes]) -> tuple[bytes, list[str] | None]:
    """(the bytes after the header row, the header row), reading blocks until a line break outside quotes;
    (all bytes read, None) when there is none within a chunk's worth, or when a lone CR ends the header row
    before it (the rows up to that line break would be lost: the reader reads such a file)."""
    data = b""
    for block in blocks:
        if not data and block.startswith(b"\xef\xbb\xbf"):
            block = block[3:]  # a BOM
        data += block
        start = 0
        while end := data.find(b"\n", start) + 1:
            if data.count(b'"', 0, end) % 2 == 0:
                text = data[:end].decode("utf-8", errors=BYTE_RULE)
                records = list(csv.reader(io.StringIO(text, newline="")))
                if len(records) > 1:  # a lone CR ended the header (old Mac line ends): the reader's rules
                    return data, None
                return data[end:], records[0] if records else []
            start = end
        if len(data) > chunks.CHUNK_BYTES:
            break
    return data, None
