r"""The one reader of DVP CSV files: a file's bytes in, batches of typed rows out.

Every file-backed stream (the summary views, ``pull_events``, the report streams) reads its files here, and
every output (records for the SDK, RECORD lines, BATCH files) is made from the :class:`RowBatch` es it yields.
The pipeline is incremental, so memory is bounded by the chunk and batch sizes, never by the file:

    chunks → gunzip (multi-member) → text (UTF-8, the byte rule) → lines → csv.reader → batches of rows

Its twin, kept for speed, is :mod:`tap_dockerdvp.files.arrow.lane`: Arrow splits the lines, the values still come
from the parsers here, and any chunk Arrow cannot settle comes back to :func:`read_batches`. One table of cases
(``tests/unit/test_record_outputs.py``'s ``CASES``) drives both, byte for byte.

Rules (each exists only here):

* **Compression**: a stream starting with the gzip magic ``1f 8b`` is gunzipped (members are concatenated; zero
  padding between or after members is ignored); anything else is plain CSV. ISA-L (the ``isal`` package)
  inflates when it is installed, zlib otherwise: the same bytes either way.
* **Completeness**: a gzip stream that ends before a member's trailer, fails its CRC32/length check or is
  otherwise corrupt raises :class:`TruncatedFileError`. A complete file ends with a line break. If its last data line
  does not, or the input ends inside a quoted field, the file was cut: the rows before the cut row are yielded,
  the cut row never is, then :class:`TruncatedFileError` is raised (the caller reads the file again, skipping
  the rows it already has). A file that is only a header row is an empty export; a file with no bytes at all
  too, with a WARNING.
* **Bytes that are not UTF-8** (a User Agent written in Latin-1, say) are read as Windows-1252 (cp1252; the
  five bytes cp1252 leaves undefined as Latin-1), so ``caf\xe9`` becomes ``café``: the row is kept, and one
  WARNING per file counts the lines. A leading BOM is dropped.
* **Header**: a missing or blank header row, an HTML/JSON error page, or (for a view with columns) a header with
  no column of the view raises :class:`CsvFormatError`. Headers are matched in any order after
  :func:`~tap_dockerdvp.dvp.views.normalise_header`, against the view's names and aliases; when two headers mean
  the same column the first wins and the others are kept in ``extra_columns``.
* **Values**: ``""``, ``null``, ``NULL``, ``Null``, ``\N`` and ``\\N`` are null (:data:`NULL_TOKENS`).
  Integers use ``int()`` within 64 bits (``"12.0"`` is accepted; ``"12.5"``, ``"abc"`` or 2**63 raise
  :class:`CsvFormatError`, after the rows before it were yielded). ``date-time`` values become RFC 3339 UTC
  ``YYYY-MM-DDTHH:MM:SS[.f]Z``; ``date`` values ``YYYY-MM-DD``.
* **Unknown columns** are kept as text (or null) in ``extra_columns``, keyed by the header as written
  (whitespace-stripped; ``_column_<n>`` for a blank header), and logged once per file. ``extra_columns`` is
  null for a row that has none.
* **Ragged rows**: a row with more fields than the header keeps the surplus values in ``extra_columns`` as
  ``_extra_1``, ``_extra_2``... (a name the header has is skipped); a row with fewer fields gets null for the
  missing ones. Blank lines are skipped and not counted. One WARNING per file gives the counts.
* **Row numbers** are 1-based data rows within the file (blank lines not counted): with the file index they key
  a row, so a re-read file upserts instead of duplicating.

Log lines and errors name the file by ``label`` only; they never contain URLs.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from calendar import isleap
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import chain, count, islice, repeat
from typing import Any

from tap_dockerdvp.dvp.views import INT64, Column, ViewSpec, normalise_header
from tap_dockerdvp.errors import TruncatedFileError, UnendedLineError
from tap_dockerdvp.files.chunks import CHUNK_BYTES
from tap_dockerdvp.files.compression import decompressed
from tap_dockerdvp.files.readahead import ahead

__all__ = [
    "BATCH_ROWS",
    "NULL_TOKENS",
    "CsvFormatError",
    "Edges",
    "FileLayout",
    "ReadStats",
    "Reading",
    "RowBatch",
    "TruncatedFileError",
    "is_null",
    "parse_date",
    "parse_datetime",
    "parse_integer",
    "parse_number",
    "read_batches",
    "records",
]

_LOG = logging.getLogger(__name__)

#: Rows per batch: large enough that per-batch work vanishes, small enough to stay a few MB.
BATCH_ROWS = 2048
#: Field values that mean null.
NULL_TOKENS: frozenset[str] = frozenset(("", "null", "NULL", "Null", "\\N", "\\\\N"))
# distinct typed values remembered per column and file: enough for days, countries and counts; a column of mostly
# distinct values (timestamps) only churns it, and 65,536 of them held 10 to 15 MiB, scattered over the heap
_MEMO_LIMIT = 1 << 12
BYTE_RULE = "tap-dockerdvp-cp1252"


class CsvFormatError(ValueError):
    """The file's content is not usable: no header, no known column, a bad value, not CSV."""


