"""Export streams: one per DVP data view (`pull_events` is the `raw` view), children of `timespans`.

For each timespan the API lists one or more presigned URLs of gzip CSV files per data view:
``GET .../namespaces/{ns}/pulls/exports/years/{year}/{weeks|months}/{n}/{view}`` → ``{"data": [{"url","size"}]}``.
The rows carry a deterministic key (timespan, file index, row number), so a re-extracted timespan upserts.

What Docker's spec leaves open, and what the tap does about it:

- The spec documents the data-view path only under the ``pulls`` dataset. A view of another dataset (the
  extension views) that answers 404 there is asked under its own dataset's path (``/extensions/exports/...``)
  once; the path that worked is remembered for the run.
- Timespans are listed only when they have data, so a listed timespan whose view answers 404 or lists no file is
  most likely not ready yet: that is a late file (see :mod:`.period_files`), not an empty export.
- Weeks are taken as ISO weeks. The first and last rows' ``Action day`` of each raw file are compared with the
  timespan's dates; rows outside it are logged (one WARNING per timespan), since they would mean Docker numbers
  weeks another way.
"""

from __future__ import annotations

import logging
import typing as t
from functools import cached_property
from urllib.parse import urljoin

from typing_extensions import override

from tap_dockerdvp.dvp import answers, endpoints
from tap_dockerdvp.dvp.namespaces import dataset_offering
from tap_dockerdvp.dvp.periods import to_date
from tap_dockerdvp.dvp.views import KEY_PROPERTIES, VIEWS
from tap_dockerdvp.errors import TapError
from tap_dockerdvp.http.downloads import Download, storage_session
from tap_dockerdvp.http.urls import file_id_of
from tap_dockerdvp.streams.period_files import Late, PeriodFile, PeriodFilesStream, view_stream
from tap_dockerdvp.streams.schemas import export_schema
from tap_dockerdvp.streams.timespans import TimespansStream

if t.TYPE_CHECKING:
    import datetime as dt

    import requests
    from singer_sdk.helpers.types import Context


CONTEXT_FIELDS = ("namespace", "timespan_type", "year", "timespan", "timespan_start", "timespan_end")


