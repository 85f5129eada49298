r"""The reader's Arrow lane, for parquet batch files: pyarrow's C++ CSV parser splits the lines, the reader's rules
decide what the fields are.

Parquet needs Arrow columns, and building them from Python strings costs more than parsing the CSV. So for
parquet (pyarrow installed, the ``parquet`` extra) a file is cut into chunks of whole lines as for the worker
processes (:mod:`tap_dockerdvp.parallel`), and each chunk is split into text columns by ``pyarrow.csv`` (on every
core: it uses threads). The rules stay those of :mod:`tap_dockerdvp.csv_reader`: the header is read by the same
:class:`~tap_dockerdvp.csv_reader.FileLayout`, null tokens are the same :data:`~tap_dockerdvp.csv_reader.NULL_TOKENS`,
rows are numbered the same way (blank lines not counted), and typed values come from the reader's own parsers, once
per distinct value (Arrow only finds the distinct values and puts the results in place). Any chunk with something
else in it - a ragged row, bytes that are not UTF-8, a bad value, quotes open at its end - is read by the reader
itself (:func:`~tap_dockerdvp.csv_reader.read_batches`), which also raises its errors, after the same rows. So a
parquet file holds exactly the rows RECORD messages carry.
"""

from __future__ import annotations

import array
import codecs
import logging
import typing as t
from itertools import chain

from tap_dockerdvp.csv_reader import NULL_TOKENS, CsvFormatError, FileLayout, ReadStats, decompressed
from tap_dockerdvp.encoders import ArrowRows, arrow_column
from tap_dockerdvp.parallel import Edges, chunk_end, fill, header_row, rest_of_file
from tap_dockerdvp.readahead import ahead

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    import pyarrow as pa

    from tap_dockerdvp.views import ViewSpec


#: Decompressed bytes per chunk: Arrow's parser and kernels have a fixed cost per call, so more than for workers.
CHUNK_BYTES = 4 << 20


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


