"""BATCH files: rows written straight into batch files as `batch_config` says, on any fsspec storage.

``batch_config`` is the SDK's: ``encoding.format`` (``jsonl`` or ``parquet``), ``encoding.compression`` (jsonl:
``gzip`` or none; parquet: its codec, snappy by default), ``batch_size`` (rows per file at most) and
``storage`` (``root`` an fsspec URL such as ``file:///data/batches`` or ``s3://bucket/prefix``, ``prefix`` of the
file names, ``params`` for the filesystem: endpoint, credentials, region). A file never spans two source files,
so a batch's rows share one schema. Files are written as the rows come (gzip at a fast level, parquet row groups
of up to 64k rows): memory does not grow with the file. The manifest (the file's URL) is handed out only once
the file is complete; a file abandoned half-way (a download to read again) is deleted.
"""

from __future__ import annotations

import typing as t
import uuid

from tap_dockerdvp.errors import ConfigError

try:  # ISA-L compresses gzip about four times faster than zlib at its fast levels
    from isal import isal_zlib as _zlib

    _FAST_LEVEL = 1
except ImportError:  # pragma: no cover - a platform without an isal wheel
    import zlib as _zlib  # type: ignore[no-redef]

    _FAST_LEVEL = 1

if t.TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("jsonl", "parquet")
PARQUET_ROW_GROUP = 1 << 16
PARQUET_EXTRA = "tap-dockerdvp[parquet]"


def require_pyarrow() -> None:
    """Parquet needs pyarrow, an optional extra: say so in one line."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ConfigError(
            "setting `batch_config.encoding.format` is parquet, which needs pyarrow: install the extra "
            f"`pip install '{PARQUET_EXTRA}'` (in Meltano: pip_url: {PARQUET_EXTRA})"
        ) from None


def storage_root(batch_config: t.Any) -> t.Any:
    """The ``UPath`` of ``batch_config.storage.root`` with its ``params`` (a local root made absolute)."""
    from upath import UPath

    storage = batch_config.storage
    root = UPath(storage.root, **(storage.params or {}))
    return root.resolve() if root.protocol in ("", "file", "local") else root


class BatchFiles:
    """The batch files of one stream sync. Rows go in with :meth:`add_text` (jsonl) or :meth:`add_table`
    (parquet), at most :attr:`room` rows at a time; each returns the URLs of the files it completed."""

    def __init__(self, batch_config: t.Any, *, tap_name: str, stream_name: str) -> None:
        encoding = batch_config.encoding
        self.format = str(encoding.format)
        if self.format not in FORMATS:
            raise ConfigError(
                f"setting `batch_config.encoding.format` is {self.format!r}: this tap writes {' or '.join(FORMATS)}"
            )
        if self.format == "parquet":
            require_pyarrow()
        self.compression = (encoding.compression or "").lower() or None
        self.batch_size = max(1, int(batch_config.batch_size))
        self.root = storage_root(batch_config)
        self.prefix = batch_config.storage.prefix or ""
        self.sync_id = f"{tap_name}--{stream_name}-{uuid.uuid4()}"
        self.files = 0
        self.rows = 0  # rows in the open file
        self.source_rows = 0  # rows of the current source file in completed batch files
        self._path: t.Any = None
        self._handle: t.Any = None
        self._gzip: t.Any = None
        self._parquet: t.Any = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    @property
    def room(self) -> int:
        """Rows the open file (or the next one) still takes."""
        return self.batch_size - self.rows

    # -- writing ------------------------------------------------------------------------------------
    def _open(self) -> None:
        self.files += 1
        suffix = {"jsonl": ".jsonl.gz" if self.compression == "gzip" else ".jsonl", "parquet": ".parquet"}
        self._path = self.root / f"{self.prefix}{self.sync_id}-{self.files}{suffix[self.format]}"
        if self.root.protocol in ("", "file", "local"):
            self.root.mkdir(parents=True, exist_ok=True)
        self._handle = self._path.open("wb")
        if self.format == "jsonl" and self.compression == "gzip":
            self._gzip = _zlib.compressobj(_FAST_LEVEL, _zlib.DEFLATED, 31)

    def add_text(self, text: str, rows: int) -> list[str]:
        """Append ``rows`` JSON lines (jsonl); the URLs of the files this completed."""
        if self._handle is None:
            self._open()
        data = text.encode()
        self._handle.write(self._gzip.compress(data) if self._gzip is not None else data)
        return self._added(rows)

    def add_table(self, table: pa.Table) -> list[str]:
        """Append an Arrow table's rows (parquet); the URLs of the files this completed. Rows of another
        schema (other unknown columns) start a new file."""
        done: list[str] = []
        schema = self._pending[0].schema if self._pending else None
        if schema is None and self._parquet is not None:
            schema = self._parquet.schema
        if schema is not None and table.schema != schema:
            done += self._added(0, close=True)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= PARQUET_ROW_GROUP:
            self._flush_table()
        return done + self._added(table.num_rows)

    def _flush_table(self) -> None:
        if not self._pending:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_rows = [], 0
        if self._parquet is None:
            if self._handle is None:
                self._open()
            codec = self.compression if self.compression not in (None, "none") else "snappy"
            self._parquet = pq.ParquetWriter(self._handle, table.schema, compression=codec)
        self._parquet.write_table(table, row_group_size=PARQUET_ROW_GROUP)

    def _added(self, rows: int, *, close: bool = False) -> list[str]:
        self.rows += rows
        if not (close or self.rows >= self.batch_size):
            return []
        written = self.rows
        url = self.close()
        self.source_rows += written
        return [url] if url else []

    def rollback(self) -> int:
        """Discard the open file (its rows will be read again); the source file's rows already in batch files."""
        self.discard()
        return self.source_rows

    def source_done(self) -> None:
        """The next rows come from another source file."""
        self.source_rows = 0

    def close(self) -> str | None:
        """Finish the open file; its URL, or None when no row was written."""
        if self.format == "parquet":
            self._flush_table()
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
        if self._handle is None:
            return None
        if self._gzip is not None:
            self._handle.write(self._gzip.flush())
            self._gzip = None
        self._handle.close()
        self._handle = None
        self.rows = 0
        return str(self._path.as_uri())

    def discard(self) -> None:
        """Abandon the open file (its rows will be read again) and delete what was written of it."""
        self._pending, self._pending_rows = [], 0
        self._parquet = None
        self._gzip = None
        if self._handle is not None:
            try:
                self._handle.close()
            finally:
                self._handle = None
                self.rows = 0
                if self._path.exists():
                    self._path.unlink()
