"""The DVP program's report catalogue: the `reports` stream (one record per report period) and one child stream
per report type, plus `report_other` for types this tap does not know.

``GET {hub_url}/api/publisher/proxylytics/v1/namespaces/{ns}/reports`` lists the report files (see
:mod:`tap_dockerdvp.dvp.catalogue`). The catalogue is read once per run per namespace and kept in the run state
(like the namespace metadata). State is one bookmark (the start of the last period whose rows were all emitted)
per (namespace, report type, granularity): the period syncs its children (`CompletedPeriodStream.sync_children`)
before it moves the bookmark, exactly as for `timespans`. Docker keeps only the last few reports, so a bookmark
older than the oldest listed report means periods were lost: the tap says so.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from functools import cached_property
from urllib.parse import urljoin

from singer_sdk import typing as th
from typing_extensions import override

from tap_dockerdvp.dvp import answers, endpoints
from tap_dockerdvp.dvp.catalogue import Catalogue, ReportEntry, parse_catalogue
from tap_dockerdvp.dvp.periods import to_date, utc_today
from tap_dockerdvp.dvp.report_views import (
    GENERIC_SPEC,
    REPORT_KEY_PROPERTIES,
    REPORT_SPECS,
    ReportPeriod,
    stream_of,
)
from tap_dockerdvp.dvp.sources import REPORTS
from tap_dockerdvp.errors import DownloadError, UnexpectedAnswerError
from tap_dockerdvp.http.downloads import Download, storage_session
from tap_dockerdvp.http.responses import bearer_of, is_json
from tap_dockerdvp.http.urls import safe_path, same_host
from tap_dockerdvp.streams.base import DockerHubStream
from tap_dockerdvp.streams.completed_periods import CompletedPeriodStream
from tap_dockerdvp.streams.period_files import FileGone, Late, PeriodFile, PeriodFilesStream, view_stream
from tap_dockerdvp.streams.schemas import report_schema

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

    from tap_dockerdvp.streams.completed_periods import PeriodWindow


#: pages of a paged catalogue at most (a `next` that leads back would loop for ever)
MAX_CATALOGUE_PAGES = 1000


def load_catalogue(stream: DockerHubStream, namespace: str, *, refresh: bool = False) -> Catalogue:
    """The namespace's report catalogue, fetched once per run (again with ``refresh``) and kept in the run state."""
    cache = stream.tap.run.catalogues
    if refresh or namespace not in cache:
        body = stream.get_json(endpoints.REPORT_CATALOGUE.format(namespace=namespace), not_found_ok=True)
        pages = 1
        while isinstance(body, dict) and isinstance(body.get("reports"), list) and body.get("next"):
            # undocumented, but a paged catalogue (`next` beside `reports`, as the Hub's listings) is read whole
            url = urljoin(stream.tap.urls.hub_url + "/", str(body["next"]))
            pages += 1
            what = f"namespace {namespace}: the report catalogue's page {pages} ({safe_path(url)})"
            if pages > MAX_CATALOGUE_PAGES:
                raise UnexpectedAnswerError(f"{what}: more than {MAX_CATALOGUE_PAGES} pages (a `next` that loops?)")
            following = stream.get_json("", url=url)
            more = answers.listed(following, "reports", what=what)
            body = {
                "reports": body["reports"] + more,
                "next": following.get("next") if isinstance(following, dict) else None,
            }
        cache[namespace] = parse_catalogue(
            namespace,
            body,
            hub_url=stream.tap.urls.hub_url,
            overrides=stream.config.get("report_type_map") or {},
            log=stream.logger,
            quiet=refresh,
        )
    return cache[namespace]


# --------------------------------------------------------------------------------------------------
# streams


#: what a report period's context holds, and every row of its files carries
PERIOD_KEYS = ("namespace", "report_type", "granularity", "period_start", "period_end")


