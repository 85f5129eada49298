"""Errors a user can act on. Each message is one line that names the setting or the file to look at."""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError


class TapError(Exception):
    """Base class: the CLI prints the message alone, without a traceback, and exits 1."""


class ConfigError(TapError, ValueError):
    """A setting is invalid; the message names it."""


class AuthenticationError(TapError):
    """Docker Hub refused the credentials. The message names the setting to fix and holds no secret."""


class NamespaceNotFoundError(ConfigError):
    """A configured namespace is not visible to the account."""


class DownloadError(TapError):
    """An export file could not be read completely; the message names the file, never its URL."""


class TruncatedFileError(OSError):
    """A file is incomplete or damaged (gzip ended early, bad CRC, last line cut, changed while downloaded): the
    caller reads it again, skipping the rows it already has. Not a :class:`TapError`: it is retried."""


class UnendedLineError(TruncatedFileError):
    """A file's last line has no line break: cut, or written so by a CSV writer that leaves the last one out."""


class FileChangedError(TruncatedFileError):
    """A file was replaced while it was being downloaded (another ETag): read the new one from its first row."""


class StorageError(TapError):
    """A BATCH file could not be written after the storage's check passed (a full disk, an upload refused, a lost
    connection); the message names the setting to look at and holds no secret."""


class InputFileError(TapError):
    """A `--config`, `--catalog` or `--state` file is missing, not JSON, or of the wrong shape; the message names it."""


class StateError(InputFileError):
    """The state (from `--state` or Meltano) is not a Singer state; the message says what is wrong."""


class UnreachableError(TapError):
    """Nothing answered at a configured URL (refused, unresolvable, timed out); the message names the setting."""


class WrongServiceError(TapError):
    """A configured URL answered, but not as Docker Hub or the DVP API would (an HTML page, not JSON)."""


class UnexpectedAnswerError(TapError):
    """An API answered 200 with JSON that is not the documented shape (an error object, a paged object, a bare
    value): read as "nothing there", it would tell the target to delete rows and move bookmarks past data."""


class RetriesExhaustedError(TapError):
    """An API request kept failing with answers worth retrying (429, 5xx, resets) until the retries ran out."""


def error_detail(body: t.Any, limit: int = 200) -> str:
    """The message in a Docker Hub error body (`detail`, `message`, ...), shortened for one-line errors."""
    if isinstance(body, dict):
        for key in ("detail", "message", "error_description", "error", "text"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:limit]
    return ""


# What ends a run with its message alone (no traceback unless at DEBUG): the tap's own errors, and the SDK's
# API errors, whose messages the streams word (`streams.base.DockerHubStream.response_error_message`).
ONE_LINE_ERRORS: tuple[type[Exception], ...] = (TapError, FatalAPIError, RetriableAPIError)