class ArrowLane:
    """One read of one file into Arrow tables with the columns ``keys`` (typed from ``schema``)."""

    def __init__(
        self,
        spec: ViewSpec,
        *,
        label: str,
        keys: tuple[str, ...],
        schema: Mapping[str, t.Any],
        constants: Mapping[str, t.Any],
        extra_key: str = "extra_columns",
        stats: ReadStats,
        edges: Edges,
        logger: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.spec, self.label, self.keys, self.constants, self.extra_key = spec, label, keys, constants, extra_key
        self.props = {key: schema["properties"][key] for key in keys}
        self.stats, self.edges, self.log = stats, edges, logger
        self.rows = ArrowRows(keys, schema, extra_key=extra_key)
        self.layout: FileLayout | None = None
        self._constants: dict[str, pa.Scalar] = {}

    def tables(self, chunks: Iterable[bytes], *, skip: int = 0) -> Iterator[TablePart]:
        """The file's rows after ``skip``, in order; raises what the reader raises, after the same rows."""
        source = ahead(decompressed(chunks, self.label))
        rest, header = header_row(source)
        if header is None:  # no whole line: the reader says what it makes of that
            yield from self._reader(chain([rest], source), first_row=1, skip=skip, with_header=True)
            return
        self.layout = FileLayout.of(header, self.spec, label=self.label, log=self.log, cut_in_header=False)
        next_row, exhausted = 1, False
        while True:
            rest, exhausted = fill(rest, source, exhausted, CHUNK_BYTES)
            end = chunk_end(rest, exhausted, CHUNK_BYTES)
            if not end:
                break  # a cut last row, or quotes open across the cut
            try:
                part = self._arrow(memoryview(rest)[:end], next_row, ascii=rest.isascii())
            except _Fallback:
                break  # something only the reader reads right: it reads the rest
            rest = rest[end:]
            next_row += part.count
            self.stats.rows += part.count
            if part.last_row > skip:
                yield part.drop(skip - part.first_row + 1) if part.first_row <= skip else part
        if rest or not exhausted:
            yield from self._reader(chain([rest], source), first_row=next_row, skip=skip)

    def _reader(
        self, data: Iterable[bytes], *, first_row: int, skip: int, with_header: bool = False
    ) -> Iterator[TablePart]:
        """The rest of the file read by the reader itself, into tables."""
        batches = rest_of_file(
            data, self.spec, label=self.label, layout=None if with_header else self.layout, first_row=first_row,
            skip=skip, stats=self.stats, edges=self.edges, logger=self.log,
        )  # fmt: skip
        for batch in batches:
            yield TablePart(self.rows.from_batch(batch, self.constants), batch.first_row)

    # -- the Arrow lane ----------------------------------------------------------------------------
    def _arrow(self, chunk: memoryview, first_row: int, *, ascii: bool) -> TablePart:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        layout = self.layout
        assert layout is not None
        if not ascii:
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
                read_options=pacsv.ReadOptions(column_names=names),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid:
            raise _Fallback from None  # not UTF-8, or something Arrow's parser does not take: the reader's rules
        if invalid:
            raise _Fallback  # a ragged row: the reader keeps its surplus values
        count = table.num_rows
        columns = [table.column(i) for i in range(layout.width)]
        nulls = pa.array(sorted(NULL_TOKENS), pa.string())
        arrays = []
        for key in self.keys:
            if key in self.constants:
                arrays.append(pa.repeat(self._constant(key), count))
            elif key == "row_number":
                numbers = array.array("q", range(first_row, first_row + count))
                arrays.append(pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(numbers)]))
            elif key == self.extra_key:
                arrays.append(self._extra(columns, count, nulls))
            elif key in layout.found:
                index = layout.found[key]
                column = columns[index]
                if index in layout.typed:
                    arrays.append(self._typed(column, index, key, first_row))
                else:
                    arrays.append(pc.if_else(pc.is_in(column, value_set=nulls), None, column).combine_chunks())
            else:
                arrays.append(arrow_column([None] * count, self.props[key]))
        out = pa.Table.from_arrays(arrays, names=list(self.keys))
        check = self.edges.column
        if check and count and check in layout.found:
            first = out.column(check)[0].as_py() if check in self.keys else None
            last = out.column(check)[count - 1].as_py() if check in self.keys else None
            values = [v.isoformat() if v is not None and hasattr(v, "isoformat") else v for v in (first, last)]
            self.edges.values = [self.edges.values[0] if self.edges.values else values[0], values[1]]
        return TablePart(out, first_row)

    def _constant(self, key: str) -> pa.Scalar:
        """A column's value for every row of the file, typed once."""
        scalar = self._constants.get(key)
        if scalar is None:
            scalar = self._constants[key] = arrow_column([self.constants[key]], self.props[key])[0]
        return scalar

    def _typed(self, column: pa.ChunkedArray, index: int, key: str, first_row: int) -> pa.Array:
        """A typed column: the reader's own parser types each distinct value once (Docker's days and counts repeat
        a lot), Arrow puts them in place. A value the parser rejects sends the chunk to the reader, which raises."""
        import pyarrow.compute as pc

        layout = self.layout
        assert layout is not None
        distinct = pc.unique(column)
        try:
            typed = layout.convert(index, distinct.to_pylist(), first_row)
        except CsvFormatError:
            raise _Fallback from None
        return pc.take(arrow_column(typed, self.props[key]), pc.index_in(column, value_set=distinct)).combine_chunks()

    def _extra(self, columns: list[pa.ChunkedArray], count: int, nulls: pa.Array) -> pa.Array:
        """The unknown columns as a struct (text, null tokens as null), or nulls when the file has none."""
        import pyarrow as pa
        import pyarrow.compute as pc

        layout = self.layout
        assert layout is not None
        if not layout.extra:
            return pa.nulls(count)
        fields = [
            pc.if_else(pc.is_in(columns[i], value_set=nulls), None, columns[i]).combine_chunks()
            for i in layout.extra.values()
        ]
        return pa.StructArray.from_arrays(fields, names=list(layout.extra))
