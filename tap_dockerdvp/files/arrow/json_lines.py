r"""JSON lines of Arrow text columns: the Arrow lane's RECORD messages and JSONL batch lines, built in C++.

With pyarrow installed, a file's chunks are split into text columns by ``pyarrow.csv`` (see
:mod:`tap_dockerdvp.files.arrow.lane`), and this module makes each row's JSON text from them with Arrow's string
kernels: one ``binary_join_element_wise`` per chunk puts constants (keys, context fields) and value columns end to
end, and the joined column's data buffer is the lines, ready to write. No Python string per value.

The text is exactly what :class:`~tap_dockerdvp.files.encoders.JsonRows` makes of the same rows: a text value that is
printable ASCII goes between quotes with only ``\`` and ``"`` escaped (Arrow's ``replace_substring``); a column
holding anything else (non-ASCII, a control character, a line break in a value) is escaped value by value with
``json``'s ASCII encoder, as ``JsonRows`` does; null tokens are ``null``; typed columns are the reader's own typed
values of each distinct raw value (see :class:`TextPart`), dumped once and put in place with ``take``.
"""

from __future__ import annotations

import array
import functools
import struct
import typing as t
from json.encoder import encode_basestring_ascii

from tap_dockerdvp.files.encoders import dumps, text_piece

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pyarrow as pa

    from tap_dockerdvp.files.reader import FileLayout


class TextPart:
    """Consecutive data rows of a file as Arrow text columns, one per field of the header, as the CSV holds them
    (null tokens as nulls).

    ``typed`` holds a :class:`TypedField` per typed field of the layout, ``times`` instead the moments of each
    date-time field written ``YYYY-MM-DD HH:MM:SS`` (Docker's own form, mostly distinct values: one per pull, typed
    by Arrow; the reader's value is the same text with ``T`` and ``Z``, see
    :func:`~tap_dockerdvp.files.reader.parse_datetime`, so no value goes through Python). Both are checked once when
    the chunk was read, so a part never fails later; slicing a part keeps them valid.
    """

    __slots__ = ("columns", "count", "first_row", "times", "typed")

    def __init__(
        self,
        columns: list[pa.Array],
        first_row: int,
        typed: dict[int, TypedField],
        times: dict[int, pa.Array] | None = None,
    ) -> None:
        self.columns, self.first_row, self.typed = columns, first_row, typed
        self.times = times or {}
        self.count = len(columns[0]) if columns else 0

    @property
    def last_row(self) -> int:
        return self.first_row + self.count - 1

    def split(self, count: int) -> TextPart:
        times = {index: moments.slice(0, count) for index, moments in self.times.items()}
        return TextPart([c.slice(0, count) for c in self.columns], self.first_row, self.typed, times)

    def drop(self, count: int) -> TextPart:
        times = {index: moments.slice(count) for index, moments in self.times.items()}
        return TextPart([c.slice(count) for c in self.columns], self.first_row + count, self.typed, times)

    def row_numbers(self) -> pa.Array:
        import pyarrow as pa
        import pyarrow.compute as pc

        # a typed scalar: pyarrow's inference of a Python int's type took five sixths of the call's time
        return pc.add(_counting(self.count), pa.scalar(self.first_row, pa.int64()))

    def take_typed(self, index: int, values: pa.Array) -> pa.Array:
        """``values`` (one per distinct raw value of field ``index``) put in place for each row."""
        import pyarrow.compute as pc

        return pc.take(values, pc.index_in(self.columns[index], value_set=self.typed[index].distinct))


def leading(made: dict[t.Any, pa.Array], key: t.Any, count: int, make: t.Callable[[int], pa.Array]) -> pa.Array:
    """The first ``count`` values of the array ``made[key]``: a slice of one array made once by ``make(size)``
    (again when a longer one is asked for), not a new array per chunk."""
    column = made.get(key)
    if column is None or len(column) < count:
        column = made[key] = make(max(count, 1 << 13))
    return column.slice(0, count)


_COUNTING: dict[None, pa.Array] = {}


def _counting(count: int) -> pa.Array:
    """0, 1, ..., count - 1 as int64."""
    import pyarrow as pa

    def make(size: int) -> pa.Array:
        numbers = array.array("q", range(size))
        return pa.Array.from_buffers(pa.int64(), size, [None, pa.py_buffer(numbers)])

    return leading(_COUNTING, None, count, make)


