"""The command line's own concerns: the files it reads (`--config`, `--catalog`, `--state`), and the one line that
a user's mistake ends it with (a traceback only at DEBUG). The process it runs in is set up in `__main__`.

The SDK would stop with a traceback ending in a JSON decode error that does not say which file; these checks run
first and say what to fix.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import typing as t
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from singer_sdk.exceptions import MappingError

from tap_dockerdvp.dvp.periods import is_iso_date
from tap_dockerdvp.errors import ONE_LINE_ERRORS, ConfigError, InputFileError, StateError


@contextlib.contextmanager
def one_line_errors(logger: logging.Logger, prefix: str = "") -> Iterator[None]:
    """End the process with exit code 1 and the error's message, one ERROR line per line of it (its traceback only
    at DEBUG)."""
    try:
        yield
    except BrokenPipeError:
        # The target stopped reading (it failed, or was stopped): its own log says why. Later writes to stdout
        # (Python flushes it on the way out) go nowhere instead of raising again.
        logger.debug("Traceback of the closed pipe", exc_info=True)
        logger.error("%sthe target closed the pipe: it stopped reading the tap's output; see its log", prefix)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except MappingError as exc:  # the SDK's stream maps: the expression is the user's, where it failed is not
        logger.debug("Traceback of the error below", exc_info=True)
        logger.error("%ssetting `stream_maps`: %s", prefix, " ".join(str(exc).split()))
        sys.exit(1)
    except ONE_LINE_ERRORS as exc:
        if not isinstance(exc, (ConfigError, InputFileError)):  # where in the code a bad input was noticed is no help
            logger.debug("Traceback of the error below", exc_info=True)
        for line in str(exc).splitlines() or [type(exc).__name__]:
            logger.error("%s%s", prefix, line)
        sys.exit(1)


def checked_file(file: t.IO[str], kind: str, problem: Callable[[dict[str, t.Any]], str | None]) -> t.IO[str]:
    """The `--state` / `--catalog` file, read and checked; the SDK then reads the same text again."""
    name = getattr(file, "name", kind)
    try:
        text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{kind} file {name} cannot be read: {exc}") from None
    found = problem(load_json_object(text, kind=kind, name=name))
    if found:
        raise (StateError if kind == "state" else InputFileError)(f"{kind} file {name}: {found}")
    return io.StringIO(text)


def load_json_object(text: str, *, kind: str, name: str) -> dict[str, t.Any]:
    """``text`` parsed as a JSON object, or an `InputFileError` naming the ``kind`` of file and its ``name``."""
    if not text.strip():
        raise InputFileError(f"{kind} file {name} is empty: it must hold a JSON object")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{kind} file {name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise InputFileError(f"{kind} file {name} must hold a JSON object, not {_shown(value)}")
    return value


def read_json_object(path: str, *, kind: str) -> dict[str, t.Any]:
    """The JSON object in the file at ``path``; a missing or unreadable file is an `InputFileError`."""
    file = Path(path)
    if not file.is_file():
        raise InputFileError(f"{kind} file {path} was not found" + (" (it is a directory)" if file.is_dir() else ""))
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{kind} file {path} cannot be read: {exc}") from None
    return load_json_object(text, kind=kind, name=path)


def state_problem(state: dict[str, t.Any], dated: Collection[str] = ()) -> str | None:
    """What makes ``state`` something other than a Singer state, or None. The bookmarks of the streams ``dated``
    must be dates: docs/state-and-windows.md shows how to edit one by hand, and a wrong one would stop the run
    with a traceback after part of its output."""
    if "bookmarks" not in state and isinstance(state.get("singer_state"), dict):
        return "it looks like `meltano state get` output: pass the object under `singer_state`"
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return f"`bookmarks` must be an object with one entry per stream, not {_shown(bookmarks)}"
    for stream, stream_state in bookmarks.items():
        if not isinstance(stream_state, dict):
            return f"`bookmarks.{stream}` must be an object, not {_shown(stream_state)}"
        partitions = stream_state.get("partitions", [])
        if not isinstance(partitions, list) or not all(
            isinstance(p, dict) and isinstance(p.get("context"), dict) for p in partitions
        ):
            return f"`bookmarks.{stream}.partitions` must be a list of objects, each with a `context` object"
        if stream in dated:
            marks = [(f"bookmarks.{stream}", stream_state)]
            marks += [(f"bookmarks.{stream}.partitions[{i}]", p) for i, p in enumerate(partitions)]
            for where, mark in marks:
                value = mark.get("replication_key_value")
                if value is not None and not is_iso_date(value):
                    return (
                        f"`{where}.replication_key_value` is not a date: {_shown(value)} (write one, such as "
                        "2026-11-02, or remove the bookmark to read the partition from `start_date`)"
                    )
    return None


def catalog_problem(catalog: dict[str, t.Any]) -> str | None:
    """What makes ``catalog`` something other than a Singer catalog, or None."""
    streams = catalog.get("streams")
    if not isinstance(streams, list):
        return f"`streams` must be a list of stream entries, not {_shown(streams)}"
    for index, entry in enumerate(streams):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            return f"`streams[{index}]` must be an object with a `tap_stream_id` string"
        metadata = entry.get("metadata", [])
        if not isinstance(metadata, list) or not all(
            isinstance(m, dict) and isinstance(m.get("breadcrumb"), list) and isinstance(m.get("metadata"), dict)
            for m in metadata
        ):
            return (
                f"`metadata` of stream {entry['tap_stream_id']!r} must be a list of "
                "{breadcrumb: [...], metadata: {...}} objects"
            )
        if not isinstance(entry.get("schema", {}), dict):
            return f"`schema` of stream {entry['tap_stream_id']!r} must be an object"
    return None


def _shown(value: t.Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
