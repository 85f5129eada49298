r"""The fast record path of `pull_events`: CSV rows to RECORD lines in batches, without a dict per row.

The SDK's per-record path (a dict per row, selection pruning, stream maps, one JSON encode and one stdout
flush per message) costs several times the parsing itself. For the raw view, with millions of rows a week,
this module does the same work per *batch* of rows and leaves the per-value work to C-level builtins:

    chunks → gunzip → UTF-8 → lines → csv.reader → batches of 256 rows → columns (``zip(*rows)``)
    column → JSON text per value: the value itself between quotes when nothing in the column is null or needs
             an escape, else a per-column memo (raw value → JSON text; the typed columns always)
    batch → per row one ``str.join`` of its values and the constant text between them (the keys); the
             constant text around them (the envelope, ``time_extracted``, the context fields) joins the rows
          → ASCII bytes → stdout, one write per batch

It is a second implementation of :func:`tap_dockerdvp.csv_reader.iter_csv_records` plus the SDK's RECORD
writer, held to the same results by ``tests/test_fast_path.py``: the same records (values, types, keys and
their order, ``extra_columns``, deselected properties absent), the same errors (:class:`TruncatedFileError` for
a cut or damaged file, :class:`CsvFormatError` for bad content) after the same rows. Rows that are not plain
(blank, ragged, next to a bad typed value) go through the reference :class:`RowConverter` one by one, so the
rarely used rules exist only once. A new rule of the reader needs a case in that test.

The stream side (:mod:`tap_dockerdvp.streams.pull_events`) decides when this path applies: not with stream
maps or flattening, which it cannot apply.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import sys
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from itertools import chain, islice, repeat
from json.encoder import encode_basestring_ascii  # the C version when available

from tap_dockerdvp.csv_reader import (
    NULL_TOKENS,
    CsvFormatError,
    RowConverter,
    TruncatedFileError,
    _ByteSource,
    header_converter,
    parse_date,
    parse_datetime,
    parse_integer,
    parse_number,
)
from tap_dockerdvp.progress import LoggerLike
from tap_dockerdvp.views import ViewSpec

__all__ = ["BATCH_ROWS", "RecordEncoder", "RowBatch", "StdoutSink", "iter_row_batches"]

_LOG = logging.getLogger(__name__)

#: Rows per batch. A power of two, so batch ends line up with the progress check every 2**14 rows.
BATCH_ROWS = 256
_BLOCK = 1 << 20  # decompressed bytes per block
_MEMO_LIMIT = 1 << 16  # JSON pieces remembered per column and file
_BOM = b"\xef\xbb\xbf"

_NULLS = frozenset(NULL_TOKENS)
_NULL_PIECE = dict.fromkeys(NULL_TOKENS, "null")
# Bytes that need a JSON escape or that str.splitlines() treats as a line break but csv/TextIOWrapper do not.
_ODD_BYTES = bytes(b for b in range(32) if b not in (10, 13))
_ODD_NON_ASCII = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # U+0085, U+2028, U+2029 in UTF-8
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # the line ends of TextIOWrapper(newline="")
_PARSERS: dict[str, Callable[[str], t.Any]] = {
    "integer": parse_integer,
    "number": parse_number,
    "date": parse_date,
    "date-time": parse_datetime,
}


# --------------------------------------------------------------------------------------------------
# bytes → lines


def _inflate(chunks: Iterable[bytes], label: str) -> Iterator[bytes]:
    source = _ByteSource(chunks, label)
    while block := source.read1(_BLOCK):
        yield block


class _TextFeed:
    """Decompressed bytes → lists of text lines (line ends kept), as ``TextIOWrapper(newline="")`` gives them.

    Blocks are cut after their last line break, decoded as UTF-8 (a leading BOM dropped) and split. Remembers
    the last byte (did the file end with a newline?) and whether anything was seen that a JSON string must
    escape or that ``str.splitlines`` would split differently (``odd``).
    """

    def __init__(self, chunks: Iterable[bytes], label: str) -> None:
        self._blocks = _inflate(chunks, label)
        self.last_byte = b""
        self.odd = False

    def _split(self, data: bytes) -> list[str]:
        text = data.decode("utf-8")
        return _LINES.findall(text) if self.odd else text.splitlines(True)

    def __iter__(self) -> Iterator[list[str]]:
        blocks = iter(self._blocks)
        start = b""
        for block in blocks:  # a BOM may come in pieces
            start += block
            if len(start) >= len(_BOM) or not _BOM.startswith(start):
                break
        if start.startswith(_BOM):
            self.last_byte = start[-1:]
            start = start[len(_BOM) :]
        rest = b""
        for block in chain((start,), blocks):
            if not block:
                continue
            self.last_byte = block[-1:]
            if not self.odd and (
                len(block.translate(None, _ODD_BYTES)) != len(block)
                or (not block.isascii() and any(seq in block for seq in _ODD_NON_ASCII))
            ):
                self.odd = True
            data = rest + block if rest else block
            cut = data.rfind(b"\n")
            if cut < 0:
                cut = data.rfind(b"\r", 0, len(data) - 1)  # a file with \r line ends only
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1 :]
            yield self._split(data[: cut + 1])
        if rest:
            yield self._split(rest)


# --------------------------------------------------------------------------------------------------
# lines → batches of typed rows


class _Memo(dict):  # type: ignore[type-arg]
    """``memo[raw]`` is the JSON text of the value of field ``raw``, made once; ``misses`` counts the makings."""

    __slots__ = ("_piece", "misses")

    def __init__(self, piece: Callable[[str], str]) -> None:
        super().__init__()
        self._piece = piece
        self.misses = 0

    def __missing__(self, key: str) -> str:
        self.misses += 1
        value = self._piece(key)
        if len(self) >= _MEMO_LIMIT:
            self.clear()
        self[key] = value
        return value


def _string_piece(value: str) -> str:
    return "null" if value in _NULLS else encode_basestring_ascii(value)


def _typed_piece(parse: Callable[[str], t.Any]) -> Callable[[str], str]:
    """The JSON text of a typed value, by the rules of the reference converter (raises ``ValueError``)."""

    def piece(value: str) -> str:
        if value in _NULLS or not value.strip():
            return "null"
        return json.dumps(parse(value))

    return piece


class _FileRows:
    """What every batch of one download shares: the header's converter, the per-column JSON memos."""

    def __init__(self, conv: RowConverter) -> None:
        self.conv = conv
        found = set(conv.found.values())
        #: field indexes of the columns kept in ``extra_columns``, in the order of ``conv.extra_keys``
        self.extra_indexes = tuple(i for i in range(conv.width) if i not in found)
        kinds = {c.name: c.kind for c in conv.spec.columns}
        #: (field index, memo) of every typed column of the view the file has
        self.typed = tuple(
            (index, _Memo(_typed_piece(_PARSERS[kinds[name]])))
            for name, index in conv.found.items()
            if kinds[name] != "string"
        )
        self.memos: dict[int, _Memo] = {}  # string columns
        self.memo_off: set[int] = set()  # string columns whose values hardly repeat: encoded, not memoised
        self.plans: dict[t.Any, list[_Slot]] = {}