# --------------------------------------------------------------------------------------------------
# values


#: ``NULLED.get(v, v)`` is None for a null token and ``v`` otherwise (used through ``map`` it stays in C).
NULLED: dict[str, None] = dict.fromkeys(NULL_TOKENS)


def is_null(value: str) -> bool:
    """The null rule of typed columns: a null token, or a value that is only whitespace (text keeps it)."""
    return value in NULL_TOKENS or not value.strip()


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(?:([Zz]|UTC|GMT)|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)


def parse_datetime(value: str) -> str:
    """A Docker timestamp → RFC 3339 UTC ``YYYY-MM-DDTHH:MM:SSZ``; raise ``ValueError`` if invalid.

    Accepts ``YYYY-MM-DD HH:MM:SS[.ffffff]``, ``T`` instead of the space, a ``Z``/``UTC`` suffix or a
    ``±HH[:MM]`` offset up to 23:59 (converted to UTC), and a bare date (midnight). Values without an offset are
    UTC. A fraction of a second is kept as written, to the microsecond: the digits after the sixth are dropped, as
    neither parquet's timestamps nor Python's hold them (seven digits, .NET's form, ended a parquet batch file).
    """
    v = value.strip()
    if len(v) == 19 and v[4] == "-" and v[7] == "-" and v[10] in " T" and v[13] == ":" and v[16] == ":":
        datetime.fromisoformat(v)  # validates digits and ranges
        return f"{v[:10]}T{v[11:]}Z"
    m = _DATETIME_RE.fullmatch(v)
    if m is None:
        raise ValueError(f"not a date-time: {value!r}")
    year, month, day, hour, minute, second, frac, _utc, sign, off_h, off_m = m.groups()
    moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    if sign:
        if int(off_h) > 23 or int(off_m or 0) > 59:
            raise ValueError(f"not a UTC offset: {value!r}")
        offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        moment = moment - offset if sign == "+" else moment + offset
    text = moment.isoformat(timespec="seconds")
    return f"{text}.{frac[:6]}Z" if frac else f"{text}Z"


# Docker's own way of writing a date-time, valid: ``YYYY-MM-DD HH:MM:SS`` (or with ``T``), a year from 0001, each
# month's days (the 29th of February is checked apart, for leap years), hours, minutes and seconds in range
_PLAIN_DATETIME = (
    r"(?!0000)\d{4}-"
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31|02-29)"
    r"[ T](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
)
_PLAIN_DATETIMES = re.compile(f"{_PLAIN_DATETIME}(?:\n{_PLAIN_DATETIME})*", re.ASCII)


