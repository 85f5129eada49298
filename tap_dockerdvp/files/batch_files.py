"""BATCH files: rows written straight into batch files as `batch_config` says, on any fsspec storage.

``batch_config`` is the SDK's: ``encoding.format`` (``jsonl`` or ``parquet``), ``encoding.compression`` (jsonl:
``gzip`` or none; parquet: its codec, snappy by default), ``batch_size`` (rows per file at most) and
``storage`` (``root`` an fsspec URL such as ``file:///data/batches`` or ``s3://bucket/prefix``, ``prefix`` of the
file names, ``params`` for the filesystem: endpoint, credentials, region). S3 needs s3fs, the ``s3`` extra; any other
fsspec filesystem its own package. :func:`check_storage` writes and deletes a probe file before a run reads any
data, so a missing bucket, refused credentials or an endpoint that does not answer end the run at once, in one line
naming the setting. A file never spans two source files, so a batch's rows share one schema. Files are written
as the rows come (gzip at a fast level, parquet row groups of at most 8,192 rows through a 1 MiB buffer): memory
does not grow with the file. The manifest (the file's URL) is handed out only once the file is complete; a file
abandoned half-way (a download to read again) is deleted.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import sys
import typing as t
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from tap_dockerdvp.errors import ConfigError, StorageError
from tap_dockerdvp.files.compression import gzip_member
from tap_dockerdvp.files.encoders import Piece, cut, dumps

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

    from tap_dockerdvp.files.arrow.lane import TablePart

FORMATS = ("jsonl", "parquet")
#: Rows per parquet row group at most: the writer holds them about twice (rows coming in, rows being written),
#: which sets parquet's peak memory. 8,192 wide rows (about 5 MiB) keep the tap's peak RSS under 150 MiB, no slower
#: than 16,384 (measured), and the file a few percent larger. A batch file's rows are split evenly
#: (:func:`row_group_rows`).
PARQUET_ROW_GROUP = 1 << 13
PARQUET_EXTRA = "tap-dockerdvp[arrow]"
# fsspec protocols whose filesystem package one of the tap's extras installs
PROTOCOL_EXTRAS = {"s3": "tap-dockerdvp[s3]", "s3a": "tap-dockerdvp[s3]"}
LOCAL_PROTOCOLS = ("", "file", "local")
ROOT_SETTING = "batch_config.storage.root"
PARAMS_SETTING = "batch_config.storage.params"
# keys of `storage.params` (at any depth) whose values are credentials: kept out of logs and errors
_SECRET_KEY = re.compile(r"(?i)secret|token|password|passwd|key|credential|sas|connection_string|signature")
_PUBLIC_KEY = re.compile(r"(?i)^(endpoint_url|endpoint|region_name|region|client_kwargs|config_kwargs)$")


def row_group_rows(batch_size: int) -> int:
    """Rows per row group of a full batch file: its rows split evenly in as few groups as ``PARQUET_ROW_GROUP``
    allows (the SDK's default 10,000: two of 5,000). A small last group (8,192 + 1,808) was ready moments after the
    big one went to the writer thread, so the reading stopped until that was written, at every file. Measured:
    0.08 to 0.15 s less of 2.4 to 2.9 s for 1M rows in 1 to 50 source files, the same memory."""
    groups = -(-batch_size // PARQUET_ROW_GROUP)
    return -(-batch_size // groups)


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


def check_format(batch_config: t.Any) -> str:
    """``batch_config.encoding.format``, checked: one this tap writes, with its package installed."""
    found = str(batch_config.encoding.format)
    if found not in FORMATS:
        raise ConfigError(
            f"setting `batch_config.encoding.format` is {found!r}: this tap writes {' or '.join(FORMATS)}"
        )
    if found == "parquet":
        require_pyarrow()
    return found


def require_filesystem(root: str) -> str:
    """The protocol of ``root``, whose fsspec filesystem must be importable: a missing one is one line."""
    import fsspec
    from fsspec.utils import get_protocol

    protocol = get_protocol(root)
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        extra = PROTOCOL_EXTRAS.get(protocol)
        hint = f"install the extra `pip install '{extra}'` (in Meltano: pip_url: {extra})" if extra else str(exc)
        raise ConfigError(f"setting `{ROOT_SETTING}` is a {protocol}:// URL, which needs a package: {hint}") from None
    except ValueError:
        raise ConfigError(
            f"setting `{ROOT_SETTING}` is {_shown(root)!r}, of a protocol fsspec does not know ({protocol!r}): use a "
            "path, file://..., s3://bucket/prefix or another fsspec URL"
        ) from None
    return protocol


def storage_root(batch_config: t.Any) -> t.Any:
    """The ``UPath`` of ``batch_config.storage.root`` with its ``params`` (a local root made absolute, ``~`` the
    home folder: taken as it is, `~/batches` made a folder named `~` in the working folder)."""
    from upath import UPath

    storage = batch_config.storage
    require_filesystem(str(storage.root))
    root = UPath(storage.root, **(storage.params or {}))
    return root.expanduser().resolve() if root.protocol in LOCAL_PROTOCOLS else root


def storage_secrets(params: t.Any) -> list[str]:
    """The credentials in ``storage.params`` (values of keys named like a secret), for the log redactor."""
    found: list[str] = []
    if isinstance(params, dict):
        for key, value in params.items():
            if isinstance(value, (dict, list)):
                found += storage_secrets(value)
            elif isinstance(value, str) and _SECRET_KEY.search(str(key)) and not _PUBLIC_KEY.match(str(key)):
                found.append(value)
    elif isinstance(params, list):
        for item in params:
            found += storage_secrets(item)
    return found


def check_storage(batch_config: t.Any, logger: logging.Logger) -> None:
    """Before a run reads any data: the format is one this tap writes, and a probe file can be written under
    ``root``/``prefix`` and deleted again. Each way this fails is a ``ConfigError`` naming the setting to fix."""
    check_format(batch_config)
    root = storage_root(batch_config)
    probe = root / f"{batch_config.storage.prefix or ''}tap-dockerdvp-probe-{uuid.uuid4().hex}.tmp"
    try:
        if root.protocol in LOCAL_PROTOCOLS:
            probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
    except Exception as exc:
        logger.debug("The BATCH storage probe failed", exc_info=True)
        raise ConfigError(storage_problem(exc, batch_config)) from None
    try:
        probe.unlink()
    except Exception as exc:  # written but not deleted: the run can go on, the file is left behind
        logger.warning(
            "BATCH storage: the probe file %s was written but cannot be deleted (%s): delete it by hand",
            probe.as_uri(),
            _scrub(_reason(exc), batch_config),
        )


def storage_problem(exc: BaseException, batch_config: t.Any) -> str:
    """The one line that says why ``exc`` stopped a write to the BATCH storage, naming the setting to fix."""
    storage = batch_config.storage
    root = _shown(str(storage.root))
    reason = _reason(exc)
    if isinstance(exc, ImportError):
        line = f"setting `{ROOT_SETTING}` ({root}) needs a package that is not installed ({reason})"
    elif _unreachable(exc):
        line = (
            f"setting `{PARAMS_SETTING}`: the storage of {root} cannot be reached at "
            f"{_endpoint(storage.params)} ({reason})"
        )
    elif any("Credentials" in kind.__name__ for kind in type(exc).__mro__):  # botocore: none found, or half a pair
        line = f"setting `{PARAMS_SETTING}`: the credentials for {root} are missing or incomplete ({reason})"
    elif isinstance(exc, PermissionError) and _protocol(str(storage.root)) not in LOCAL_PROTOCOLS:
        line = (
            f"setting `{PARAMS_SETTING}`: the storage refused to write under {root} with the credentials given "
            f"(or found in the environment) ({reason})"
        )
    elif isinstance(exc, FileNotFoundError):
        line = f"setting `{ROOT_SETTING}`: the bucket or folder of {root} does not exist ({reason})"
    else:
        line = f"setting `{ROOT_SETTING}`: a file cannot be written under {root} ({reason})"
    return _scrub(line, batch_config)


def _reason(exc: BaseException) -> str:
    """The storage's error code and message (``NoSuchBucket: The specified bucket does not exist``), one line."""
    cause = exc.__cause__ or exc.__context__
    error = getattr(cause, "response", None) or getattr(exc, "response", None)
    code = error.get("Error", {}).get("Code") if isinstance(error, dict) else None
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    text = " ".join(text.split())[:300]
    return f"{code}: {text}" if code and code not in text else text


def _unreachable(exc: BaseException) -> bool:
    """A connection that could not be made (refused, unknown host, timed out), in any library's words."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, (ConnectionError, TimeoutError, socket.gaierror)):
            return True
        if any(re.search(r"Connect(ion)?(or)?(Error|Timeout)", kind.__name__) for kind in type(seen).__mro__):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _endpoint(params: t.Any) -> str:
    params = params if isinstance(params, dict) else {}
    client = params.get("client_kwargs") if isinstance(params.get("client_kwargs"), dict) else {}
    url = params.get("endpoint_url") or client.get("endpoint_url")
    return _shown(str(url)) if url else "the provider's default endpoint"


def _protocol(root: str) -> str:
    from fsspec.utils import get_protocol

    return get_protocol(root)


def _shown(url: str) -> str:
    """A URL without user information or query (where credentials could sit)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url.split("?", 1)[0]
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}{parts.path}"


