r"""Streaming reader for DVP export files: gzip or plain CSV bytes → typed records, by header name.

The pipeline is incremental, so memory is bounded by the chunk size and never by the file:

    chunks → gunzip (zlib, multi-member) → UTF-8 (BOM stripped) → lines → csv.reader → RowConverter

Rules (see also DEVELOPERS.md, "CSV reader"):

* **Compression**: a stream starting with the gzip magic ``1f 8b`` is gunzipped (members are
  concatenated; zero padding between or after members is ignored). Anything else is plain CSV.
* **Completeness**: a gzip stream that ends before a member's trailer, fails its CRC32/length
  check or is otherwise corrupt raises :class:`TruncatedFileError`. A complete file ends with
  ``\n`` (so ``\r\n`` too). If its last data line does not, or the input ends inside a quoted
  field, the file was cut: :class:`TruncatedFileError` is raised *after* the rows before it were
  yielded (the caller discards them and downloads again). A file that is only a header row, with
  or without a final newline, is an empty export: no records, no error.
* **Header**: a missing or blank header row, or a header with no column of the view, raises
  :class:`CsvFormatError`. Headers are matched in any order, after
  :func:`~tap_dockerdvp.views.normalise_header`, against the view's names and aliases. When two
  headers mean the same column the first wins; the others are kept in ``extra_columns``.
* **Values**: ``""``, ``null``, ``NULL``, ``Null``, ``\N`` and ``\\N`` are null. Integers use
  ``int()`` (``"12.0"`` is accepted; ``"12.5"`` or ``"abc"`` raise :class:`CsvFormatError`).
  ``date-time`` values become RFC 3339 UTC ``YYYY-MM-DDTHH:MM:SS[.f]Z``; ``date`` values
  ``YYYY-MM-DD``.
* **Ragged rows**: a row with more fields than the header keeps the surplus values in
  ``extra_columns`` as ``_extra_1``, ``_extra_2``…; a row with fewer fields gets null for the
  missing ones. Blank lines are skipped. One WARNING per file gives the counts.
* **Unknown columns** are kept as strings (or null) in ``extra_columns``, keyed by the header as
  written (whitespace-stripped; ``_column_<n>`` for a blank header), and logged once per file at
  INFO.

Every record has every canonical column of the view (null when the file lacks it),
``extra_columns`` (``{}`` when there is nothing extra) and ``row_number`` (1-based data row within
the file; blank lines are not counted). The caller adds the context fields (namespace, timespan,
file index).

Log lines and errors name the file by ``label`` only; they never contain URLs.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from tap_dockerdvp.progress import LoggerLike
from tap_dockerdvp.views import ViewSpec, normalise_header

__all__ = [
    "NULL_TOKENS",
    "CsvFormatError",
    "RowConverter",
    "TruncatedFileError",
    "iter_csv_records",
    "parse_date",
    "parse_datetime",
    "parse_integer",
    "parse_number",
]

_LOG = logging.getLogger(__name__)

#: Field values that mean null.
NULL_TOKENS: tuple[str, ...] = ("", "null", "NULL", "Null", "\\N", "\\\\N")
# ``_NULL_MAP.get(v, v)`` is None for a null token and ``v`` otherwise; used through ``map()``
# it keeps the null check of string columns in C.
_NULL_MAP: dict[str, None] = dict.fromkeys(NULL_TOKENS)

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_INPUT_PIECE = 1 << 16  # compressed bytes handed to zlib per call
_TEXT_CHUNK = 1 << 16  # bytes TextIOWrapper asks for at a time
_MEMO_LIMIT = 1 << 16  # distinct typed values remembered per kind and file


class CsvFormatError(ValueError):
    """The file's content is not usable: no header, no known column, not UTF-8, a bad value."""


class TruncatedFileError(OSError):
    """The file is incomplete or damaged (gzip ended early, bad CRC, last line cut): retry it."""


# --------------------------------------------------------------------------------------------------
# values


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(?:([Zz]|UTC|GMT)|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)