def plain_datetimes(column: Sequence[str]) -> list[str] | None:
    """:func:`parse_datetime` of each value, when every value is in Docker's own form (one per pull, all distinct);
    else None. Checked and rewritten on the values end to end, one line each, by one regular expression and a few
    string methods: a third of the time the values took one by one (0.8 CPU s for 1M rows without pyarrow). Its
    twin for Arrow columns is :func:`~tap_dockerdvp.files.arrow.json_lines.plain_times`."""
    if not column:
        return []
    text = "\n".join(column)
    if _PLAIN_DATETIMES.fullmatch(text) is None:
        return None
    at = text.find("-02-29")
    while at >= 0:
        if not isleap(int(text[at - 4 : at])):
            return None
        at = text.find("-02-29", at + 1)
    out = (text.replace("\n", "Z\n").replace(" ", "T") + "Z").split("\n")
    return out if len(out) == len(column) else None  # a value holding a line break (quoted) is no plain value


def parse_date(value: str) -> str:
    """A date (or a date-time's date part, as written) → ``YYYY-MM-DD``; raise ``ValueError``."""
    v = value.strip()
    if len(v) == 10 and v[4] == "-" and v[7] == "-":
        date.fromisoformat(v)  # validates
        return v
    m = _DATETIME_RE.fullmatch(v)
    if m is None:
        raise ValueError(f"not a date: {value!r}")
    return date(int(m[1]), int(m[2]), int(m[3])).isoformat()


def parse_integer(value: str) -> int:
    """``int(value)``, also accepting an integral decimal like ``"12.0"``, within 64 bits; raise ``ValueError``."""
    try:
        number = int(value)
    except ValueError:
        try:
            exact = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not an integer: {value!r}") from None
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise ValueError(f"not an integer: {value!r}") from None
        number = int(exact)
    if number not in INT64:
        raise ValueError(f"not a 64-bit integer: {value!r}")
    return number


def parse_number(value: str) -> float | int:
    """A finite number (an integer within 64 bits stays an ``int``; a larger one is a float, as parquet's double
    holds it); raise ``ValueError``."""
    try:
        whole = int(value)
    except ValueError:
        pass
    else:
        return whole if whole in INT64 else float(whole)  # float() raises OverflowError beyond a double's range
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {value!r}")
    return number


PARSERS: dict[str, Callable[[str], Any]] = {
    "integer": parse_integer,
    "number": parse_number,
    "date": parse_date,
    "date-time": parse_datetime,
}


class Memo(dict):
    """``memo[x]`` is ``make(x)``, made once while ``x`` repeats (Docker's values repeat a lot). At most ``limit``
    values are remembered. :meth:`each` stops remembering for good once a call makes more than a quarter of its
    values anew: a column of mostly distinct values (timestamps) only churns the memo (``distinct``)."""

    __slots__ = ("distinct", "limit", "make", "misses")

    def __init__(self, make: Callable[[Any], Any], limit: int) -> None:
        super().__init__()
        self.make, self.limit, self.misses, self.distinct = make, limit, 0, False

    def __missing__(self, key: Any) -> Any:
        self.misses += 1
        value = self.make(key)
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value

    def each(self, keys: Sequence[Any]) -> list[Any]:
        """``make`` of each key: remembered while the keys repeat, made one by one once they are ``distinct``."""
        if self.distinct:
            return list(map(self.make, keys))
        before = self.misses
        out = list(map(self.__getitem__, keys))
        self.distinct = self.misses - before > len(keys) // 4
        return out


