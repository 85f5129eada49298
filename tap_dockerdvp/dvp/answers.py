"""Docker's JSON answers as data: the list an answer holds under its documented key, or one clear error.

A 200 whose body is not the documented shape (an error object such as ``{"detail": "..."}``, a Hub-style paged
object, a bare value) must not read as "nothing there": an empty namespace list makes the full-table streams tell
the target to delete their rows, an empty listing lets a bookmark move past a period. The spec declares empty
lists as ``[]`` and some answers carry ``null``: both are empty. A bare list is taken as the list itself.
"""

from __future__ import annotations

import json
import math
import re
import typing as t
from collections import Counter

from tap_dockerdvp.dvp.views import INT64
from tap_dockerdvp.errors import UnexpectedAnswerError
from tap_dockerdvp.logs import without_tokens


def listed(body: t.Any, key: str, *, what: str) -> list[t.Any]:
    """The list ``body`` holds under ``key`` (``what`` names the request in the error)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and key in body:
        value = body[key]
        if value is None:
            return []
        if isinstance(value, list):
            return value
    raise unexpected(body, f"{{{key!r}: [...]}}", what=what)


def mapping(body: t.Any, key: str, *, what: str) -> dict[str, t.Any]:
    """The object ``body`` holds under ``key`` (``null`` is empty)."""
    if isinstance(body, dict) and key in body and isinstance(body[key], (dict, type(None))):
        return body[key] or {}
    raise unexpected(body, f"{{{key!r}: {{...}}}}", what=what)


def by_repository(answered: t.Mapping[str, t.Any], asked: t.Sequence[str], *, what: str) -> dict[str, t.Any]:
    """The entry of each repository ``asked`` (``ns/repo``) in an answer keyed by repository: by its name as asked,
    else in another case or without its namespace (the spec's own example writes ``repo`` bare). Read by the
    asked names alone, such an answer gave no row and the table version deleted the target's rows. An entry that
    matches no repository asked for, or two entries for one, is an error: their rows would be lost."""
    bare = Counter(name.partition("/")[2].lower() for name in asked)
    index = {name.lower(): name for name in asked}
    for name in asked:
        repo = name.partition("/")[2].lower()
        if bare[repo] == 1:  # a bare name that two namespaces share names neither
            index.setdefault(repo, name)
    found: dict[str, t.Any] = {}
    for key, value in answered.items():
        match = index.get(str(key).lower())
        if match is None or match in found:
            why = "a repository not asked for" if match is None else f"a second entry for {match}"
            raise UnexpectedAnswerError(
                f"{what}: the answer holds {without_tokens(json.dumps(str(key)))[:80]}, {why}; the tap stops "
                "rather than lose its rows"
            )
        found[match] = value
    return found


def unexpected(body: t.Any, documented: str, *, what: str) -> UnexpectedAnswerError:
    """The one-line error for an answer that is not ``documented``: its start shown, so the cause is visible."""
    shown = without_tokens(json.dumps(body))[:120]  # an answer may quote a token or a presigned URL
    return UnexpectedAnswerError(
        f"{what} answered {shown}, not the documented {documented}: the tap stops rather than take it as empty "
        "(nothing is deleted, no bookmark moves); run again later, and report it if it stays"
    )


_INTEGER = re.compile(r"[+-]?[0-9]+")
_BOOLEANS = {"true": True, "false": False}


def typed(row: dict[str, t.Any], properties: t.Mapping[str, t.Any], *, what: str) -> dict[str, t.Any]:
    """``row`` with its counts and flags as the schema types them, where the API sent them as text (``"30"``,
    ``"false"``) or a count as a whole float (``30.0``): left as they came, a count would be a string or a float in
    an integer column and the SDK would take ``"false"`` for true. Anything else in a typed field (text that is no
    such value, ``2.5`` or a count past 64 bits for an integer, which a warehouse's BIGINT cannot hold, as the CSV
    reader refuses them) is an error naming the field."""
    for key, value in row.items():
        if value is None or isinstance(value, bool) or key not in properties:
            continue
        types = properties[key].get("type", [])
        types = [types] if isinstance(types, str) else types
        if "string" in types:
            continue
        if isinstance(value, str):
            row[key] = _of_text(value, types, key, what)
        elif "integer" in types and isinstance(value, (int, float)):
            whole = isinstance(value, int) or (math.isfinite(value) and value.is_integer())
            if not whole or int(value) not in INT64:
                raise _not_a("integer", key, value, what)
            row[key] = int(value)
    return row


def _of_text(value: str, types: t.Sequence[str], key: str, what: str) -> t.Any:
    """A typed field's value sent as text, as its type: an error when it is no such value."""
    text = value.strip()
    if "integer" in types and _INTEGER.fullmatch(text) and int(text) in INT64:
        return int(text)
    if "number" in types and _finite(text):
        return float(text)
    if "boolean" in types and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    if {"integer", "number", "boolean"} & set(types):
        raise _not_a(next(k for k in ("integer", "number", "boolean") if k in types), key, value, what)
    return value


def _not_a(kind: str, key: str, value: t.Any, what: str) -> UnexpectedAnswerError:
    return UnexpectedAnswerError(
        f"{what}: the API sent `{key}` as {without_tokens(json.dumps(value))[:60]}, which is not "
        f"a{'n' * (kind == 'integer')} {kind}{' of 64 bits' * (kind == 'integer')}; the tap stops rather than load "
        "it wrong"
    )


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