class ReportsStream(CompletedPeriodStream):
    """One record per listed report period, per (namespace, report type, granularity) partition, oldest first.

    Only complete periods are emitted. The bookmark (``period_start``) moves after the period's child stream
    emitted every row of every file of the period.
    """

    name = "reports"
    url_base_setting = "hub_url"
    path = endpoints.REPORT_CATALOGUE
    partition_keys = ("namespace", "report_type", "granularity")
    primary_keys = ("namespace", "report_type", "granularity", "period_start")
    replication_key = "period_start"
    period_noun = "report periods"

    schema = th.PropertiesList(
        th.Property("namespace", th.StringType, required=True, description="Docker Hub namespace"),
        th.Property(
            "report_type",
            th.StringType,
            required=True,
            description="summary, trends, technographic, technographic_companies, tracked_companies, or the "
            "normalised catalogue type of an unknown report",
        ),
        th.Property("granularity", th.StringType, required=True, description="`week` or `month`"),
        th.Property("period_start", th.DateTimeType, required=True, description="First day, 00:00Z"),
        th.Property("period_end", th.DateTimeType, required=True, description="Last day (inclusive), 00:00Z"),
        th.Property("catalogue_type", th.StringType, description="The catalogue's `type`, as written"),
        th.Property("report_stream", th.StringType, description="The stream that holds the period's rows"),
        th.Property("file_names", th.ArrayType(th.StringType), description="The period's files (no query string)"),
    ).to_dict()

    @property
    @override
    def partitions(self) -> list[dict] | None:
        partitions = []
        for namespace in self.tap.namespace_metadata():
            if REPORTS not in self.tap.sources_for(namespace):
                continue
            for report_type, granularity in load_catalogue(self, namespace).partitions():
                if not (self.selected or self.tap.streams[stream_of(report_type)].selected):
                    # no stream of this run takes the type's rows: its bookmark stays, so a run that selects its
                    # stream later still reads the reports Docker keeps (it keeps only the last few)
                    continue
                partitions.append({"namespace": namespace, "report_type": report_type, "granularity": granularity})
        return partitions

    @override
    def listed_periods(self, context: Context, window: PeriodWindow) -> list[dict]:
        """Records of the complete report periods the catalogue lists before `end_date`, oldest first."""
        namespace, report_type, granularity = context["namespace"], context["report_type"], context["granularity"]
        periods = [
            (period, files)
            for period, files in load_catalogue(self, namespace).periods(report_type, granularity)
            if window.end_date is None or period.start < window.end_date
        ]
        self._check_retention(context, periods, window)
        today = utc_today()
        records = []
        for period, files in periods:
            if not period.is_complete(today):  # said once, in the run summary, as for timespans
                label = f"{namespace} {report_type} {granularity} {period.start}"
                self.tap.progress.note_held_back("not complete yet, left for a later run", label)
                self.logger.debug("%s report is not complete yet (ends %s): left for a later run", label, period.end)
                break
            records.append(
                {
                    "namespace": namespace,
                    "report_type": report_type,
                    "granularity": granularity,
                    "period_start": period.start_iso,
                    "period_end": period.end_iso,
                    "catalogue_type": files[0].catalogue_type,
                    "report_stream": stream_of(report_type),
                    "file_names": [f.file_name for f in files],
                }
            )
        return records

    @override
    def child_context(self, record: dict) -> dict:
        return {k: record[k] for k in PERIOD_KEYS}

    @override
    def period_label(self, record: dict) -> str:
        start = str(record["period_start"])[:10]
        return f"{record['namespace']} {record['report_type']} {record['granularity']}ly report {start}"

    def _check_retention(
        self, context: Context, periods: list[tuple[ReportPeriod, list[ReportEntry]]], window: PeriodWindow
    ) -> None:
        """Warn about periods after the bookmark that the catalogue no longer (or never) lists."""
        if not periods:
            return
        label = f"{context['namespace']} {context['report_type']} {context['granularity']}ly reports"
        bookmark, start_date = window.bookmark, window.start_date
        if not window.resumes:
            oldest = periods[0][0].start
            if start_date is not None and oldest > start_date:
                self.logger.info(
                    "%s: the catalogue's oldest report starts %s, after start_date %s: Docker keeps only the last "
                    "few reports, so earlier periods are not available",
                    label,
                    oldest,
                    start_date,
                )
            return
        assert bookmark is not None
        expected = ReportPeriod.of(context["granularity"], bookmark).next_start()
        for period, _files in periods:
            if period.start <= bookmark:
                continue
            if period.start > expected:
                self.logger.warning(
                    "%s: no report for %s to %s in the catalogue (bookmark %s, oldest listed report %s): Docker "
                    "keeps only the last few reports, so these periods can no longer be extracted. Run the tap at "
                    "least weekly.",
                    label,
                    expected,
                    period.start - dt.timedelta(days=1),
                    bookmark,
                    periods[0][0].start,
                )
            expected = period.next_start()


class _HubUnauthorized(Exception):
    def __init__(self, token: str) -> None:
        super().__init__("HTTP 401")
        self.token = token


class _ReportNotFound(Exception):
    """HTTP 404 for a report file."""