class RowBatch(dict):  # type: ignore[type-arg]
    """Consecutive data rows of one file, standing in for one record in ``ExportStream._read_file``.

    As a dict it holds ``row_number`` (its last row) and whatever the callers add to a record (``file_index``,
    the timespan context): :class:`RecordEncoder` writes those as the SDK path would.

    Plain rows come as ``columns`` (one tuple of raw values per field) and ``typed`` (field index → JSON text
    of each typed value); other rows (blank, ragged, or next to a bad value) as ``records`` from the reference
    converter.
    """

    __slots__ = ("clean", "columns", "file", "first_row", "records", "typed")

    def __init__(self, file: _FileRows, first_row: int, last_row: int) -> None:
        super().__init__(row_number=last_row)
        self.file = file
        self.first_row = first_row
        self.columns: list[tuple[str, ...]] | None = None
        self.typed: dict[int, list[str]] = {}
        self.records: list[dict[str, t.Any]] | None = None
        self.clean = False  # no value needs a JSON escape for a control character

    @property
    def count(self) -> int:
        return int(self["row_number"]) - self.first_row + 1


class _Rows:
    """Turns the rows read from one file into :class:`RowBatch` es: counts, types, skips, like the reference."""

    def __init__(self, file: _FileRows, skip: int) -> None:
        self.file = file
        self.skip = skip
        self.n = 0  # data rows so far (blank lines not counted)
        self.short = self.long = self.blank = 0

    def batch(self, rows: list[list[str]], *, clean: bool) -> tuple[RowBatch | None, CsvFormatError | None]:
        """The batch of ``rows`` (None if all skipped), and the error of a bad row (the batch stops before it)."""
        if not rows:
            return None, None
        file = self.file
        width = file.conv.width
        if set(map(len, rows)) == {width}:
            columns = list(zip(*rows, strict=True))
            try:
                typed = {index: list(map(memo.__getitem__, columns[index])) for index, memo in file.typed}
            except (ValueError, TypeError, ArithmeticError):
                return self._records(rows)  # the reference converter finds and names the bad value
            first = self.n + 1
            self.n += len(rows)
            if self.n <= self.skip:
                return None, None
            if first <= self.skip:
                drop = self.skip - first + 1
                columns = [column[drop:] for column in columns]
                typed = {index: pieces[drop:] for index, pieces in typed.items()}
                first = self.skip + 1
            out = RowBatch(file, first, self.n)
            out.columns = columns
            out.typed = typed
            out.clean = clean
            return out, None
        return self._records(rows)

    def _records(self, rows: list[list[str]]) -> tuple[RowBatch | None, CsvFormatError | None]:
        conv = self.file.conv
        width = conv.width
        records: list[dict[str, t.Any]] = []
        first = self.n + 1
        error: CsvFormatError | None = None
        for row in rows:
            if len(row) != width:
                if not row:
                    self.blank += 1
                    continue
                if len(row) < width:
                    self.short += 1
                else:
                    self.long += 1
            try:
                record = conv.convert(row, self.n + 1) if len(row) == width else conv.convert_ragged(row, self.n + 1)
            except CsvFormatError as exc:
                error = exc
                break
            self.n += 1
            if self.n > self.skip:
                records.append(record)
        if not records:
            return None, error
        out = RowBatch(self.file, max(first, self.skip + 1), self.n)
        out.records = records
        return out, error