def _is_common_datetime(v: str) -> bool:
    """``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS`` by shape (the caller checks digits)."""
    return len(v) == 19 and v[4] == "-" and v[7] == "-" and v[10] in " T" and v[13] == ":" and v[16] == ":"


def parse_datetime(value: str) -> str:
    """A Docker timestamp → RFC 3339 UTC ``YYYY-MM-DDTHH:MM:SSZ``; raise ``ValueError`` if invalid.

    Accepts ``YYYY-MM-DD HH:MM:SS[.ffffff]``, ``T`` instead of the space, a ``Z``/``UTC`` suffix
    or a ``±HH[:MM]`` offset (converted to UTC), and a bare date (midnight). Values without an
    offset are UTC. A fraction of a second is kept as written. The common shape is handled by
    slicing; the others by a regular expression and ``datetime``.
    """
    v = value.strip()
    if _is_common_datetime(v):
        datetime.fromisoformat(v)  # validates digits and ranges (the shape excludes week dates)
        return f"{v[:10]}T{v[11:]}Z"
    m = _DATETIME_RE.fullmatch(v)
    if m is None:
        raise ValueError(f"not a date-time: {value!r}")
    year, month, day, hour, minute, second, frac, _utc, sign, off_h, off_m = m.groups()
    dt = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        dt = dt - offset if sign == "+" else dt + offset
    text = dt.isoformat(timespec="seconds")
    return f"{text}.{frac}Z" if frac else f"{text}Z"


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
    """``int(value)``, also accepting an integral decimal like ``"12.0"``; raise ``ValueError``."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"not an integer: {value!r}") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(f"not an integer: {value!r}")
    return int(d)


def parse_number(value: str) -> float | int:
    """A finite number (an integer stays an ``int``); raise ``ValueError``."""
    try:
        return int(value)
    except ValueError:
        pass
    f = float(value)
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {value!r}")
    return f


_PARSERS: dict[str, Callable[[str], Any]] = {
    "integer": parse_integer,
    "number": parse_number,
    "date": parse_date,
    "date-time": parse_datetime,
}


class _Memo(dict):  # type: ignore[type-arg]
    """``memo[v]`` is ``parse(v)``, remembered; ``None``, null tokens and blank values give None.

    A hit is one C-level dict lookup, and Docker's values repeat a lot (timestamps are
    day-granular, counts are small numbers).
    """

    __slots__ = ("_parse",)

    def __init__(self, parse: Callable[[str], Any]) -> None:
        super().__init__(_MEMO_SEED)
        self._parse = parse

    def __missing__(self, key: str) -> Any:
        value = self._parse(key) if key.strip() else None
        if len(self) >= _MEMO_LIMIT:
            self.clear()
            self.update(_MEMO_SEED)
        self[key] = value
        return value


_MEMO_SEED: dict[str | None, None] = dict.fromkeys((None, *NULL_TOKENS))


# --------------------------------------------------------------------------------------------------
# rows


def _picker(indexes: Sequence[int]) -> Callable[[Sequence[str]], Sequence[str]]:
    """A function returning the fields at ``indexes`` as a tuple (C-level for 2+ indexes)."""
    if len(indexes) == 1:
        only = indexes[0]
        return lambda row: (row[only],)
    return itemgetter(*indexes)


class RowConverter:
    """Turns the data rows of one file into records, for that file's header row and a view.

    Everything that depends on the header is worked out once here, so :meth:`convert` makes a
    handful of C-level calls per row: pick the known fields, map null tokens to None, zip them into
    a dict, then convert the (few) typed columns.

    ``convert(row, row_number)`` expects exactly :attr:`width` fields; :meth:`convert_ragged`
    takes any other count. Both raise :class:`CsvFormatError` for a bad value.
    """

    def __init__(self, header: Sequence[str], spec: ViewSpec, *, label: str = "csv") -> None:
        self.spec = spec
        self.label = label
        self.width = len(header)
        spellings = spec.header_map()
        found: dict[str, int] = {}
        known_idx: list[int] = []
        names: list[str] = []
        extra_idx: list[int] = []
        extra_keys: list[str] = []
        #: headers (as written) of columns the view does not know, kept in ``extra_columns``
        self.unknown_headers: list[str] = []
        #: headers (as written) that repeat a column already found; kept in ``extra_columns``
        self.duplicate_headers: list[str] = []
        for i, raw in enumerate(header):
            col = spellings.get(normalise_header(raw))
            if col is not None and col.name not in found:
                found[col.name] = i
                known_idx.append(i)
                names.append(col.name)
                continue
            key = raw.replace("\ufeff", "").strip() or f"_column_{i + 1}"
            base, n = key, 1
            while key in extra_keys:
                n += 1
                key = f"{base}_{n}"
            extra_idx.append(i)
            extra_keys.append(key)
            (self.unknown_headers if col is None else self.duplicate_headers).append(key)
        if not known_idx and spec.match_required:
            shown = [h[:60] for h in header[:40]]
            raise CsvFormatError(
                f"{label}: no column of the header matches the {spec.view!r} view; headers found: {shown!r}"
            )
        #: canonical column name → its field index in the file
        self.found = found
        #: canonical columns the file does not have (always null)
        self.missing: tuple[str, ...] = tuple(c.name for c in spec.columns if c.name not in found)
        self.extra_keys: tuple[str, ...] = tuple(extra_keys)
        kinds = {c.name: c.kind for c in spec.columns}
        #: (field index, name, kind) of the known non-string columns
        self._typed: tuple[tuple[int, str, str], ...] = tuple(
            (i, name, kinds[name]) for i, name in zip(known_idx, names, strict=True) if kinds[name] != "string"
        )
        self.convert: Callable[[Sequence[str], int], dict[str, Any]] = self._build(tuple(names), known_idx, extra_idx)

    def _build(
        self, names: tuple[str, ...], known_idx: list[int], extra_idx: list[int]
    ) -> Callable[[Sequence[str], int], dict[str, Any]]:
        to_none = _NULL_MAP.get
        identity = known_idx == list(range(self.width))
        pick = _picker(known_idx) if known_idx else (lambda row: ())
        memos = {kind: _Memo(parse) for kind, parse in _PARSERS.items()}
        # (name, converter) of the typed columns; a converter maps None to None.
        typed = tuple((name, memos[kind].__getitem__) for _, name, kind in self._typed)
        pick_extra = _picker(extra_idx) if extra_idx else None
        extra_keys = self.extra_keys
        missing = dict.fromkeys(self.missing)
        bad_value = self._raise_bad_value

        def convert(row: Sequence[str], row_number: int) -> dict[str, Any]:
            vals = row if identity else pick(row)
            # All lengths match here (convert_ragged pads or cuts rows first).
            rec: dict[str, Any] = dict(zip(names, map(to_none, vals, vals), strict=False))
            try:
                for name, conv in typed:
                    rec[name] = conv(rec[name])
            except (ValueError, TypeError, ArithmeticError):
                bad_value(row, row_number)
            if missing:
                rec.update(missing)
            if pick_extra is None:
                rec["extra_columns"] = {}
            else:
                ev = pick_extra(row)
                rec["extra_columns"] = dict(zip(extra_keys, map(to_none, ev, ev), strict=False))
            rec["row_number"] = row_number
            return rec

        return convert

    def _raise_bad_value(self, row: Sequence[str], row_number: int) -> None:
        """Raise :class:`CsvFormatError` naming the first typed field of ``row`` that is invalid."""
        for i, name, kind in self._typed:
            v = row[i]
            if v in _NULL_MAP or not v.strip():
                continue
            try:
                _PARSERS[kind](v)
            except (ValueError, TypeError, ArithmeticError):
                shown = v if len(v) <= 40 else v[:40] + "..."
                raise CsvFormatError(
                    f"{self.label}: data row {row_number}, column {name!r}: {shown!r} is not a valid {kind}"
                ) from None
        raise CsvFormatError(f"{self.label}: data row {row_number}: a value could not be converted")

    def convert_ragged(self, row: Sequence[str], row_number: int) -> dict[str, Any]:
        """Convert a row whose field count differs from the header's (see the module rules)."""
        width = self.width
        if len(row) <= width:
            return self.convert([*row, *[""] * (width - len(row))], row_number)
        rec = self.convert(row[:width], row_number)
        extras = rec["extra_columns"]
        for k, v in enumerate(row[width:], 1):
            extras[f"_extra_{k}"] = _NULL_MAP.get(v, v)
        return rec