class TypedField:
    """A typed field of a chunk: its distinct raw values, the reader's typed value of each (None for null), and
    what outputs made of those once (``made``: JSON texts, an Arrow array), shared by the slices of the chunk."""

    __slots__ = ("distinct", "made", "values")

    def __init__(self, distinct: pa.Array, values: list[t.Any]) -> None:
        self.distinct, self.values = distinct, values
        self.made: dict[str, pa.Array] = {}


#: Docker's own way of writing a date-time, which :func:`~tap_dockerdvp.files.reader.parse_datetime` turns into
#: the same text with ``T`` and ``Z`` (a ``T`` already there stays): ``YYYY-MM-DD HH:MM:SS``, 19 bytes, a digit at
#: every position but these
PLAIN_TIME_MARKS = {4: b"-", 7: b"-", 10: b" T", 13: b":", 16: b":"}
_PLAIN_TIME_SIZE = 19


def plain_form(column: pa.Array) -> bool:
    """Whether every value of a text column (no nulls) is written ``YYYY-MM-DD HH:MM:SS`` (or with ``T``). Checked
    on the values' bytes end to end, a position at a time (every 19th byte), not value by value: a regular
    expression per value took 0.3 ms of the parser's time a chunk, 0.1 CPU s for 1M rows."""
    import pyarrow.compute as pc

    sizes = pc.min_max(pc.binary_length(column)).as_py()
    if sizes["min"] != _PLAIN_TIME_SIZE or sizes["max"] != _PLAIN_TIME_SIZE:
        return False
    data = bytes(_value_data(column))  # the values end to end, 19 bytes each
    if len(data.translate(None, b"0123456789")) != len(PLAIN_TIME_MARKS) * len(column):
        return False  # not 14 digits a value; with them, the marks' positions (no digit there) hold the rest
    return all(
        not data[position::_PLAIN_TIME_SIZE].translate(None, marks) for position, marks in PLAIN_TIME_MARKS.items()
    )


def plain_times(column: pa.Array) -> pa.Array | None:
    """The moments (``timestamp[us]``) of a text column whose every value is a valid date-time written
    ``YYYY-MM-DD HH:MM:SS`` (none null), else None: the form checked by :func:`plain_form`, the moment by Arrow's
    ISO 8601 parser, which rejects what Python's ``datetime`` rejects (a day, hour or second out of range), but
    year 0. Its twin for the reader's batches is :func:`~tap_dockerdvp.files.reader.plain_datetimes`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(column) or column.null_count or not plain_form(column):
        return None
    if pc.any(pc.starts_with(column, "0000")).as_py():
        return None
    try:
        return pc.cast(column, pa.timestamp("us"))
    except pa.ArrowInvalid:
        return None


def _value_data(column: pa.Array) -> pa.Buffer | bytes:
    """A string column's values end to end: a slice of its data buffer (no copy)."""
    _validity, offsets, data = column.buffers()
    view = memoryview(offsets)
    start = int.from_bytes(view[4 * column.offset : 4 * column.offset + 4], "little")
    end = int.from_bytes(view[4 * (column.offset + len(column)) : 4 * (column.offset + len(column)) + 4], "little")
    return data.slice(start, end - start) if data is not None and end > start else b""


def one_value(buffer: pa.Buffer, kind: pa.DataType) -> pa.Array:
    """``buffer`` as the one value of a text or binary array (no copy), for a kernel to see its bytes at once."""
    import pyarrow as pa

    return pa.Array.from_buffers(kind, 1, [None, pa.py_buffer(struct.pack("<ii", 0, buffer.size)), buffer])


@functools.cache
def _text_scalar(text: str) -> pa.Scalar:
    """``text`` as an Arrow string scalar, made once: a kernel given a Python ``str`` infers its type, which looks
    for ``dateutil`` each time (an import that fails, when it is not installed, is tried again at every call)."""
    import pyarrow as pa

    return pa.scalar(text, pa.string())


