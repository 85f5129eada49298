"""Export streams: one per DVP summary data view, and the base class `pull_events` shares, under `timespans`.

For each timespan the API lists one or more presigned URLs of gzip CSV files. Every file is streamed, parsed
by header name and emitted row by row, with a deterministic key (timespan, file index, row number) so a
re-extracted timespan upserts rather than duplicates.
"""

from __future__ import annotations

import time
import typing as t
from functools import cached_property

from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_dockerdvp.client import DockerHubStream
from tap_dockerdvp.csv_reader import CsvFormatError, TruncatedFileError, iter_csv_records
from tap_dockerdvp.downloads import (
    UrlExpiredError,
    open_download,
    storage_session,
    wait_before_retry,
)
from tap_dockerdvp.errors import DownloadError
from tap_dockerdvp.progress import CHECK_EVERY_ROWS, FileProgress
from tap_dockerdvp.streams.namespaces import dataset_offers
from tap_dockerdvp.streams.timespans import EXPORTS, TimespansStream
from tap_dockerdvp.views import KEY_PROPERTIES, VIEWS, ViewSpec

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

CONTEXT_FIELDS = ("namespace", "timespan_type", "year", "timespan", "timespan_start", "timespan_end")


class ExportStream(DockerHubStream):
    """Rows of one data view's CSV files for each timespan its parent emits."""

    spec: t.ClassVar[ViewSpec]
    parent_stream_type = TimespansStream
    primary_keys = KEY_PROPERTIES
    replication_key = None
    # No state partition per timespan: the parent's bookmark is the state.
    state_partitioning_keys: t.ClassVar[list[str]] = []
    # The CSV reader already types every value; the SDK's conformance pass would only cost time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    path = EXPORTS + "/{year}/{timespan_type}/{timespan}/"

    @cached_property
    def schema(self) -> dict:  # type: ignore[override]
        return self.spec.json_schema()

    @cached_property
    def storage(self) -> requests.Session:
        return storage_session(self.user_agent)

    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        assert context is not None
        if not self._offered(context):
            return
        base = {key: context[key] for key in CONTEXT_FIELDS}
        files = self._list_files(context)  # refreshed in place when URLs expire; its length never changes
        for index in range(len(files)):
            for record in self._read_file(context, files, index):
                record.update(base)
                yield record

    def _offered(self, context: Context) -> bool:
        namespace, timespan_type = context["namespace"], context["timespan_type"]
        metadata = self._tap.streams["namespaces"].load_metadata()[namespace]  # type: ignore[attr-defined]
        if dataset_offers(metadata, view=self.spec.view, timespan_type=timespan_type):
            return True
        self._log_once(
            ("not-offered", namespace, timespan_type),
            "Namespace %s does not offer the %s view for %s: %s skipped",
            namespace,
            self.spec.view,
            timespan_type,
            self.name,
        )
        return False

    def _list_files(self, context: Context) -> list[dict]:
        path = self.path.format(**context) + self.spec.view
        listing = self.get_json(path, context, not_found_ok=True)
        if listing is None:
            self.logger.warning(
                "%s: the API has no %s export for %s %d/%d (HTTP 404): no rows for that timespan",
                context["namespace"],
                self.spec.view,
                context["timespan_type"],
                context["year"],
                context["timespan"],
            )
            return []
        return list(listing.get("data") or [])

    def _read_file(self, context: Context, files: list[dict], index: int) -> t.Iterator[dict]:
        """Rows of file ``index``.

        The download itself resumes where it broke off (see `open_download`), and refreshes an expired URL by
        asking the API for the timespan's files again (``files`` is updated in place). Damage found only after
        decompression (a bad CRC, a cut last line, an error page) makes the file be read again from the start,
        skipping the rows already emitted, so a retry neither loses nor repeats a row.
        """
        label = (
            f"{context['namespace']} {self.spec.view} {context['timespan_type']} "
            f"{context['year']}/{context['timespan']} file {index + 1}/{len(files)}"
        )
        emitted = 0
        failures = 0
        max_tries = int(self.config["max_retries"]) + 1
        retry_base = float(self.config["retry_base_seconds"])
        progress = FileProgress(self.logger, label, files[index].get("size"), self.config["progress_interval_seconds"])

        def fresh_url() -> str:
            fresh = self._list_files(context)
            if len(fresh) != len(files):
                raise DownloadError(
                    f"{label}: the export changed from {len(files)} to {len(fresh)} files while being read; "
                    "run again to re-extract the timespan"
                )
            files[:] = fresh
            return str(files[index]["url"])

        next_tick = CHECK_EVERY_ROWS
        while True:
            chunks = open_download(
                self.storage,
                files[index]["url"],
                label=label,
                timeout=self.timeout,
                advertised_size=files[index].get("size"),
                refresh_url=fresh_url,
                max_tries=max_tries,
                retry_base_seconds=retry_base,
                logger=self.logger,
            )
            try:
                for record in self._parse_download(chunks, label=label, skip=emitted):
                    if record["row_number"] > emitted:
                        record["file_index"] = index
                        emitted = record["row_number"]
                        yield record
                        if emitted >= next_tick:  # `pull_events` yields batches: row numbers jump
                            progress.tick(emitted)
                            next_tick = emitted + CHECK_EVERY_ROWS
            except (TruncatedFileError, CsvFormatError) as exc:
                failures += 1
                # Bad content is retried only twice: an error page may be transient, a wrong format is not.
                self._give_up_after(failures, min(max_tries, 3) if isinstance(exc, CsvFormatError) else max_tries, exc)
                time.sleep(wait_before_retry(exc, failures - 1, base=retry_base, logger=self.logger, label=label))
                continue
            except UrlExpiredError as exc:
                raise DownloadError(f"{exc}; fresh URLs did not help after {max_tries} tries") from None
            progress.done(emitted)
            self._tap.progress.file_done(self.name, emitted, files[index].get("size"))  # type: ignore[attr-defined]
            return

    def _parse_download(self, chunks: t.Iterable[bytes], *, label: str, skip: int) -> t.Iterator[dict]:
        """The records of one download of a file. The first ``skip`` rows were emitted by an earlier attempt: the
        caller drops them, an override may leave them out itself (`pull_events` yields batches of rows)."""
        return iter_csv_records(chunks, self.spec, label=label, logger=self.logger)

    @staticmethod
    def _give_up_after(failures: int, max_tries: int, exc: Exception) -> None:
        if failures >= max_tries:
            raise DownloadError(
                f"{exc} (gave up after {failures} tries; the timespan's bookmark did not move: run again to resume)"
            ) from None

    def _log_once(self, key: tuple, message: str, *args: t.Any) -> None:
        seen: set[tuple] = self._tap.__dict__.setdefault("_logged_once", set())
        if key not in seen:
            seen.add(key)
            self.logger.info(message, *args)


def _summary_stream(spec: ViewSpec) -> type[ExportStream]:
    return type(
        f"{spec.stream_name.title().replace('_', '')}Stream",
        (ExportStream,),
        {"name": spec.stream_name, "spec": spec, "__doc__": spec.description},
    )


SUMMARY_STREAMS: tuple[type[ExportStream], ...] = tuple(
    _summary_stream(spec) for view, spec in VIEWS.items() if view != "raw"
)