def _typing(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """The typed value of a raw value: None for null, else ``parse``'s."""
    return lambda raw: None if is_null(raw) else parse(raw)


# --------------------------------------------------------------------------------------------------
# the header


def _chosen(header: Sequence[str], columns: Sequence[Column | None]) -> dict[str, int]:
    """The field of each column the header names: the first spelled as the column's own name, else the first
    spelled as an alias (`User Agent` before `User agent tool` took the tool's column, the tool went to the extra
    columns); the others are kept as extra columns."""
    chosen: dict[str, int] = {}
    own: set[str] = set()
    for index, column in enumerate(columns):
        if column is None or column.name in own:
            continue
        spelled = normalise_header(header[index])
        if spelled in (column.name, column.name.replace("_", "")):
            chosen[column.name] = index
            own.add(column.name)
        else:
            chosen.setdefault(column.name, index)
    return chosen


class FileLayout:
    """What a file's header row decides, once per file: which field is which column, what is extra."""

    def __init__(self, header: Sequence[str], spec: ViewSpec, *, label: str) -> None:
        self.spec = spec
        self.label = label
        self.width = len(header)
        spellings = spec.header_map()
        found: dict[str, int] = {}
        extra: dict[str, int] = {}
        #: headers (as written) the view does not know / that repeat a column already found
        self.unknown_headers: list[str] = []
        self.duplicate_headers: list[str] = []
        columns = [spellings.get(normalise_header(raw)) for raw in header]
        chosen = _chosen(header, columns)
        for index, raw in enumerate(header):
            column = columns[index]
            if column is not None and chosen[column.name] == index:
                found[column.name] = index
                continue
            key = raw.replace("\ufeff", "").strip() or f"_column_{index + 1}"
            base, n = key, 1
            while key in extra:
                n += 1
                key = f"{base}_{n}"
            extra[key] = index
            (self.unknown_headers if column is None else self.duplicate_headers).append(key)
        if not found and spec.match_required:
            shown = [h[:60] for h in header[:40]]
            raise CsvFormatError(f"{label}: no column of the header matches the {spec.view!r} view; headers: {shown!r}")
        #: canonical column name → its field index in the file
        self.found = found
        #: ``extra_columns`` key → field index
        self.extra = extra
        #: canonical columns the file does not have (always null)
        self.missing: tuple[str, ...] = tuple(c.name for c in spec.columns if c.name not in found)
        kinds = {c.name: c.kind for c in spec.columns}
        #: field index → kind, for the known columns that are not strings
        self.typed: dict[int, str] = {i: kinds[name] for name, i in found.items() if kinds[name] != "string"}
        self._memos = {index: Memo(_typing(PARSERS[kind]), _MEMO_LIMIT) for index, kind in self.typed.items()}

    @classmethod
    def of(
        cls,
        header: list[str] | None,
        spec: ViewSpec,
        *,
        label: str,
        log: logging.Logger | logging.LoggerAdapter,
        cut_in_header: bool,
    ) -> FileLayout | None:
        """The layout of a file's header row under the header rules; None for an empty file (logged)."""
        if header is None:
            log.warning("%s: the file is empty (no header, no rows): 0 rows", label)
            return None
        if not any(h.replace("\ufeff", "").strip() for h in header):
            raise CsvFormatError(f"{label}: the file has no header row")
        if header[0].lstrip().startswith(("<", "{", "[")):
            raise CsvFormatError(
                f"{label}: the file is not CSV but looks like an HTML or JSON error page: {','.join(header)[:80]!r}"
            )
        if cut_in_header:
            raise TruncatedFileError(f"{label}: the file ends inside its quoted header row")
        layout = cls(header, spec, label=label)
        if layout.unknown_headers:  # a view without columns keeps every column there: nothing to say at INFO
            level = logging.INFO if spec.columns else logging.DEBUG
            log.log(level, "%s: keeping unknown columns %s in %s", label, layout.unknown_headers, spec.extra_key)
        if layout.duplicate_headers:
            log.info(
                "%s: columns %s repeat a column already found; the first is used, these are kept in %s",
                label,
                layout.duplicate_headers,
                spec.extra_key,
            )
        return layout

    def convert(self, index: int, column: Sequence[str], first_row: int) -> list[Any]:
        """Typed values of field ``index``; a bad value raises :class:`CsvFormatError` naming row and column."""
        if self.typed[index] == "date-time" and (plain := plain_datetimes(column)) is not None:
            return plain
        memo = self._memos[index]
        try:
            return memo.each(column)
        except (ValueError, TypeError, ArithmeticError):
            for offset, raw in enumerate(column):
                try:
                    memo.make(raw)
                except (ValueError, TypeError, ArithmeticError):
                    name = next(n for n, i in self.found.items() if i == index)
                    shown = raw if len(raw) <= 40 else raw[:40] + "..."
                    raise BadValue(
                        offset,
                        f"{self.label}: data row {first_row + offset}, column {name!r}: {shown!r} is not a valid "
                        f"{self.typed[index]}",
                    ) from None
            raise  # pragma: no cover - the failing value was found above


class BadValue(CsvFormatError):
    """A value that cannot be typed; ``offset`` is its row within the batch, ``batch`` the good rows before it."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.batch: RowBatch | None = None


# --------------------------------------------------------------------------------------------------
# batches


class RowBatch:
    """Consecutive data rows of one file, by column: what every output is made from.

    ``columns`` holds one tuple of raw field values per field of the header (``count`` values each); ``typed``
    the typed values (None for null) of the known non-string columns, by field index; ``surplus`` the values
    beyond the header's width of the rows that had some, by offset in the batch.
    """

    __slots__ = ("columns", "count", "first_row", "layout", "surplus", "typed")

    def __init__(
        self,
        layout: FileLayout,
        first_row: int,
        columns: list[tuple[str, ...]],
        surplus: dict[int, Sequence[str]] | None = None,
    ) -> None:
        self.layout = layout
        self.first_row = first_row
        self.columns = columns
        self.count = len(columns[0]) if columns else 0
        self.surplus = surplus or {}
        self.typed: dict[int, list[Any]] = {}

    @property
    def last_row(self) -> int:
        return self.first_row + self.count - 1

    def strings(self, index: int) -> list[str | None]:
        """The values of a text field, null tokens as None."""
        column = self.columns[index]
        return list(map(NULLED.get, column, column))

    def values(self, name: str) -> list[Any]:
        """The values of canonical column ``name``: typed, None for null (and for a column the file lacks)."""
        index = self.layout.found.get(name)
        if index is None:
            return [None] * self.count
        typed = self.typed.get(index)
        return typed if typed is not None else self.strings(index)

    def extra_columns(self) -> list[dict[str, str | None] | None]:
        """Each row's ``extra_columns``: unknown columns and surplus values, or None when it has none."""
        extra = self.layout.extra
        if not extra and not self.surplus:
            return [None] * self.count
        if extra:
            keys = tuple(extra)
            columns = [self.strings(i) for i in extra.values()]
            out: list[dict[str, str | None] | None] = [
                dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)
            ]
        else:
            out = [None] * self.count
        for offset, values in self.surplus.items():
            row = out[offset] or {}
            names = (name for k in count(1) if (name := f"_extra_{k}") not in extra)  # a header may be "_extra_1"
            for name, value in zip(names, values, strict=False):  # names never end
                row[name] = NULLED.get(value, value)
            out[offset] = row
        return out

    def split(self, count: int) -> RowBatch:
        """The first ``count`` rows as a batch of their own."""
        head = RowBatch(
            self.layout,
            self.first_row,
            [column[:count] for column in self.columns],
            {k: v for k, v in self.surplus.items() if k < count},
        )
        head.typed = {index: values[:count] for index, values in self.typed.items()}
        return head

    def drop(self, count: int) -> RowBatch:
        """This batch without its first ``count`` rows."""
        tail = RowBatch(
            self.layout,
            self.first_row + count,
            [column[count:] for column in self.columns],
            {k - count: v for k, v in self.surplus.items() if k >= count},
        )
        tail.typed = {index: values[count:] for index, values in self.typed.items()}
        return tail


