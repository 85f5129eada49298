"""Which SDK lines a person reads at INFO, and which only at DEBUG (the README's *Logging* section).

The stream-level rules ("Beginning sync" of child streams, errors the CLI prints in one line) live in
`client.DockerHubStream.log`; this module holds the tap-level one: the SDK logs "Added 'X' as child stream to
'Y'" for every child stream on every command, `--discover` included, which tells a user nothing.
"""

from __future__ import annotations

import logging

CHILD_STREAM_ADDED = "Added '%s' as child stream to '%s'"


class ChildStreamLines(logging.Filter):
    """Shows the SDK's "Added 'X' as child stream" lines as DEBUG: dropped unless DEBUG is enabled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != CHILD_STREAM_ADDED or record.levelno != logging.INFO:
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True


def install(logger: logging.Logger) -> None:
    """Put the filter on the tap's logger, once."""
    if not any(isinstance(f, ChildStreamLines) for f in logger.filters):
        logger.addFilter(ChildStreamLines())
