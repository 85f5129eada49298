"""The full-table streams (`namespaces`, `repositories`, the pull statistics): read whole, a new table version
every run.

With `emit_activate_version_messages` (on by default) the SDK announces a new table version (ACTIVATE_VERSION) when
such a stream's sync begins and stamps each of its records with it; a target that supports the message then
deletes, or marks deleted, the rows of older versions, so a repository deleted on Docker Hub leaves the table. One
sync covers every namespace partition of the run: one version per stream and run, and no namespace of the run
loses its fresh rows. A run limited to some namespaces (a shard) would delete the others' rows (see
docs/running-at-scale.md).

The SDK writes the message before the stream's first record, and a target may delete the old rows as soon as it
reads it. So, before the run's first message, the tap fetches every row of every stream that announces a version
(the tap's ``preflight``): a request that fails ends the run before a target is told to delete anything.

Rows that announce a version go out as RECORD messages even when `batch_config` is set: rows loaded from BATCH
files carry no table version, so a target that deletes by version (MeltanoLabs target-snowflake) would keep
deleted rows. These tables are small; the large file-backed streams keep their BATCH files.
"""

from __future__ import annotations

import json
import logging
import typing as t
from functools import cached_property

from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE
from typing_extensions import override

from tap_dockerdvp.dvp import answers
from tap_dockerdvp.errors import UnexpectedAnswerError
from tap_dockerdvp.streams.base import DockerHubStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class WholeTableStream(DockerHubStream):
    """A full-table stream whose rows are all fetched before its sync announces a new table version."""

    replication_key = None
    prefetched = False  # whether `prefetch` ran

    def fetch_rows(self, context: Context | None) -> t.Iterable[dict]:
        """The records of a partition, read from the API."""
        raise NotImplementedError

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # A record limit (`--test`) reads a row or so: a new table version would let a target delete the rest.
        return self.ABORT_AT_RECORD_COUNT is None and bool(super().emit_activate_version_messages)

    @property
    def announces_versions(self) -> bool:
        """Whether this run's sync of the stream writes ACTIVATE_VERSION (the SDK's condition)."""
        return (
            self.selected
            and self.replication_method == REPLICATION_FULL_TABLE
            and bool(self.emit_activate_version_messages)
        )

    @override
    def get_batch_config(self, config: t.Mapping) -> t.Any:
        """None (RECORD messages) for a stream that announces table versions, so its rows carry the version."""
        batch_config = super().get_batch_config(config)
        if batch_config is None or not self.announces_versions:
            return batch_config
        self.tap.run.log_once(
            self.logger,
            ("versioned-records", self.name),
            logging.INFO,
            "%s: sent as RECORD messages although batch_config is set: they carry the table version a target "
            "deletes older rows by",
            self.name,
        )
        return None

    @cached_property
    def fetched(self) -> dict[str, list[dict]]:
        """The prefetched records by partition, until the sync takes them."""
        return {}

    def prefetch(self) -> None:
        """Fetch the records of every partition now (once a run), before the stream's first message."""
        if self.prefetched:
            return
        self.prefetched = True
        contexts: list[dict | None] = [*(self.partitions or [])] or [None]
        for context in contexts:
            self.fetched[_key(context)] = list(self.typed_rows(context))

    def typed_rows(self, context: Context | None) -> t.Iterator[dict]:
        """The partition's records, counts and flags the API sent as text typed (:func:`answers.typed`). Two
        different rows under one key would be one in the target, the other lost: that stops the run."""
        properties = self.schema["properties"]
        seen: dict[tuple[t.Any, ...], dict] = {}
        for row in self.fetch_rows(context):
            row = answers.typed(row, properties, what=self.name)
            key = tuple(row.get(k) for k in self.primary_keys or ())
            if key and seen.setdefault(key, row) != row:
                raise UnexpectedAnswerError(
                    f"{self.name}: the API answered two different rows with the key "
                    f"{dict(zip(self.primary_keys or (), key, strict=True))}: a target would keep one; please report it"
                )
            yield row

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        rows = self.fetched.pop(_key(context), None)
        yield from self.typed_rows(context) if rows is None else rows


def _key(context: t.Mapping[str, t.Any] | None) -> str:
    return json.dumps(dict(context or {}), sort_keys=True, default=str)