# --------------------------------------------------------------------------------------------------
# bytes and text


# The byte rule: what UTF-8 cannot decode is read as cp1252, whose five undefined bytes are read as Latin-1.
_CP1252 = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))


def _cp1252(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(_CP1252[b] for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(BYTE_RULE, _cp1252)


class _Text:
    """Decompressed bytes → text pieces that end at a line break, under the byte rule; remembers the last
    character (did the file end with a newline?) and how many lines needed the byte rule."""

    def __init__(self, chunks: Iterable[bytes], label: str, *, plain: bool = False) -> None:
        self._blocks = iter(chunks) if plain else ahead(decompressed(chunks, label))
        self.last = ""
        self.recoded_lines = 0

    def _decode(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        lines = data.splitlines(keepends=True)  # \n, \r and \r\n only: csv.reader's line breaks
        out = []
        for line in lines:
            try:
                out.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                self.recoded_lines += 1
                out.append(line.decode("utf-8", errors=BYTE_RULE))
        return "".join(out)

    def _lines(self, data: bytes) -> list[str] | io.StringIO:
        """The lines of a piece (cut after a line break), decoded. ``str.splitlines`` is the fast way, but it
        also breaks at characters csv.reader does not (\\x0b, \\x0c, \\x1c-\\x1e, U+0085, U+2028, U+2029): a piece
        holding one is split by ``io.StringIO(newline="")``, as csv.reader wants."""
        text = self._decode(data)
        self.last = text[-1]
        plain = not any(seq in data for seq in _OTHER_LINE_BREAKS) and (
            data.isascii() or not any(seq in data for seq in _OTHER_LINE_BREAKS_UTF8)
        )
        return text.splitlines(True) if plain and not self.recoded_lines else io.StringIO(text, newline="")

    def pieces(self) -> Iterator[list[str] | io.StringIO]:
        """The file's lines, a piece at a time (each piece ends with a line break, but maybe the last)."""
        rest = b""
        bom_checked = False
        for block in self._blocks:
            data = rest + block if rest else block
            if not bom_checked:
                if len(data) < 3 and b"\xef\xbb\xbf".startswith(data):
                    rest = data  # a BOM may come in pieces
                    continue
                bom_checked = True
                if data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
            cut = data.rfind(b"\n")
            if cut < 0:
                cut = data.rfind(b"\r", 0, len(data) - 1)  # a file with \r line ends (not a \r\n split in two)
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1 :]
            yield self._lines(data[: cut + 1])
        if not bom_checked and rest.startswith(b"\xef\xbb\xbf"):
            rest = rest[3:]
        if rest:
            yield self._lines(rest)

    def lines(self) -> Iterator[str]:
        """Lines as csv.reader wants them (line breaks kept; only \\r, \\n and \\r\\n break a line)."""
        return chain.from_iterable(self.pieces())


_OTHER_LINE_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_OTHER_LINE_BREAKS_UTF8 = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")


# --------------------------------------------------------------------------------------------------
# rows


class _Rows:
    """Counts and shapes the rows of one file into batches: numbering, blank lines, ragged rows, skipping."""

    def __init__(self, layout: FileLayout, skip: int, stats: ReadStats, first_row: int = 1) -> None:
        self.layout = layout
        self.skip = skip
        self.stats = stats
        self.n = first_row - 1  # data rows so far (blank lines not counted)

    def batch(self, rows: list[list[str]]) -> RowBatch | None:
        """The batch of ``rows`` (typed; None when every row is blank or was emitted before).

        Raises :class:`BadValue` for a value that cannot be typed; its ``batch`` holds the rows before it.
        """
        width = self.layout.width
        surplus: dict[int, Sequence[str]] = {}
        if not rows or len(rows[0]) != width or len(set(map(len, rows))) != 1:
            rows, surplus = self._even(rows, width)
            if not rows:
                return None
        first = self.n + 1
        self.n += len(rows)
        batch = RowBatch(self.layout, first, list(zip(*rows, strict=True)), surplus)
        for index in self.layout.typed:  # every row is typed, also those emitted before: a bad file stays bad
            try:
                batch.typed[index] = self.layout.convert(index, batch.columns[index], first)
            except BadValue as exc:
                raise self._first_bad(batch, exc) from None
        return self._unseen(batch)

    def _first_bad(self, batch: RowBatch, exc: BadValue) -> BadValue:
        """The batch's first bad value in any column (``exc`` is one in some column), with the rows before it."""
        good = batch.split(exc.offset)
        for index in self.layout.typed:
            try:
                good.typed[index] = self.layout.convert(index, good.columns[index], batch.first_row)
            except BadValue as earlier:  # another column has a bad value in an earlier row
                return self._first_bad(good, earlier)
        exc.batch = self._unseen(good) if good.count else None
        return exc

    def _unseen(self, batch: RowBatch) -> RowBatch | None:
        """``batch`` without the rows up to ``skip`` (emitted by an earlier attempt)."""
        if batch.last_row <= self.skip:
            return None
        if batch.first_row <= self.skip:
            return batch.drop(self.skip - batch.first_row + 1)
        return batch

    def _even(self, rows: list[list[str]], width: int) -> tuple[list[list[str]], dict[int, Sequence[str]]]:
        """Blank rows dropped, short rows padded, long rows cut (their surplus kept by offset)."""
        even: list[list[str]] = []
        surplus: dict[int, Sequence[str]] = {}
        for row in rows:
            size = len(row)
            if size == width:
                even.append(row)
            elif not size:
                self.stats.blank += 1
            elif size < width:
                self.stats.short += 1
                even.append(row + [""] * (width - size))
            else:
                self.stats.long += 1
                surplus[len(even)] = row[width:]
                even.append(row[:width])
        return even, surplus


@dataclass
class ReadStats:
    """What reading a file (or a chunk of it) met besides its rows: said once per file by :meth:`log`."""

    rows: int = 0  # data rows read, blank lines not counted
    short: int = 0
    long: int = 0
    blank: int = 0
    recoded: int = 0  # lines with bytes that are not UTF-8

    def add(self, other: ReadStats) -> None:
        self.rows += other.rows
        self.short += other.short
        self.long += other.long
        self.blank += other.blank
        self.recoded += other.recoded

    def log(self, log: logging.Logger | logging.LoggerAdapter, label: str, extra_key: str = "extra_columns") -> None:
        if self.recoded:
            log.warning(
                "%s: %d lines held bytes that are not UTF-8; they were read as Windows-1252 (cp1252), rows kept",
                label,
                self.recoded,
            )
        if self.short or self.long:
            log.warning(
                "%s: %d rows had fewer fields than the header (missing values set to null), %d rows had more "
                "fields than the header (surplus values kept in %s as _extra_N), %d blank lines skipped",
                label,
                self.short,
                self.long,
                extra_key,
                self.blank,
            )
        elif self.blank:
            log.info("%s: %d blank lines skipped", label, self.blank)


class Edges:
    """The first and last value of a column across a file's batches (e.g. the action day, to check dates)."""

    def __init__(self, column: str | None) -> None:
        self.column = column
        self.values: list[Any] = []

    def watch(self, batches: Iterable[RowBatch]) -> Iterator[RowBatch]:
        for batch in batches:
            if self.column and self.column in batch.layout.found and batch.count:
                values = batch.values(self.column)
                self.values = [self.values[0] if self.values else values[0], values[-1]]
            yield batch


class Reading:
    """One read of one file: the ``label`` that names it in log lines and errors, the ``logger``, and what the
    read learns besides its rows: the reader's counts (``stats``), the check column's first and last value
    (``edges``)."""

    def __init__(self, label: str, logger: logging.Logger | logging.LoggerAdapter, check_column: str | None = None):
        self.label = label
        self.logger = logger
        self.stats = ReadStats()
        self.edges = Edges(check_column)


#: The longest value the reader takes, in characters: Python's csv module stops at 131,072, where the Arrow lane
#: took any value a chunk holds, so the two disagreed on a long user agent; a bound still, so that a quote left
#: open does not gather the rest of a file.
FIELD_LIMIT = 4 * CHUNK_BYTES


def read_batches(
    chunks: Iterable[bytes],
    spec: ViewSpec,
    *,
    label: str,
    skip: int = 0,
    batch_rows: int = BATCH_ROWS,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
    layout: FileLayout | None = None,
    first_row: int = 1,
    stats: ReadStats | None = None,
    plain: bool = False,
) -> Iterator[RowBatch]:
    """The data rows of a gzip or plain CSV byte stream, in :class:`RowBatch` es, by the rules of this module.

    Rows up to ``skip`` (emitted by an earlier attempt) are left out. Raises :class:`CsvFormatError` for unusable
    content and :class:`TruncatedFileError` for an incomplete or damaged file, both possibly after batches were
    yielded: the caller keeps those and reads again with ``skip``.

    The rest of a file the Arrow lane hands over is read with the file's ``layout`` (it has no header row) and the
    number of its ``first_row``; ``plain`` says its bytes are decompressed already. With ``stats`` the
    caller gets the counts and says them (:meth:`ReadStats.log`); without, they are logged here.
    """
    log = logger or _LOG
    text = _Text(chunks, label, plain=plain)
    held: list[list[str]] = []  # rows read but not yet handed out (the last one may be cut)
    eof_at: list[int] = []  # rows held when csv.reader asked for a line after the last one
    counts = stats if stats is not None else ReadStats()

    def eof_marker() -> Iterator[str]:
        eof_at.append(len(held))
        yield from ()

    if csv.field_size_limit() < FIELD_LIMIT:  # the module's limit is the process's: raised once, never lowered
        csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(chain(text.lines(), eof_marker()))
    rows: _Rows | None = None
    try:
        if layout is None:
            layout = FileLayout.of(next(reader, None), spec, label=label, log=log, cut_in_header=bool(eof_at))
            if layout is None:
                return
        rows = _Rows(layout, skip, counts, first_row)
        while True:
            held.extend(islice(reader, batch_rows + 1 - len(held)))
            problem = None
            if len(held) > batch_rows and not eof_at:  # more rows may follow: keep the last one back
                out, held = held[:-1], held[-1:]
            else:  # the end of the data: its last row may be cut
                out, held = held, []
                problem = _cut_at_end(out, text.last, eof_at)
            yield from _typed(rows, out)
            if problem is not None:
                kind = UnendedLineError if problem == UNENDED else TruncatedFileError
                raise kind(f"{label}: {problem} (after data row {rows.n})")
            if not held:
                break
    except csv.Error as exc:
        raise CsvFormatError(f"{label}: bad CSV near data row {rows.n + 1 if rows else 1}: {exc}") from None
    finally:
        counts.recoded += text.recoded_lines
        if rows is not None:
            counts.rows = rows.n - first_row + 1
    if stats is None:
        counts.log(log, label, spec.extra_key)


UNENDED = "the last line does not end with a newline; the file looks cut"


def _cut_at_end(rows: list[list[str]], last: str, eof_at: list[int]) -> str | None:
    """Why the data's last row looks cut (it is then dropped from ``rows``, never emitted), or None."""
    problem = None
    if rows and last not in "\n\r":  # \r: a file with old Mac line ends, whole
        problem = UNENDED
    elif eof_at and len(rows) > eof_at[0]:
        problem = "the file ends inside a quoted field; it looks cut"
    if problem is not None:
        del rows[-1]
    return problem


def _typed(rows: _Rows, raw: list[list[str]]) -> Iterator[RowBatch]:
    """The batch of ``raw`` rows; a bad value raises :class:`CsvFormatError` after the rows before it."""
    try:
        batch = rows.batch(raw)
    except BadValue as exc:
        if exc.batch is not None:
            yield exc.batch
        raise CsvFormatError(str(exc)) from None
    if batch is not None:
        yield batch


def records(
    batch: RowBatch, order: Sequence[str], constants: dict[str, Any], *, extra_key: str = "extra_columns"
) -> list[dict[str, Any]]:
    """The rows of ``batch`` as dicts with the keys of ``order``: a context field from ``constants``, the
    unknown columns (under ``extra_key``), ``row_number``, or a column of the view (null when the file lacks it)."""
    count = batch.count
    columns: list[Iterable[Any]] = []
    for name in order:
        if name in constants:
            columns.append(repeat(constants[name], count))
        elif name == extra_key:
            columns.append(batch.extra_columns())
        elif name == "row_number":
            columns.append(range(batch.first_row, batch.first_row + count))
        else:
            columns.append(batch.values(name))
    return [dict(zip(order, row, strict=True)) for row in zip(*columns, strict=False)]
