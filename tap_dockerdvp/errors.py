"""Errors a user can act on. Each message is one line that names the setting or the file to look at."""

from __future__ import annotations

import typing as t


class TapError(Exception):
    """Base class: the CLI prints the message alone, without a traceback, and exits 1."""


class ConfigError(TapError, ValueError):
    """A setting is invalid; the message names it."""


class AuthenticationError(TapError):
    """Docker Hub refused the credentials. The message names the setting to fix and holds no secret."""


class NamespaceNotFoundError(TapError):
    """A configured namespace is not visible to the account."""


class DownloadError(TapError):
    """An export file could not be read completely; the message names the file, never its URL."""


def error_detail(body: t.Any, limit: int = 200) -> str:
    """The message in a Docker Hub error body (`detail`, `message`, ...), shortened for one-line errors."""
    if isinstance(body, dict):
        for key in ("detail", "message", "error_description", "error", "text"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:limit]
    return ""
