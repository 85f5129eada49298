"""The DVP program's report catalogue as data: ``{"reports": [{"type", "url", ...}]}`` → report files by period.

Only ``type`` and ``url`` are known fields (mezmo reads those two); a URL may be relative to Docker Hub and may be
presigned, so it is never logged. A report's period comes from the entry's fields or from its file name
(``_weekly_YYYY_MM_DD.csv``), see :func:`~tap_dockerdvp.dvp.report_views.period_of`.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urljoin

from tap_dockerdvp.dvp import answers
from tap_dockerdvp.dvp.report_views import ReportPeriod, file_name_of, period_of, report_type_of
from tap_dockerdvp.http.urls import file_id_of


@dataclass(frozen=True)
class ReportEntry:
    """One catalogue entry: one report file."""

    catalogue_type: str  # as written in the catalogue
    report_type: str  # a key of REPORT_SPECS, or the normalised unknown type
    known: bool
    period: ReportPeriod
    file_name: str  # no query string
    file_id: str = field(repr=False)  # what tells the file from the period's others (`file_id_of`): part of a URL
    url: str = field(repr=False)  # may be presigned: never logged


@dataclass
class Catalogue:
    namespace: str
    entries: list[ReportEntry]

    def partitions(self) -> list[tuple[str, str]]:
        return sorted({(e.report_type, e.period.granularity) for e in self.entries})

    def periods(self, report_type: str, granularity: str) -> list[tuple[ReportPeriod, list[ReportEntry]]]:
        """The listed periods of a type and granularity, oldest first, each with its files by file name."""
        grouped: dict[ReportPeriod, list[ReportEntry]] = {}
        for entry in self.entries:
            if entry.report_type == report_type and entry.period.granularity == granularity:
                grouped.setdefault(entry.period, []).append(entry)
        return [
            (p, sorted(grouped[p], key=lambda e: (e.file_name, e.file_id)))
            for p in sorted(grouped, key=lambda p: p.start)
        ]

    def files(self, report_type: str, granularity: str, start: dt.date) -> list[ReportEntry]:
        for period, files in self.periods(report_type, granularity):
            if period.start == start:
                return files
        return []

    def entry(self, report_type: str, granularity: str, start: dt.date, url: str) -> ReportEntry | None:
        """The entry of a report type and period for the file at ``url`` (renewed or not): two types may share a
        file name (a folder per type), and so may two periods (URLs that end alike, the period in the entry's
        fields) and two files of one period (a folder per part)."""
        key = (report_type, granularity, start, file_id_of(url))
        found = (e for e in self.entries if (e.report_type, e.period.granularity, e.period.start, e.file_id) == key)
        return next(found, None)


def parse_catalogue(
    namespace: str,
    body: t.Any,
    *,
    hub_url: str,
    overrides: t.Mapping[str, str],
    log: logging.Logger | logging.LoggerAdapter,
    quiet: bool = False,
) -> Catalogue:
    """The catalogue in an answer's ``body`` (None: HTTP 404, no reports). ``quiet``: a refresh, said before."""
    if body is None:
        if not quiet:
            log.info("Namespace %s: the report catalogue answered HTTP 404 (no reports)", namespace)
        return Catalogue(namespace, [])
    entries: dict[tuple[str, ReportPeriod, str], ReportEntry] = {}  # a file listed twice (two signings) counts once
    skipped = 0

    def entry_of(item: dict[str, t.Any]) -> ReportEntry | None:
        """One entry with a URL; None when it names no period (said here)."""
        url = urljoin(hub_url.rstrip("/") + "/", item["url"])
        name = file_name_of(url)
        catalogue_type = str(item.get("type") or "")
        period = period_of(item, name)
        if period is None:
            log.warning(
                "Namespace %s: report %r (type %r) names no period (expected `_weekly_YYYY_MM_DD.csv` or "
                "`_monthly_...`): skipped; please report this file name",
                namespace,
                name,
                catalogue_type,
            )
            return None
        report_type, known = report_type_of(catalogue_type, overrides)
        return ReportEntry(catalogue_type, report_type, known, period, name, file_id_of(url), url)

    for item in _items(namespace, body):
        if not _has_url(item):
            skipped += 1
            continue
        entry = entry_of(item)
        if entry is not None:
            entries[entry.report_type, entry.period, entry.file_id] = entry
    catalogue = Catalogue(namespace, sorted(entries.values(), key=lambda e: (e.report_type, e.period.start)))
    if not quiet:
        _describe(catalogue, skipped, log)
    return catalogue


def _items(namespace: str, body: t.Any) -> list[t.Any]:
    """The list of entries: under `reports`, or the body itself when it is a list; null is empty."""
    return answers.listed(body, "reports", what=f"namespace {namespace}: the report catalogue")


def _has_url(item: t.Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("url"), str) and bool(item.get("url"))


def _describe(catalogue: Catalogue, skipped: int, log: logging.Logger | logging.LoggerAdapter) -> None:
    """What the catalogue lists, once per run and namespace; a WARNING per type the tap does not know."""
    namespace = catalogue.namespace
    if skipped:
        log.warning("Namespace %s: %d report catalogue entries have no `url`: skipped", namespace, skipped)
    tally = Counter(f"{e.report_type}/{e.period.granularity}" for e in catalogue.entries)
    log.info(
        "Namespace %s: the report catalogue lists %d reports (%s)",
        namespace,
        len(catalogue.entries),
        ", ".join(f"{k} {v}" for k, v in sorted(tally.items())) or "none",
    )
    for catalogue_type in sorted({e.catalogue_type for e in catalogue.entries if not e.known}):
        log.warning(
            "Namespace %s: report type %r is not known to this tap: its rows go to `report_other` with every "
            "column in `values` (set `report_type_map` if it is one of the known reports)",
            namespace,
            catalogue_type,
        )
