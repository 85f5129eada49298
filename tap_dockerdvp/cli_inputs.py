"""The files the CLI reads (`--config`, `--catalog`, `--state`): each mistake in them is one line naming the file.

The SDK would stop with a traceback ending in a JSON decode error that does not say which file; these checks run
first and say what to fix.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from tap_dockerdvp.errors import InputFileError


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


def state_problem(state: dict[str, t.Any]) -> str | None:
    """What makes ``state`` something other than a Singer state, or None."""
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
