r"""The JSON text of a :class:`~tap_dockerdvp.files.reader.RowBatch`: RECORD messages and JSONL lines.

A row's JSON text is built column by column, without a dict per row: for each key, in the stream's schema
order, either a constant (the key, a context field) or a column of value pieces, then one ``str.join`` per row.
A text column whose values need no escaping (ASCII, printable, no quote or backslash, no null token) is put
between quotes as it is; other values go through ``json``'s ASCII encoder, remembered per column while they
repeat. The result is what ``json.dumps(record, separators=(",", ":"))`` gives for the same record (the SDK
writes the same values, possibly with other whitespace and key order), and the same escaping: ASCII only, so
no consumer trips on the encoding or on U+2028 as a line break.

The same text serves RECORD messages (with the Singer envelope around it) and JSONL batch files (one plain
record per line). Its twin for Arrow columns is :mod:`tap_dockerdvp.files.arrow.json_lines` (the same bytes, held
equal by the tests of the Arrow lane); parquet tables are :mod:`tap_dockerdvp.files.arrow.tables`.
"""

from __future__ import annotations

import json
import sys
import typing as t
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain, repeat
from json.encoder import encode_basestring_ascii  # the C version when available

from typing_extensions import Self

from tap_dockerdvp.files.reader import NULL_TOKENS, Memo, RowBatch

_MEMO_LIMIT = 1 << 16  # value pieces remembered per column


def dumps(value: t.Any) -> str:
    """Compact, ASCII-only JSON: how every message and batch line of the tap is written."""
    return json.dumps(value, separators=(",", ":"))


_NULL_PIECE = dict.fromkeys(NULL_TOKENS, "null")


def json_value(value: t.Any) -> str:
    """:func:`dumps` of a typed value, without building an encoder for a string, an integer or null."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if type(value) is int:
        return int.__repr__(value)
    return dumps(value)


def text_piece(raw: str | None) -> str:
    """The JSON text of a raw text value: null for a null token (or None), else the value escaped to ASCII."""
    return "null" if raw is None or raw in NULL_TOKENS else encode_basestring_ascii(raw)


def _texts(column: tuple[str, ...]) -> Iterable[str]:
    """The JSON text of each value of a text column whose values hardly repeat: escaped in C, one by one (as
    fast as checking whether they need it); the null tokens are short, so a column of long values has none."""
    if min(map(len, column), default=0) > _LONGEST_NULL:
        return map(encode_basestring_ascii, column)
    return map(_NULL_PIECE.get, column, map(encode_basestring_ascii, column))


_LONGEST_NULL = max(map(len, NULL_TOKENS))


class JsonRows:
    """The JSON text of each row of a batch, with the keys ``keys`` in that order, each line wrapped in
    ``prefix``/``suffix`` (``prefix`` may be a callable, called once per batch)."""

    def __init__(self, keys: Sequence[str], *, extra_key: str = "extra_columns") -> None:
        self.keys = tuple(keys)
        self.extra_key = extra_key
        self._layout: object = None
        self._pieces: dict[int, Memo] = {}  # value pieces per column of the file

    def encode(self, batch: RowBatch, constants: Mapping[str, t.Any], *, prefix: str = "", suffix: str = "\n") -> str:
        """One line per row of ``batch``; ``constants`` are the context fields every row carries."""
        layout = batch.layout
        if layout is not self._layout:  # a new file: new pieces
            self._layout, self._pieces = layout, {}
        count = batch.count
        pending = [prefix]  # constant text since the last value column
        columns: list[Iterable[str]] = []  # per row: constant, value, constant, value, ..., constant
        for position, key in enumerate(self.keys):
            pending.append(("," if position else "{") + encode_basestring_ascii(key) + ":")
            if key in constants:
                pending.append(dumps(constants[key]))
                continue
            values: Iterable[str]
            if key == "row_number":
                values = map(str, range(batch.first_row, batch.first_row + count))
            elif key == self.extra_key:
                extra = self._extra(batch)
                if extra is None:
                    pending.append("null")
                    continue
                values = extra
            elif key in layout.found:
                values = self._column(batch, layout.found[key])
            else:  # a column of the view this file lacks
                pending.append("null")
                continue
            columns.append(repeat("".join(pending)))
            columns.append(values)
            pending = []
        pending.append("}" + suffix)
        if not columns:  # no value column: every line is the same
            return "".join(pending) * count
        columns.append(repeat("".join(pending)))
        # one join over every piece of every row: twice as fast as a join per row
        return "".join(chain.from_iterable(zip(*columns, strict=False)))

    def _column(self, batch: RowBatch, index: int) -> Iterable[str]:
        """The JSON text of each value of field ``index``."""
        typed = batch.typed.get(index)
        pieces = self._pieces.get(index)
        if pieces is None:
            pieces = self._pieces[index] = Memo(text_piece if typed is None else json_value, _MEMO_LIMIT)
        if typed is None and pieces.distinct:
            return _texts(batch.columns[index])  # escaped in C, one by one
        return pieces.each(batch.columns[index] if typed is None else typed)

    def _extra(self, batch: RowBatch) -> list[str] | None:
        """The ``extra_columns`` object of each row, or None when no row has one."""
        layout = batch.layout
        if not layout.extra and not batch.surplus:
            return None
        if layout.extra:
            parts: list[Iterable[str]] = []
            for position, (key, index) in enumerate(layout.extra.items()):
                parts.append(repeat(("," if position else "{") + encode_basestring_ascii(key) + ":"))
                parts.append(_texts(batch.columns[index]))
            parts.append(repeat("}"))
            out = list(map("".join, zip(*parts, strict=False)))
        else:
            out = ["null"] * batch.count
        if batch.surplus:
            rows = batch.extra_columns()
            for offset in batch.surplus:
                out[offset] = dumps(rows[offset])
        return out


@dataclass(frozen=True)
class Output:
    """What a stream makes of a file's rows (see :func:`tap_dockerdvp.files.engine.read`): ``batches`` (row
    batches, for the SDK's record path and stream maps), ``record`` (RECORD messages), ``jsonl`` (JSON lines) or
    ``parquet`` (Arrow tables typed by ``schema``)."""

    kind: str  # "batches" | "record" | "jsonl" | "parquet"
    keys: tuple[str, ...] = ()  # the properties each row carries, in order
    constants: tuple[tuple[str, t.Any], ...] = ()  # the context fields every row of the file carries
    stream: str = ""  # record: the messages' stream
    extra_key: str = "extra_columns"
    cut_every: int = 0  # a piece never holds rows across rows B, 2B, ... of the file (B: a batch file's size)
    schema: t.Mapping[str, t.Any] | None = field(default=None, compare=False)


@dataclass
class Piece:
    """Encoded rows ``first_row`` .. ``last_row`` of a file."""

    data: bytes | memoryview
    first_row: int
    count: int

    @property
    def last_row(self) -> int:
        return self.first_row + self.count - 1


class Encoder:
    """The pieces of a file's batches, as an :class:`Output` of kind ``record`` or ``jsonl`` says (one encoder per
    file)."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.constants = dict(output.constants)
        self._messages = RecordMessages(output.stream, output.keys, extra_key=output.extra_key)
        self._rows = self._messages.rows

    def envelope(self) -> tuple[str, str]:
        """The text around each row's JSON object: the RECORD message's, or none but the line break."""
        return self._messages.envelope() if self.output.kind == "record" else ("", "\n")

    def pieces(self, batches: Iterable[RowBatch]) -> Iterator[Piece]:
        every = self.output.cut_every
        record = self.output.kind == "record"
        for batch in batches:
            for part in cut(batch, every):
                if record:
                    data = self._messages.encode(part, self.constants)
                else:
                    data = self._rows.encode(part, self.constants).encode()
                yield Piece(data, part.first_row, part.count)