def _scrub(text: str, batch_config: t.Any) -> str:
    for secret in sorted(storage_secrets(batch_config.storage.params or {}), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    return text


@dataclass(frozen=True)
class BatchShape:
    """What a stream's batch rows hold: its ``selected`` properties, then what its stream maps and flattening
    (``mapper``, None when none apply) make of them: rows of ``keys``, typed by ``schema``."""

    selected: tuple[str, ...]
    mapper: t.Any
    schema: t.Mapping[str, t.Any]
    keys: tuple[str, ...]

    def rows(self, records: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
        """Records as batch rows (a map may drop a record)."""
        rows = [{key: record.get(key) for key in self.selected} for record in records]
        if self.mapper is None:
            return rows
        mapped = (self.mapper.transform(row) for row in rows)
        return [{key: row.get(key) for key in self.keys} for row in mapped if row is not None]


def column_options(table: pa.Table) -> dict[str, list[str]]:
    """The parquet writer's dictionary encoding and statistics per column, chosen from a file's first rows: no
    dictionary for a column of mostly distinct values (row numbers, timestamps, hashes: the dictionary is as large
    as the data, and building it is most of the writer's work); min/max statistics for numbers, dates and times
    only. A batch file is read whole, once, by the loader: the range of a text column prunes nothing there, and
    comparing every value cost 15% of the writer's time (measured on Docker-wide rows; files the same size).
    Tables with deeper nesting keep the writer's defaults."""
    import pyarrow as pa
    import pyarrow.compute as pc

    flat = table.flatten()  # a struct's fields by their dotted paths, as the writer names columns
    if any(pa.types.is_nested(column.type) for column in flat.columns):
        return {}  # lists, structs in structs: the writer's defaults
    dictionary, statistics = [], []
    for name, column in zip(flat.column_names, flat.columns, strict=True):
        if len(pc.unique(column)) <= len(column) // 2:
            dictionary.append(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            statistics.append(name)
    return {"use_dictionary": dictionary, "write_statistics": statistics}


_WRITER: list[ThreadPoolExecutor] = []


#: Bytes of a parquet file gathered in Arrow's memory before they go to the storage's file object in one write.
#: Unbuffered, the writer thread took the interpreter's lock for every page header and page it wrote (thousands
#: a run), and the parser waited for it: 0.15 to 0.18 CPU s and 0.07 s less for 1M rows (measured).
PARQUET_BUFFER = 1 << 20


class _StorageFile:
    """The storage's file object behind a parquet file's buffer. What it raises is kept, and raised by the writer
    thread's task (:meth:`check`), not inside Arrow: Arrow would print it again, traceback and all, when it lets
    the buffer go. Bytes after an error go nowhere: the file is not handed out."""

    def __init__(self, handle: t.Any) -> None:
        self.handle, self.closed = handle, False
        self.error: Exception | None = None

    def write(self, data: t.Any) -> int:
        if self.error is None:
            try:
                self.handle.write(data)
            except Exception as exc:
                self.error = exc
        return len(data)

    def close(self) -> None:
        # at the interpreter's exit s3fs's event loop is gone, and an upload would wait for it for ever
        if not self.closed and not sys.is_finalizing():
            self.closed = True
            try:
                self.handle.close()  # where an object store uploads
            except Exception as exc:
                self.error = self.error or exc

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def _write(parquet: t.Any, table: pa.Table, rows: int, storage: _StorageFile) -> None:
    """A row group written (in the writer thread)."""
    parquet.write_table(table, row_group_size=rows)
    storage.check()


def _close(parquet: t.Any, sink: t.Any, storage: _StorageFile) -> None:
    """A parquet file's footer written, its last bytes flushed and its file closed (in the writer thread)."""
    parquet.close()
    sink.close()  # closes the storage's file object too
    storage.check()


def _writer() -> ThreadPoolExecutor:
    """The thread that writes parquet row groups, one for the run: every batch file of every stream takes turns."""
    if not _WRITER:
        _WRITER.append(ThreadPoolExecutor(1, thread_name_prefix="tap-dockerdvp-parquet"))
    return _WRITER[0]


class BatchFiles:
    """The batch files of one stream sync. Rows go in with :meth:`add` (what the file engine makes), :meth:`add_rows`
    (records) or :meth:`add_table` (parquet), at most :attr:`room` rows at a time; each returns the URLs of the files
    it completed."""

    def __init__(self, batch_config: t.Any, *, tap_name: str, stream_name: str) -> None:
        encoding = batch_config.encoding
        self.batch_config = batch_config
        self.format = check_format(batch_config)
        self.compression = (encoding.compression or "").lower() or None
        self.batch_size = max(1, int(batch_config.batch_size))
        self.row_group = row_group_rows(self.batch_size)
        self.root = storage_root(batch_config)
        self.prefix = batch_config.storage.prefix or ""
        self.sync_id = f"{tap_name}--{stream_name}-{uuid.uuid4()}"
        self.files = 0
        self.rows = 0  # rows in the open file
        self.source_rows = 0  # rows of the current source file in completed batch files
        self._path: t.Any = None  # the open file as it is written (a hidden name in a local folder)
        self._final: t.Any = None  # the open file's name once written: what a BATCH message announces
        self._handle: t.Any = None
        self._parquet: t.Any = None
        self._sink: t.Any = None  # the open parquet file's buffer in front of ``_handle``
        self._storage: t.Any = None  # ``_handle`` as the buffer writes to it
        self._pending: list[pa.Table] = []
        self._schema: pa.Schema | None = None  # the open parquet file's
        self._pending_rows = 0
        self._writes: deque[Future[None]] = deque()  # the writer thread's tasks not yet seen done
        # the files handed out once written: (their writing, the path written, the name they are handed out by)
        self._finishing: deque[tuple[Future[None], t.Any, t.Any]] = deque()
        self._options: dict[pa.Schema, dict[str, list[str]]] = {}  # column options by schema, chosen once

    def __enter__(self) -> BatchFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        """A sync that failed (or was stopped) abandons its open file, so nothing is left waiting to be written when
        the process ends, and deletes the files it finished but did not hand out: their rows are read again by the
        next run."""
        if kind is not None:
            with contextlib.suppress(Exception):
                self.discard()
            # files written but not handed out: their rows are read again by the next run, and a reader of the
            # whole folder (an external table) would count them twice
            while self._finishing:
                done, path, _final = self._finishing.popleft()
                with contextlib.suppress(Exception):
                    done.result()
                with contextlib.suppress(Exception):
                    path.unlink()

    @property
    def room(self) -> int:
        """Rows the open file (or the next one) still takes."""
        return self.batch_size - self.rows

    # -- writing ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """What the storage raises while files are written (a full disk, an upload refused), as one line naming
        the setting, without a secret."""
        try:
            yield
        except OSError as exc:
            raise StorageError(storage_problem(exc, self.batch_config)) from exc

    def _open(self) -> None:
        self.files += 1
        suffix = {"jsonl": ".jsonl.gz" if self.compression == "gzip" else ".jsonl", "parquet": ".parquet"}
        name = f"{self.prefix}{self.sync_id}-{self.files}{suffix[self.format]}"
        self._final = self.root / name
        # In a local folder a file is written under a hidden name and renamed once complete: a process killed
        # mid-file (SIGKILL, out of memory) left it under its final name, never announced, and a reader of the
        # whole folder counted its rows twice once the next run read them again. An object store shows an
        # upload only once it is complete.
        self._path = self.root / f".{name}.part" if self.root.protocol in LOCAL_PROTOCOLS else self._final
        with self._writing():
            if self.files == 1 and self.root.protocol in LOCAL_PROTOCOLS:  # every file of a sync is in one folder
                self._path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self._path.open("wb")

    def add(self, part: Piece | TablePart) -> list[str]:
        """Rows as the file engine made them: encoded JSON lines (jsonl; with gzip, one member a piece: a gzip file
        is members end to end) or a table part (parquet, cut at the files' boundaries); the URLs of the files this
        completed."""
        if isinstance(part, Piece):
            if not part.data:  # rows a stream map dropped, all of them: counted, no file opened for them
                return self._added(part.count)
            if self._handle is None:
                self._open()
            # compressed here, in the thread that reads: a thread of its own for it made the tap no faster
            # (its cores were busy already) and took 0.2 CPU s more for 1M rows (docs/performance.md)
            data = gzip_member(part.data) if self.compression == "gzip" else part.data
            with self._writing():
                self._handle.write(data)
            return self._added(part.count)
        done: list[str] = []
        for piece in cut(part, self.batch_size):
            done += self.add_table(piece.table)
        return done

    def add_rows(
        self,
        rows: t.Sequence[t.Mapping[str, t.Any]],
        keys: t.Sequence[str],
        schema: t.Mapping[str, t.Any],
        *,
        source_rows: int | None = None,
    ) -> list[str]:
        """Append rows (JSON values, ``keys`` typed from ``schema``); the URLs of the files this completed.
        ``source_rows``: the source file's rows they come from, when a map dropped some (what a re-read skips)."""
        count = len(rows) if source_rows is None else source_rows
        if self.format == "jsonl":
            return self.add(Piece("".join(dumps(row) + "\n" for row in rows).encode(), 0, count))
        from tap_dockerdvp.files.arrow.tables import ArrowRows

        return self.add_table(ArrowRows(keys, schema).from_records(rows), rows=count)

    def add_table(self, table: pa.Table, *, rows: int | None = None) -> list[str]:
        """Append an Arrow table's rows (parquet); the URLs of the files this completed. Rows of another
        schema (other unknown columns) start a new file. ``rows``: the source rows they stand for."""
        if not table.num_rows:  # rows a stream map dropped, all of them: counted, no file opened for them
            return self._added(rows or 0)
        done: list[str] = []
        schema = self._pending[0].schema if self._pending else self._schema
        if schema is not None and table.schema != schema:
            done += self._added(0, close=True)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows >= self.row_group:
            self._flush_table()
        return done + self._added(table.num_rows if rows is None else rows)

    def _flush_table(self) -> None:
        """Write a row group of the pending rows: ``row_group`` of them, or all when there are fewer."""
        if not self._pending:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        rest = table.slice(self.row_group)  # no copy: slices of the same buffers
        table = table.slice(0, self.row_group)
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
        if self._parquet is None:
            if self._handle is None:
                self._open()
            codec = self.compression if self.compression not in (None, "none") else "snappy"
            options = self._options.get(table.schema)
            if options is None:  # from the first rows of the stream's first file of this schema
                options = self._options[table.schema] = column_options(table)
            self._storage = _StorageFile(self._handle)
            self._sink = pa.BufferedOutputStream(pa.PythonFile(self._storage, mode="w"), buffer_size=PARQUET_BUFFER)
            self._parquet = pq.ParquetWriter(self._sink, table.schema, compression=codec, **options)
            self._schema = table.schema
        # Parquet encoding and compression release the GIL: the writer thread writes while the next rows
        # are parsed, one write at a time, at most one waiting (memory stays bounded).
        self._writes.append(_writer().submit(_write, self._parquet, table, self.row_group, self._storage))
        with self._writing():
            while len(self._writes) > 1:
                self._writes.popleft().result()

    def _written(self) -> None:
        """Wait for the writer thread's tasks (row groups, files being finished); raises what one raised."""
        while self._writes:
            self._writes.popleft().result()

    def _added(self, rows: int, *, close: bool = False) -> list[str]:
        self.rows += rows
        if close or self.rows >= self.batch_size:
            written = self.rows
            urls = self.finish()
            self.source_rows += written  # rows in files handed to the writer: a re-read skips them
            return urls
        return self._finished(wait=False)

    def rollback(self, restart: bool = False) -> int:
        """Discard the open file (its rows will be read again); the source file's rows already in batch files, or
        none when the source file is read again from its start (``restart``)."""
        self.discard()
        if restart:
            self.source_rows = 0
        return self.source_rows

    def source_done(self) -> None:
        """The next rows come from another source file."""
        self.source_rows = 0

    def finish(self) -> list[str]:
        """Finish the open file without waiting: a parquet file's last row group and footer are written by the
        writer thread while the next rows are read (waiting here stalled the parsing at every file: a third of
        the main thread's time at the default batch_size). The URLs of the files finished by now, in order."""
        if self._handle is not None or self._pending:
            if self.format == "parquet":
                self._flush_table()
            if self._handle is not None:
                handle, parquet = self._handle, self._parquet
                done: Future[None] = Future()
                if parquet is None:  # jsonl: written as it came
                    with self._writing():
                        handle.close()
                    done.set_result(None)
                else:
                    done = _writer().submit(_close, parquet, self._sink, self._storage)
                    self._writes.append(done)
                self._finishing.append((done, self._path, self._final))
            self._handle = self._parquet = self._sink = self._storage = self._schema = None
        self.rows = 0  # a file of rows a map dropped, all of them, was never opened: nothing to hand out
        return self._finished(wait=False)

    def close(self) -> list[str]:
        """Finish the open file and wait for every file being finished: their URLs, in order."""
        return self.finish() + self._finished(wait=True)

    def _finished(self, *, wait: bool) -> list[str]:
        """URLs of the files whose writing is complete, in order (all of them with ``wait``); raises what the
        writing of one raised."""
        urls: list[str] = []
        while self._finishing and (wait or self._finishing[0][0].done()):
            done, path, final = self._finishing.popleft()
            with self._writing():
                done.result()
                if path != final:
                    path.rename(final)
            urls.append(str(final.as_uri()))
        return urls

    def discard(self) -> None:
        """Abandon the open file (its rows will be read again) and delete what was written of it."""
        self._pending, self._pending_rows = [], 0
        self.rows = 0  # a parquet file opens at its first row group: its first rows may have no file yet
        with contextlib.suppress(Exception):  # the file is deleted anyway
            self._written()
        self._parquet = self._schema = None  # the writer, let go, writes its footer in the buffer
        if self._sink is not None:
            with contextlib.suppress(Exception):
                self._sink.close()  # its bytes go to the file about to be deleted, not to a closed one
            self._sink = self._storage = None
        if self._handle is not None:
            try:
                self._handle.close()
            finally:
                self._handle = None
                if self._path.exists():
                    self._path.unlink()