class ReportStream(PeriodFilesStream):
    """Rows of the report files of one report type, for each period the `reports` stream emits."""

    parent_stream_type = ReportsStream
    url_base_setting = "hub_url"
    path = endpoints.REPORT_CATALOGUE
    primary_keys = REPORT_KEY_PROPERTIES

    @cached_property
    @override
    def schema(self) -> dict:
        return report_schema(self.spec)

    @cached_property
    def session(self) -> requests.Session:
        session = storage_session(self.user_agent)
        session.hooks["response"].append(self._check_status)
        return session

    def handles(self, report_type: str) -> bool:
        return report_type == self.spec.view

    @cached_property
    def _not_found(self) -> dict[tuple[str, str], int]:
        """HTTP 404s per report file (type, name) this run: the first is asked again, the second makes it late."""
        return {}

    # -- the period ---------------------------------------------------------------------------------
    @override
    def applies_to(self, context: Context) -> bool:
        return self.handles(context["report_type"])

    @override
    def describe(self, context: Context) -> str:
        return (
            f"{context['namespace']} {context['report_type']} {context['granularity']}ly report "
            f"{str(context['period_start'])[:10]}"
        )

    @override
    def period_end(self, context: Context) -> dt.date:
        return to_date(context["period_end"])

    # -- files --------------------------------------------------------------------------------------
    @override
    def list_files(self, context: Context) -> list[PeriodFile]:
        start = to_date(context["period_start"])
        entries = load_catalogue(self, context["namespace"]).files(
            context["report_type"], context["granularity"], start
        )
        return [PeriodFile(url=entry.url, name=entry.file_name) for entry in entries]

    @override
    def open_file(self, context: Context, files: list[PeriodFile], index: int, label: str) -> Download:
        """The file's bytes. The Hub's bearer token goes only to the Hub's own host; requests drops it on a
        redirect to another host (a presigned storage URL must not see it)."""
        if same_host(files[index].url, self.tap.urls.hub_url):
            self.session.headers["Authorization"] = f"Bearer {self.authenticator.token()}"
        else:
            self.session.headers.pop("Authorization", None)

        def refresh_url() -> str:  # an expired (403) URL: ask the catalogue again
            files[index] = self._fresh_file(context, files[index])
            return files[index].url

        return self.download(self.session, files[index], label, refresh_url)

    @override
    def recover(self, exc: Exception, context: Context, files: list[PeriodFile], index: int) -> bool:
        if isinstance(exc, _ReportNotFound):
            files[index] = self._fresh_file(context, files[index])  # FileGone when Docker no longer lists it
            key = (context["report_type"], str(files[index].name))
            seen = self._not_found[key] = self._not_found.get(key, 0) + 1
            if seen > 1:  # still listed, still 404 after a fresh URL: not ready yet
                raise Late("the catalogue lists the report but its file answers HTTP 404 (not ready yet?)")
            return True
        if isinstance(exc, _HubUnauthorized):
            if self.authenticator.refused_after_relogin(exc.token):
                raise DownloadError(
                    f"{self.file_label(context, files, index)}: Docker Hub refused a freshly issued token for the "
                    "report (HTTP 401): check that `username` has access to the DVP reports"
                ) from None
            self.authenticator.invalidate(exc.token)
            return True
        return False

    def _check_status(self, response: requests.Response, *args: t.Any, **kwargs: t.Any) -> None:
        """Response hook: a 401 from the Hub means a stale token, a 404 a report Docker may have dropped."""
        status = response.status_code
        if same_host(response.url, self.tap.urls.hub_url):
            if status == 401:
                response.close()
                raise _HubUnauthorized(bearer_of(response))
            if status == 403 and is_json(response):  # the Hub's API refusing, with its reason (an expired URL of
                # the Hub's file store answers its own XML, and is renewed)
                raise DownloadError(self.refused(response, "the report download"))
            if status < 400:
                self.authenticator.accepted(bearer_of(response))
        if status == 404:
            response.close()
            raise _ReportNotFound()

    def _fresh_file(self, context: Context, file: PeriodFile) -> PeriodFile:
        """The file as the catalogue lists it now (a fresh URL); FileGone when it is no longer listed."""
        catalogue = load_catalogue(self, context["namespace"], refresh=True)
        entry = catalogue.entry(*_period(context), file.url)
        if entry is None:
            raise FileGone("the report is no longer in the catalogue: Docker dropped it before it could be read")
        return PeriodFile(url=entry.url, name=entry.file_name)

    @override
    def row_constants(self, context: Context, files: list[PeriodFile], index: int) -> dict[str, t.Any]:
        constants = {k: context[k] for k in PERIOD_KEYS}
        constants["file_index"] = index
        constants["file_name"] = files[index].name
        return constants


class OtherReportStream(ReportStream):
    """Rows of report types this tap does not know yet: every column as header → value."""

    name = GENERIC_SPEC.stream_name
    spec = GENERIC_SPEC

    @override
    def handles(self, report_type: str) -> bool:
        return report_type not in REPORT_SPECS

    @override
    def row_constants(self, context: Context, files: list[PeriodFile], index: int) -> dict[str, t.Any]:
        constants = super().row_constants(context, files, index)
        catalogue = load_catalogue(self, context["namespace"])
        entry = catalogue.entry(*_period(context), files[index].url)
        constants["catalogue_type"] = entry.catalogue_type if entry is not None else context["report_type"]
        return constants


#: one stream per report type this tap knows (each a class of its own, `view_stream`), then `report_other`
REPORT_STREAMS: tuple[type[ReportStream], ...] = (
    *(view_stream(ReportStream, spec) for spec in REPORT_SPECS.values()),
    OtherReportStream,
)


def _period(context: Context) -> tuple[str, str, dt.date]:
    """(report type, granularity, first day) of a report stream's context: what names its catalogue entries."""
    return context["report_type"], context["granularity"], to_date(context["period_start"])