def iter_row_batches(
    chunks: Iterable[bytes],
    spec: ViewSpec,
    *,
    label: str,
    logger: LoggerLike | None = None,
    skip: int = 0,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[RowBatch]:
    """The data rows of a gzip or plain CSV byte stream in :class:`RowBatch` es, by the rules of
    :func:`~tap_dockerdvp.csv_reader.iter_csv_records`: the same values, and the same errors after the same
    rows. Rows up to ``skip`` (emitted by an earlier attempt) are left out.
    """
    log = logger or _LOG
    feed = _TextFeed(chunks, label)
    batch: list[list[str]] = []
    eof_at: list[int] = []  # rows in `batch` when csv.reader asked for a line after the last one

    def eof_marker() -> Iterator[str]:
        eof_at.append(len(batch))
        yield from ()

    reader = csv.reader(chain(chain.from_iterable(feed), eof_marker()))
    rows_out: _Rows | None = None
    try:
        conv = header_converter(next(reader, None), spec, label=label, log=log, cut_in_header=bool(eof_at))
        if conv is None:
            return
        rows_out = _Rows(_FileRows(conv), skip)
        clean = True
        want = batch_rows + 1  # one row more than a batch: the last row read waits for the next read
        while True:
            lines_before = reader.line_num
            held = len(batch)
            try:
                batch.extend(islice(reader, want))
            except (UnicodeDecodeError, csv.Error):
                out, error = rows_out.batch(batch, clean=False)  # the rows complete before the bad spot
                batch = []
                if out is not None:
                    yield out
                if error is not None:
                    raise error from None
                raise
            got = len(batch) - held
            if clean and (feed.odd or reader.line_num - lines_before != got):
                clean = False  # a control character, or a row over several lines (a newline in a value)
            problem: str | None = None
            if got == want and not eof_at:  # more rows may follow
                rows, batch = batch, [batch[-1]]
                del rows[-1]
                want = batch_rows
            else:  # the end of the data: its last row may be cut
                rows, batch = batch, []
                if rows and feed.last_byte not in (b"", b"\n"):
                    problem = "the last line does not end with a newline; the file looks cut (after data row {n})"
                elif eof_at and len(rows) > eof_at[0]:
                    problem = "the file ends inside a quoted field after data row {n}; it looks cut"
                if problem is not None:
                    del rows[-1]  # never emitted: most likely a row cut short
            out, error = rows_out.batch(rows, clean=clean)
            if out is not None:
                yield out
            if error is not None:
                raise error
            if problem is not None:
                raise TruncatedFileError(f"{label}: " + problem.format(n=rows_out.n))
            if not batch:
                break
    except UnicodeDecodeError as exc:
        n = rows_out.n if rows_out else 0
        raise CsvFormatError(
            f"{label}: the file is not valid UTF-8 (near data row {n + 1}, approximate): "
            f"{exc.reason} at byte 0x{exc.object[exc.start]:02x}"
        ) from None
    except csv.Error as exc:
        n = rows_out.n if rows_out else 0
        raise CsvFormatError(f"{label}: bad CSV near data row {n + 1}: {exc}") from None

    if rows_out.short or rows_out.long:
        log.warning(
            "%s: %d rows had fewer fields than the header (missing values set to null), %d rows "
            "had more fields than the header (surplus values kept in extra_columns as _extra_N), "
            "%d blank lines skipped",
            label,
            rows_out.short,
            rows_out.long,
            rows_out.blank,
        )
    elif rows_out.blank:
        log.info("%s: %d blank lines skipped", label, rows_out.blank)
    log.debug("%s: %d rows read", label, rows_out.n)


# --------------------------------------------------------------------------------------------------
# batches → RECORD lines


class _Slot(t.NamedTuple):
    kind: str  # "const" | "string" | "typed" | "row_number"
    text: str = ""  # const: its JSON text
    column: int = -1  # string/typed: the field index in the file's rows


def _plain(text: str) -> bool:
    """Nothing in ``text`` needs a JSON escape (control characters are ruled out before)."""
    return text.isascii() and '"' not in text and "\\" not in text


def _json(value: t.Any) -> str:
    """JSON as the SDK writes it: compact, and ASCII only (simplejson's default), so no consumer can trip on
    the encoding or on U+2028 as a line break."""
    return json.dumps(value, separators=(",", ":"))


class RecordEncoder:
    """RECORD lines of :class:`RowBatch` es, as the SDK path would write them for the same rows.

    ``selected(breadcrumb)`` is the stream's selection mask; ``partition`` (the state partition context) is
    added to records that lack its keys, as the SDK does; ``version`` is the stream's ``ACTIVATE_VERSION``.
    """

    def __init__(
        self,
        stream: str,
        *,
        selected: Callable[[tuple[str, ...]], bool],
        partition: Mapping[str, t.Any] | None = None,
        version: int | None = None,
    ) -> None:
        self.selected = selected
        self.partition = dict(partition or {})
        self.head = '{"type":"RECORD","stream":' + _json(stream) + ',"record":'
        self.version = "" if version is None else f',"version":{int(version)}'

    def _order(self, conv: RowConverter, constants: Mapping[str, t.Any]) -> list[str]:
        """The selected keys of a record in the SDK path's order: the reader's, the callers', the partition's."""
        keys = [*conv.found, *conv.missing, "extra_columns", "row_number"]
        present = set(keys)
        for key in (*constants, *self.partition):
            if key not in present:
                present.add(key)
                keys.append(key)
        return [key for key in keys if self.selected(("properties", key))]

    def _sub_selected(self, key: str) -> bool:
        return self.selected(("properties", "extra_columns", "properties", key))

    def _plan(self, batch: RowBatch, constants: dict[str, t.Any]) -> list[_Slot]:
        file = batch.file
        cache_key = tuple(constants.items())
        plan = file.plans.get(cache_key)
        if plan is not None:
            return plan
        conv = file.conv
        typed = {index for index, _memo in file.typed}
        plan = []
        for position, key in enumerate(self._order(conv, constants)):
            plan.append(_Slot("const", ("," if position else "{") + encode_basestring_ascii(key) + ":"))
            if key in constants:
                plan.append(_Slot("const", _json(constants[key])))
            elif key == "row_number":
                plan.append(_Slot("row_number"))
            elif key == "extra_columns":
                subkeys = [
                    (index, k)
                    for index, k in zip(file.extra_indexes, conv.extra_keys, strict=True)
                    if self._sub_selected(k)
                ]
                for j, (index, k) in enumerate(subkeys):
                    plan.append(_Slot("const", ("," if j else "{") + encode_basestring_ascii(k) + ":"))
                    plan.append(_Slot("string", column=index))
                plan.append(_Slot("const", "}" if subkeys else "{}"))
            elif key in conv.found:
                index = conv.found[key]
                plan.append(_Slot("typed" if index in typed else "string", column=index))
            elif key in self.partition:
                plan.append(_Slot("const", _json(self.partition[key])))
            else:  # a canonical column the file lacks
                plan.append(_Slot("const", "null"))
        plan.append(_Slot("const", "}"))
        file.plans[cache_key] = plan
        return plan

    def encode(self, batch: RowBatch) -> bytes:
        """The RECORD lines of ``batch`` (one per row, each ending with a newline)."""
        tail = self.version + ',"time_extracted":"' + datetime.now(timezone.utc).isoformat() + '"}\n'
        constants = {k: v for k, v in batch.items() if k != "row_number"}
        if batch.records is not None:
            return self._encode_records(batch, constants, tail).encode()
        return self._encode_columns(batch, self._plan(batch, constants), tail).encode()

    def _encode_columns(self, batch: RowBatch, plan: list[_Slot], tail: str) -> str:
        """Each row is one ``str.join`` of its value pieces and the constant text between them (the keys); the
        constant text before the first value and after the last one (the envelope, the context the SDK path
        appends) joins the rows instead."""
        file = batch.file
        columns = batch.columns
        assert columns is not None
        count = batch.count
        pending = [self.head]  # constant text since the last value
        pieces: list[Iterable[str]] = []  # per row: value, constant, value, ..., value
        lead: str | None = None
        for slot in plan:
            kind = slot.kind
            if kind == "const":
                pending.append(slot.text)
                continue
            quoted = False
            if kind == "row_number":
                values: Iterable[str] = map(str, range(batch.first_row, batch.first_row + count))
            elif kind == "typed":
                values = batch.typed[slot.column]
            else:
                column = columns[slot.column]
                if batch.clean and _NULLS.isdisjoint(column):
                    quoted = _plain("".join(column))  # no null token, nothing to escape: the values as they are
                if quoted:
                    values = column
                elif slot.column in file.memo_off:
                    values = map(_NULL_PIECE.get, column, map(encode_basestring_ascii, column))
                else:
                    memo = file.memos.get(slot.column)
                    if memo is None:
                        memo = file.memos[slot.column] = _Memo(_string_piece)
                    before = memo.misses
                    values = list(map(memo.__getitem__, column))
                    if memo.misses - before > count // 4:
                        file.memo_off.add(slot.column)  # mostly distinct values: stop memoising them
            if quoted:
                pending.append('"')
            if lead is None:
                lead = "".join(pending)
            else:
                pieces.append(repeat("".join(pending)))
            pieces.append(values)
            pending = ['"'] if quoted else []
        trail = "".join(pending) + tail
        if lead is None:  # no value at all
            return (self.head + trail) * count
        return lead + (trail + lead).join(map("".join, zip(*pieces, strict=False))) + trail

    def _encode_records(self, batch: RowBatch, constants: dict[str, t.Any], tail: str) -> str:
        """Records of the reference converter, completed and pruned as the SDK path does."""
        assert batch.records is not None
        order = self._order(batch.file.conv, constants)
        lines = []
        for record in batch.records:
            record.update(constants)
            for key, value in self.partition.items():
                record.setdefault(key, value)
            extras = record.get("extra_columns")
            if extras:
                record["extra_columns"] = {k: v for k, v in extras.items() if self._sub_selected(k)}
            lines.append(self.head + _json({key: record[key] for key in order}) + tail)
        return "".join(lines)


# --------------------------------------------------------------------------------------------------
# output


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
            self.text.write(data.decode())
            return
        view = memoryview(data)
        while view:
            written = self.binary.write(view)  # a raw (unbuffered) stdout may write less
            view = view[written or 0 :]  # None: nothing written yet (a non-blocking stdout)

    def flush(self) -> None:
        self.text.flush()
        if self.binary is not None:
            self.binary.flush()
