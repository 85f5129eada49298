r"""JSON lines of Arrow text columns: the Arrow lane's RECORD messages and JSONL batch lines, built in C++.

With pyarrow installed, a large file's chunks are split into text columns by ``pyarrow.csv`` (see
:mod:`tap_dockerdvp.arrow_lane`), and this module makes each row's JSON text from them with Arrow's string
kernels: one ``binary_join_element_wise`` per chunk puts constants (keys, context fields) and value columns end to
end, and the joined column's data buffer is the lines, ready to write. No Python string per value.

The text is exactly what :class:`~tap_dockerdvp.encoders.JsonRows` makes of the same rows: a text value that is
printable ASCII goes between quotes with only ``\`` and ``"`` escaped (Arrow's ``replace_substring``); a column
holding anything else (non-ASCII, a control character, a line break in a value) is escaped value by value with
``json``'s ASCII encoder, as ``JsonRows`` does; null tokens are ``null``; typed columns are the reader's own typed
values of each distinct raw value (see :class:`TextPart`), dumped once and put in place with ``take``.
"""

from __future__ import annotations

import array
import functools
import typing as t
from json.encoder import encode_basestring_ascii

from tap_dockerdvp.csv_reader import NULL_TOKENS
from tap_dockerdvp.encoders import dumps, text_piece

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pyarrow as pa

    from tap_dockerdvp.csv_reader import FileLayout


class TextPart:
    """Consecutive data rows of a file as Arrow text columns, one per field of the header, as the CSV holds them.

    ``typed`` holds a :class:`TypedField` per typed field of the layout: checked once when the chunk was read, so
    a part never fails later; slicing a part keeps them valid.
    """

    __slots__ = ("columns", "count", "first_row", "typed")

    def __init__(self, columns: list[pa.Array], first_row: int, typed: dict[int, TypedField]) -> None:
        self.columns, self.first_row, self.typed = columns, first_row, typed
        self.count = len(columns[0]) if columns else 0

    @property
    def last_row(self) -> int:
        return self.first_row + self.count - 1

    def split(self, count: int) -> TextPart:
        return TextPart([c.slice(0, count) for c in self.columns], self.first_row, self.typed)

    def drop(self, count: int) -> TextPart:
        return TextPart([c.slice(count) for c in self.columns], self.first_row + count, self.typed)

    def row_numbers(self) -> pa.Array:
        import pyarrow as pa

        numbers = array.array("q", range(self.first_row, self.first_row + self.count))
        return pa.Array.from_buffers(pa.int64(), self.count, [None, pa.py_buffer(numbers)])

    def take_typed(self, index: int, values: pa.Array) -> pa.Array:
        """``values`` (one per distinct raw value of field ``index``) put in place for each row."""
        import pyarrow.compute as pc

        return pc.take(values, pc.index_in(self.columns[index], value_set=self.typed[index].distinct))


class TypedField:
    """A typed field of a chunk: its distinct raw values, the reader's typed value of each (None for null), and
    what outputs made of those once (``made``: JSON texts, an Arrow array), shared by the slices of the chunk.

    ``plain_times``: every value is a date-time written ``YYYY-MM-DD HH:MM:SS`` (Docker's own form, mostly distinct
    values: one per pull), checked by Arrow; the reader's value is the same text with ``T`` and ``Z``
    (:func:`~tap_dockerdvp.csv_reader.parse_datetime`), so no value goes through Python.
    """

    __slots__ = ("distinct", "made", "plain_times", "values")

    def __init__(self, distinct: pa.Array | None, values: list[t.Any], *, plain_times: bool = False) -> None:
        self.distinct, self.values, self.plain_times = distinct, values, plain_times
        self.made: dict[str, pa.Array] = {}


#: Docker's own way of writing a date-time, which :func:`~tap_dockerdvp.csv_reader.parse_datetime` turns into
#: the same text with ``T`` and ``Z`` (a ``T`` already there stays)
PLAIN_TIME = r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d$"