class _Rows(t.Protocol):
    """Consecutive rows that can be cut (row batches, table parts)."""

    @property
    def first_row(self) -> int: ...
    @property
    def count(self) -> int: ...
    def split(self, count: int) -> Self: ...
    def drop(self, count: int) -> Self: ...


_Part = t.TypeVar("_Part", bound=_Rows)


def cut(batch: _Part, every: int) -> Iterator[_Part]:
    """``batch`` in parts that never hold rows on both sides of a multiple of ``every`` (0: never cut)."""
    if every <= 0:
        yield batch
        return
    while True:
        room = every - (batch.first_row - 1) % every
        if batch.count <= room:
            yield batch
            return
        yield batch.split(room)
        batch = batch.drop(room)


class RecordMessages:
    """Singer RECORD messages of batches, as the SDK writes them: ``{"type","stream","record","time_extracted"}``."""

    def __init__(self, stream: str, keys: Sequence[str], *, extra_key: str = "extra_columns") -> None:
        self.rows = JsonRows(keys, extra_key=extra_key)
        self.head = '{"type":"RECORD","stream":' + dumps(stream) + ',"record":'

    def envelope(self) -> tuple[str, str]:
        """The text before and after a record, for records extracted now."""
        return self.head, ',"time_extracted":' + dumps(datetime.now(timezone.utc).isoformat()) + "}\n"

    def encode(self, batch: RowBatch, constants: Mapping[str, t.Any]) -> bytes:
        head, tail = self.envelope()
        return self.rows.encode(batch, constants, prefix=head, suffix=tail).encode()


class StdoutSink:
    """Writes encoded messages to the current ``sys.stdout``, in order with the SDK's own messages."""

    def __init__(self, stream: t.TextIO | None = None) -> None:
        self.text = stream if stream is not None else sys.stdout
        self.binary = getattr(self.text, "buffer", None)

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.text.flush()  # whatever the SDK wrote goes first
        if self.binary is None:
            self.text.write(bytes(data).decode())
            return
        view = memoryview(data)
        while view:
            written = self.binary.write(view)  # a raw (unbuffered) stdout may write less
            view = view[written or 0 :]  # None: nothing written yet (a non-blocking stdout)

    def flush(self) -> None:
        self.text.flush()
        if self.binary is not None:
            self.binary.flush()