class ExportStream(PeriodFilesStream):
    """Rows of one data view's CSV files for each timespan its parent emits."""

    parent_stream_type = TimespansStream
    primary_keys = KEY_PROPERTIES
    path = endpoints.VIEW_FILES

    @cached_property
    @override
    def schema(self) -> dict:
        return export_schema(self.spec)

    @cached_property
    def storage(self) -> requests.Session:
        return storage_session(self.user_agent)

    # -- the period ---------------------------------------------------------------------------------
    @override
    def applies_to(self, context: Context) -> bool:
        namespace, timespan_type = context["namespace"], context["timespan_type"]
        metadata = self.tap.namespace_metadata()[namespace]
        if dataset_offering(metadata, view=self.spec.view, timespan_type=timespan_type) is not None:
            return True
        self.tap.progress.note_skipped(
            "the namespace does not offer the data view", f"{namespace} {self.name} {timespan_type}"
        )
        self.logger.debug("Namespace %s does not offer the %s view for %s", namespace, self.spec.view, timespan_type)
        return False

    @override
    def describe(self, context: Context) -> str:
        return (
            f"{context['namespace']} {self.spec.view} {context['timespan_type']} {context['year']}/"
            f"{context['timespan']}"
        )

    @override
    def period_end(self, context: Context) -> dt.date:
        return to_date(context["timespan_end"])

    # -- files --------------------------------------------------------------------------------------
    @override
    def list_files(self, context: Context) -> list[PeriodFile]:
        listing = self.view_listing(context)
        if listing is None:
            raise Late(
                f"the API lists the timespan but answers HTTP 404 for its {self.spec.view} files (not ready yet?)"
            )
        entries = answers.listed(listing, "data", what=f"{self.describe(context)}: the file listing")
        if not entries:
            raise Late(f"the API lists the timespan but no {self.spec.view} file for it yet")
        files = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or not entry["url"]:
                raise TapError(f"{self.describe(context)}: the API listed a file without a `url`: cannot read it")
            size = entry.get("size")
            url = urljoin(f"{self.tap.urls.api_url}/", entry["url"])  # a path alone is on the API's host
            files.append(PeriodFile(url=url, size=size if isinstance(size, int) and size > 0 else None))
        # numbered in the order of their paths (`file_index` is in the rows' keys): a listing in another order, which
        # Docker does not rule out, must give a file read again the same keys, so a target upserts its rows
        return sorted(files, key=lambda file: file_id_of(file.url))

    def view_listing(self, context: Context) -> t.Any:
        """The view's file listing; None when it answers 404 under every path the view may live under."""
        metadata = self.tap.namespace_metadata()[context["namespace"]]
        dataset = dataset_offering(metadata, view=self.spec.view, timespan_type=context["timespan_type"])
        dataset = dataset or endpoints.DOCUMENTED_DATASET
        known = self.tap.run.view_paths.get(dataset)
        tries = [known] if known else list(dict.fromkeys((endpoints.DOCUMENTED_DATASET, dataset)))
        for segment in tries:
            listing = self.get_json(
                endpoints.VIEW_FILES.format(**context, dataset=segment, view=self.spec.view), context, not_found_ok=True
            )
            if listing is not None:
                if known is None:
                    self.tap.run.view_paths[dataset] = segment
                    if segment != endpoints.DOCUMENTED_DATASET:
                        self.logger.info(
                            "Views of the %s dataset answer under /%s/exports/ (not /pulls/): using it this run",
                            dataset,
                            segment,
                        )
                return listing
        return None

    @override
    def open_file(self, context: Context, files: list[PeriodFile], index: int, label: str) -> Download:
        def fresh_url() -> str:
            same = fresh_files(files, self.list_files(context))
            if same[index] is None:
                raise TapError(
                    f"{label}: the export's files changed while it was read (this one is no longer listed); run "
                    "again to re-extract the timespan"
                )
            files[:] = [new or old for new, old in zip(same, files, strict=True)]
            return files[index].url

        return self.download(self.storage, files[index], label, fresh_url)

    @override
    def row_constants(self, context: Context, files: list[PeriodFile], index: int) -> dict[str, t.Any]:
        constants = {key: context[key] for key in CONTEXT_FIELDS}
        constants["file_index"] = index
        return constants

    # -- the calendar check -------------------------------------------------------------------------
    check_column = "action_day"

    @override
    def check_edges(self, context: Context, values: list[t.Any]) -> None:
        """Rows whose day lies outside their timespan mean Docker numbers weeks otherwise than ISO 8601."""
        start, end = str(context["timespan_start"])[:10], str(context["timespan_end"])[:10]
        outside = [day for day in values if day is not None and not start <= day <= end]
        if outside:
            self.tap.run.log_once(
                self.logger,
                ("calendar", context["namespace"], context["timespan_type"], context["year"], context["timespan"]),
                logging.WARNING,
                "%s: rows have Action day %s, outside the timespan's %s to %s: Docker may number %s differently "
                "from ISO 8601 (the tap's assumption); the rows are kept as listed, please report this",
                self.describe(context),
                " and ".join(sorted(set(outside))),
                start,
                end,
                context["timespan_type"],
            )


#: one stream per summary data view (the `raw` view is `pull_events`), each a class of its own (`view_stream`)
SUMMARY_STREAMS: tuple[type[ExportStream], ...] = tuple(
    view_stream(ExportStream, spec) for view, spec in VIEWS.items() if view != "raw"
)


def fresh_files(files: list[PeriodFile], listed: list[PeriodFile]) -> list[PeriodFile | None]:
    """Each of ``files`` as a fresh listing has it (None: no longer listed). A file is known by its URL without its
    expired signature (`file_id_of`): a listing in another order must not hand a file another file's URL, which
    would read one twice and lose the other. URLs that do not tell the files apart (the same for all, or new at
    every listing) leave the position, with as many files as before."""
    fresh = {file_id_of(f.url): f for f in listed}
    same = [fresh.get(file_id_of(f.url)) for f in files]
    if (len(fresh) < len(listed) or not any(same)) and len(listed) == len(files):
        return list(listed)
    return same