def plain_times(column: pa.Array) -> bool:
    """Whether every value of a text column is a valid date-time written ``YYYY-MM-DD HH:MM:SS``: the form by
    pattern, the moment by Arrow's ISO 8601 parser, which rejects what Python's ``datetime`` rejects (a day, hour
    or second out of range), but year 0."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(column) or not pc.all(pc.match_substring_regex(column, PLAIN_TIME)).as_py():
        return False
    if pc.any(pc.starts_with(column, "0000")).as_py():
        return False
    try:
        pc.cast(column, pa.timestamp("s"))
    except pa.ArrowInvalid:
        return False
    return True


_LONGEST_NULL = max(map(len, NULL_TOKENS))


@functools.cache
def _null_token_array() -> pa.Array:
    import pyarrow as pa

    return pa.array(sorted(NULL_TOKENS), pa.string())


def null_tokens(column: pa.Array) -> pa.Array | None:
    """Where a text column holds a null token, or None when it holds none: a column of long values (most of
    Docker's) is settled by its shortest value alone."""
    import pyarrow.compute as pc

    if not len(column) or pc.min(pc.binary_length(column)).as_py() > _LONGEST_NULL:
        return None
    null = pc.is_in(column, value_set=_null_token_array())
    return null if pc.any(null).as_py() else None


def _value_data(column: pa.Array) -> pa.Buffer | bytes:
    """A string column's values end to end: a slice of its data buffer (no copy)."""
    _validity, offsets, data = column.buffers()
    view = memoryview(offsets)
    start = int.from_bytes(view[4 * column.offset : 4 * column.offset + 4], "little")
    end = int.from_bytes(view[4 * (column.offset + len(column)) : 4 * (column.offset + len(column)) + 4], "little")
    return data.slice(start, end - start) if data is not None and end > start else b""


class ArrowJsonRows:
    """The JSON text of each row of a :class:`TextPart`, with the keys ``keys`` in that order, each line wrapped in
    ``prefix``/``suffix``: the same text as :class:`~tap_dockerdvp.encoders.JsonRows` for the same rows."""

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
            elif part.typed[index].plain_times:
                text.append('"')  # YYYY-MM-DD HH:MM:SS → "YYYY-MM-DDTHH:MM:SSZ", as parse_datetime writes it
                value(pc.utf8_replace_slice(part.columns[index], 10, 11, "T"))
                text.append('Z"')
            else:
                value(self._typed(part, index))
        text.append("}" + suffix)
        if not pieces:  # no value column: every line is the same
            return memoryview(("".join(text) * part.count).encode())
        pieces.append(pa.scalar("".join(text), pa.string()))
        lines = pc.binary_join_element_wise(*pieces, "")
        return memoryview(_value_data(lines))

    def _text(self, column: pa.Array, text: list[str], value: t.Callable[[pa.Array], None]) -> None:
        """A text column: between quotes in the constants around it when no value is null, else per value."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pc.all(pc.ascii_is_printable(column)).as_py():  # non-ASCII, a control character: as JsonRows does
            value(pa.array(map(text_piece, column.to_pylist()), pa.string(), size=len(column)))
            return
        null = null_tokens(column)
        data = _value_data(column)
        data = data.to_pybytes() if not isinstance(data, bytes) else data  # a copy Python searches at memchr speed
        quoted = column
        if b"\\" in data:
            quoted = pc.replace_substring(quoted, "\\", "\\\\")
        if b'"' in data:
            quoted = pc.replace_substring(quoted, '"', '\\"')
        if null is None:
            text.append('"')
            value(quoted)
            text.append('"')
            return
        value(pc.if_else(null, pa.scalar("null"), pc.binary_join_element_wise('"', quoted, '"', "")))

    def _typed(self, part: TextPart, index: int) -> pa.Array:
        """A typed column: each distinct value's JSON text made once per chunk, put in place for each row."""
        import pyarrow as pa

        field = part.typed[index]
        texts = field.made.get("json")
        if texts is None:
            texts = field.made["json"] = pa.array([dumps(v) for v in field.values], pa.string())
        return part.take_typed(index, texts)


__all__ = ["ArrowJsonRows", "TextPart", "TypedField", "null_tokens", "plain_times"]