# --------------------------------------------------------------------------------------------------
# bytes


class _ByteSource(io.BufferedIOBase):
    """The decompressed bytes of a chunk iterator, for ``io.TextIOWrapper`` (which calls ``read1``).

    Holds at most one input chunk plus one zlib output block. Remembers the last byte it returned
    so the reader can tell whether the file ends with a newline.
    """

    def __init__(self, chunks: Iterable[bytes], label: str) -> None:
        super().__init__()
        self._label = label
        self._chunks = iter(chunks)
        self._view = memoryview(b"")
        self._pos = 0
        self._gzip: bool | None = None  # None until the first bytes are seen
        self._zlib: Any = None  # the current member's decompressor; None between members
        self.last_byte = b""
        # Appended to when the data ends without a final newline. The text layer must reach the end before it
        # can hand out an unterminated last line, so this is set before csv.reader returns that (cut) row.
        self.cut: list[bool] = []
        self.gzip_members = 0

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._view = memoryview(bytes(chunk))
                self._pos = 0
                return True
        return False

    def _take(self, n: int) -> memoryview:
        """Up to ``n`` input bytes of the current chunk (fetching the next); empty at the end."""
        while self._pos >= len(self._view):
            if not self._next_chunk():
                return memoryview(b"")
        start = self._pos
        self._pos = min(start + n, len(self._view))
        return self._view[start : self._pos]

    def _detect(self) -> None:
        head = b""
        for chunk in self._chunks:
            head += bytes(chunk)
            if len(head) >= len(GZIP_MAGIC):
                break
        self._view = memoryview(head)
        self._pos = 0
        self._gzip = head.startswith(GZIP_MAGIC)

    def _begin_member(self) -> bool:
        """Start the next gzip member; False at the clean end of input (zero padding skipped)."""
        while True:
            data = self._take(_GZIP_INPUT_PIECE)
            if not data:
                return False
            skip = len(data) - len(bytes(data).lstrip(b"\x00"))
            if skip < len(data):
                self._pos -= len(data) - skip  # give back everything after the padding
                self._zlib = zlib.decompressobj(wbits=31)
                self.gzip_members += 1
                return True

    def _read_gzip(self, size: int) -> bytes:
        while True:
            d = self._zlib
            if d is None:
                if not self._begin_member():
                    return b""
                d = self._zlib
            # With the input used up, decompress(b"") still returns output zlib holds back.
            data = d.unconsumed_tail or self._take(_GZIP_INPUT_PIECE)
            try:
                out = d.decompress(data, size)
            except zlib.error as exc:
                raise TruncatedFileError(f"{self._label}: corrupt or truncated gzip data ({exc})") from None
            if d.eof:
                # The bytes after this member are the tail of the piece just handed to zlib,
                # which is still in the current chunk: step back over them.
                self._pos -= len(d.unused_data)
                self._zlib = None
            if out:
                return out
            if not data and not d.eof:
                raise TruncatedFileError(
                    f"{self._label}: the gzip data ends before the end of its last member; the file looks cut"
                )

    def read1(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = _TEXT_CHUNK
        if size == 0:
            return b""
        if self._gzip is None:
            self._detect()
        out = self._read_gzip(size) if self._gzip else bytes(self._take(size))
        if out:
            self.last_byte = out[-1:]
        elif self.last_byte not in (b"", b"\n") and not self.cut:
            self.cut.append(True)
        return out

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self.read1(size)
        parts = []
        while block := self.read1(_TEXT_CHUNK):
            parts.append(block)
        return b"".join(parts)


def _eof_marker(flag: list[bool]) -> Iterator[str]:
    """Yields nothing; records that csv.reader asked for a line after the last one."""
    flag.append(True)
    yield from ()


# --------------------------------------------------------------------------------------------------
# records


def header_converter(
    header: list[str] | None, spec: ViewSpec, *, label: str, log: LoggerLike, cut_in_header: bool
) -> RowConverter | None:
    """The `RowConverter` for a file's header row, under the rules every reader shares; None for an empty file.

    Rules: a file with no bytes at all is an empty export (Docker may send one for a quiet view) and is logged;
    a blank header, an HTML/JSON error page, or a header cut inside quotes is an error.
    """
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
    conv = RowConverter(header, spec, label=label)
    if conv.unknown_headers:
        log.info("%s: keeping unknown columns %s in extra_columns", label, conv.unknown_headers)
    if conv.duplicate_headers:
        log.info(
            "%s: columns %s repeat a column already found; the first is used, these are kept in extra_columns",
            label,
            conv.duplicate_headers,
        )
    if conv.missing:
        log.debug("%s: columns not in the file (null): %s", label, list(conv.missing))
    return conv


def iter_csv_records(
    chunks: Iterable[bytes],
    spec: ViewSpec,
    *,
    label: str,
    logger: LoggerLike | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield one record per data row of a gzip or plain CSV byte stream (see the module docstring).

    Raises :class:`CsvFormatError` for unusable content and :class:`TruncatedFileError` for an
    incomplete or damaged file. Both can come after records were yielded: the caller must be able
    to discard a file's records on error (or accept them and retry the whole file).
    """
    log = logger or _LOG
    source = _ByteSource(chunks, label)
    text = io.TextIOWrapper(
        source,
        encoding="utf-8-sig",
        errors="strict",
        newline="",  # type: ignore[type-var]
    )
    text._CHUNK_SIZE = _TEXT_CHUNK  # type: ignore[attr-defined]
    at_eof: list[bool] = []
    reader = csv.reader(itertools.chain(text, _eof_marker(at_eof)))

    n = 0  # data rows yielded
    short = long = blank = 0
    try:
        conv = header_converter(next(reader, None), spec, label=label, log=log, cut_in_header=bool(at_eof))
        if conv is None:
            return
        convert = conv.convert
        width = conv.width
        cut = source.cut
        for row in reader:
            if cut:
                # Never emit the unterminated last line: it is most likely a row cut short.
                raise TruncatedFileError(
                    f"{label}: the last line does not end with a newline; the file looks cut (after data row {n})"
                )
            if at_eof:
                # csv.reader completes a row after the end of input only inside a quoted field.
                raise TruncatedFileError(
                    f"{label}: the file ends inside a quoted field after data row {n}; it looks cut"
                )
            if len(row) != width:
                if not row:
                    blank += 1
                    continue
                if len(row) < width:
                    short += 1
                else:
                    long += 1
                n += 1
                yield conv.convert_ragged(row, n)
                continue
            n += 1
            yield convert(row, n)
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"{label}: the file is not valid UTF-8 (near data row {n + 1}, approximate): "
            f"{exc.reason} at byte 0x{exc.object[exc.start]:02x}"
        ) from None
    except csv.Error as exc:
        raise CsvFormatError(f"{label}: bad CSV near data row {n + 1}: {exc}") from None

    if (n or blank) and source.last_byte != b"\n":
        raise TruncatedFileError(
            f"{label}: the last line does not end with a newline; the file looks cut (after data row {n})"
        )
    if short or long:
        log.warning(
            "%s: %d rows had fewer fields than the header (missing values set to null), %d rows "
            "had more fields than the header (surplus values kept in extra_columns as _extra_N), "
            "%d blank lines skipped",
            label,
            short,
            long,
            blank,
        )
    elif blank:
        log.info("%s: %d blank lines skipped", label, blank)
    log.debug("%s: %d rows read", label, n)