def _printable_ascii(data: pa.Buffer | bytes) -> bool:
    """Whether a column's values end to end are printable ASCII only: then so is each value. Checked as their least
    and greatest byte (0x20 to 0x7E), by Arrow's vectorised ``min_max`` over the bytes: 0.06 CPU s less for 1M wide
    rows than its ``ascii_is_printable``, which goes a byte at a time (a call's own cost is most of the rest)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(data):  # no values, or only nulls (``_value_data``'s empty bytes)
        return True
    bounds = pc.min_max(pa.Array.from_buffers(pa.uint8(), len(data), [None, data]))
    return bounds["min"].as_py() >= 0x20 and bounds["max"].as_py() <= 0x7E


class ArrowJsonRows:
    """The JSON text of each row of a :class:`TextPart`, with the keys ``keys`` in that order, each line wrapped in
    ``prefix``/``suffix``: the same text as :class:`~tap_dockerdvp.files.encoders.JsonRows` for the same rows."""

    def __init__(self, keys: Sequence[str], *, extra_key: str = "extra_columns") -> None:
        self.keys = tuple(keys)
        self.extra_key = extra_key

    def encode(
        self,
        part: TextPart,
        layout: FileLayout,
        constants: Mapping[str, t.Any],
        *,
        prefix: str = "",
        suffix: str = "\n",
    ) -> memoryview:
        import pyarrow as pa
        import pyarrow.compute as pc

        pieces: list[t.Any] = []  # constant text and value columns, alternating
        text = [prefix]  # constant text since the last value column

        def value(column: pa.Array) -> None:
            pieces.append(pa.scalar("".join(text), pa.string()))
            pieces.append(column)
            text.clear()

        for position, key in enumerate(self.keys):
            text.append(("," if position else "{") + encode_basestring_ascii(key) + ":")
            if key in constants:
                text.append(dumps(constants[key]))
            elif key == "row_number":
                value(pc.cast(part.row_numbers(), pa.string()))
            elif key == self.extra_key:
                if not layout.extra:
                    text.append("null")
                    continue
                for place, (name, field) in enumerate(layout.extra.items()):
                    text.append(("," if place else "{") + encode_basestring_ascii(name) + ":")
                    self._text(part.columns[field], text, value)
                text.append("}")
            elif (index := layout.found.get(key)) is None:  # a column of the view this file lacks
                text.append("null")
            elif index not in layout.typed:
                self._text(part.columns[index], text, value)
            elif index in part.times:
                text.append('"')  # YYYY-MM-DD HH:MM:SS → "YYYY-MM-DDTHH:MM:SSZ", as parse_datetime writes it
                # the form is ASCII, so by byte: a fifth of utf8_replace_slice's time
                value(pc.binary_replace_slice(part.columns[index], 10, 11, "T"))
                text.append('Z"')
            else:
                value(self._typed(part, index))
        text.append("}" + suffix)
        if not pieces:  # no value column: every line is the same
            return memoryview(("".join(text) * part.count).encode())
        pieces.append(pa.scalar("".join(text), pa.string()))
        lines = pc.binary_join_element_wise(*pieces, _text_scalar(""))
        return memoryview(_value_data(lines))

    def _text(self, column: pa.Array, text: list[str], value: t.Callable[[pa.Array], None]) -> None:
        """A text column: between quotes in the constants around it when no value is null, else per value."""
        import pyarrow as pa
        import pyarrow.compute as pc

        data = _value_data(column)
        if not _printable_ascii(data):  # non-ASCII, a control character: as JsonRows does
            value(pa.array(map(text_piece, column.to_pylist()), pa.string(), size=len(column)))
            return
        data = data.to_pybytes() if not isinstance(data, bytes) else data  # a copy Python searches at memchr speed
        quoted = column
        if b"\\" in data:
            quoted = pc.replace_substring(quoted, "\\", "\\\\")
        if b'"' in data:
            quoted = pc.replace_substring(quoted, '"', '\\"')
        if not column.null_count:
            text.append('"')
            value(quoted)
            text.append('"')
            return
        quote = _text_scalar('"')
        value(pc.fill_null(pc.binary_join_element_wise(quote, quoted, quote, _text_scalar("")), _text_scalar("null")))

    def _typed(self, part: TextPart, index: int) -> pa.Array:
        """A typed column: each distinct value's JSON text made once per chunk, put in place for each row."""
        import pyarrow as pa

        field = part.typed[index]
        texts = field.made.get("json")
        if texts is None:
            texts = field.made["json"] = pa.array([dumps(v) for v in field.values], pa.string())
        return part.take_typed(index, texts)


__all__ = ["ArrowJsonRows", "TextPart", "TypedField", "leading", "one_value", "plain_form", "plain_times"]
