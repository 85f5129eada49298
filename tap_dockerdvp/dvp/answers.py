"""Docker's JSON answers as data: the list an answer holds under its documented key, or one clear error.

A 200 whose body is not the documented shape (an error object such as ``{"detail": "..."}``, a Hub-style paged
object, a bare value) must not read as "nothing there": an empty namespace list makes the full-table streams tell
the target to delete their rows, an empty listing lets a bookmark move past a period. The spec declares empty
lists as ``[]`` and some answers carry ``null``: both are empty. A bare list is taken as the list itself.
"""

from __future__ import annotations

import json
import typing as t

from tap_dockerdvp.errors import UnexpectedAnswerError


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


def unexpected(body: t.Any, documented: str, *, what: str) -> UnexpectedAnswerError:
    """The one-line error for an answer that is not ``documented``: its start shown, so the cause is visible."""
    shown = json.dumps(body)[:120]
    return UnexpectedAnswerError(
        f"{what} answered {shown}, not the documented {documented}: the tap stops rather than take it as empty "
        "(nothing is deleted, no bookmark moves); run again later, and report it if it stays"
    )
