"""The DVP program's CSV reports: one :class:`~tap_dockerdvp.dvp.views.ViewSpec` per report type.

The report catalogue (``GET {hub_url}/api/publisher/proxylytics/v1/namespaces/{ns}/reports``) lists
entries ``{"type": ..., "url": ".../<name>_weekly_YYYY_MM_DD.csv", ...}``. The columns below are the ones
Docker documents for each report (docs "Insights and analytics", DVP program tab); the reader maps them by
header name, so order and extra columns do not matter. Catalogue ``type`` strings are only partly known
(``trend`` and ``technographic`` were seen, ``summary`` is implied): :func:`report_type_of` accepts several
spellings and everything else goes to the generic ``report_other`` stream.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from tap_dockerdvp.dvp.periods import Period
from tap_dockerdvp.dvp.views import ViewSpec, column, normalise_header

OTHER = "other"
WEEK, MONTH = "week", "month"

#: Primary key of every report stream (the generic one included).
REPORT_KEY_PROPERTIES: tuple[str, ...] = (
    "namespace",
    "report_type",
    "granularity",
    "period_start",
    "file_index",
    "row_number",
)


_GRANULARITY = column("date_granularity", "string", "granularity")
_REFERENCE_DATE = column("date_reference", "date", "reference_date", "period_start")
_PUBLISHER = column("publisher_name", "string", "publisher")
_IMAGE_REPOSITORY = column("image_repository", "string", "repository", "image_repo")
_COUNTRY = column("ip_country", "string", "country")
_CSP = column("cloud_service_provider", "string", "csp", "cloud_provider")
_USER_AGENT = column("user_agent", "string")
_DOWNLOADS = column("data_downloads", "integer", "downloads")
_VERSION_CHECKS = column("version_checks", "integer", "version_check")
_PULLS = column("pulls", "integer", "pull_count")
_AUTH_USERS = column("unique_authenticated_users", "integer")
_DOMAIN = column("domain", "string", "company_domain")
_DVPP_IMAGE = column("dvpp_image", "string", "dvp_image")
_PAIRED_IMAGE = column("paired_image", "string")
_COMMON = (_GRANULARITY, _REFERENCE_DATE)

REPORT_SPECS: dict[str, ViewSpec] = {
    spec.view: spec
    for spec in (
        ViewSpec(
            view="summary",
            stream_name="report_summary",
            dataset="reports",
            columns=(
                *_COMMON,
                _PUBLISHER,
                column("level", "string"),
                column("reference", "string"),
                _DOWNLOADS,
                _VERSION_CHECKS,
                column("event_count", "integer", "events"),
            ),
            description="Summary report: the same totals at several LEVELs (every row and its LEVEL are kept).",
        ),
        ViewSpec(
            view="trends",
            stream_name="report_trends",
            dataset="reports",
            columns=(
                *_COMMON,
                _PUBLISHER,
                _IMAGE_REPOSITORY,
                # The file's NAMESPACE column; the record's `namespace` is the catalogue's namespace.
                column("repository_namespace", "string", "namespace", "image_namespace"),
                _COUNTRY,
                _CSP,
                _USER_AGENT,
                column("tag", "string"),
                _DOWNLOADS,
                _VERSION_CHECKS,
                _PULLS,
                _AUTH_USERS,
                column("unique_unauthenticated_users", "integer"),
            ),
            description="Trends report: pulls by repository, country, cloud, user agent, tag (null tag: by digest).",
        ),
        ViewSpec(
            view="technographic",
            stream_name="report_technographic",
            dataset="reports",
            columns=(
                *_COMMON,
                column("publisher_id", "string"),
                _PUBLISHER,
                _DVPP_IMAGE,
                _PAIRED_IMAGE,
                column("users", "integer"),
                column("total_pullers", "integer"),
                column("pct_users", "number", "percent_users", "users_pct"),
                column("domains", "integer"),
                column("total_domains", "integer"),
                column("pct_domains", "number", "percent_domains", "domains_pct"),
            ),
            description="Technographic report: images pulled together with the publisher's images.",
        ),
        ViewSpec(
            view="technographic_companies",
            stream_name="report_technographic_companies",
            dataset="reports",
            columns=(*_COMMON, _PUBLISHER, _DOMAIN, _DVPP_IMAGE, _PAIRED_IMAGE),
            description="Technographic companies report: company domains behind each image pairing.",
        ),
        ViewSpec(
            view="tracked_companies",
            stream_name="report_tracked_companies",
            dataset="reports",
            columns=(
                *_COMMON,
                _PUBLISHER,
                _DOMAIN,
                _COUNTRY,
                _CSP,
                _USER_AGENT,
                column("inferred_use_case", "string", "use_case"),
                _IMAGE_REPOSITORY,
                _DOWNLOADS,
                _VERSION_CHECKS,
                _PULLS,
                _AUTH_USERS,
            ),
            description="Tracked companies report: pulls of the companies the publisher tracks.",
        ),
    )
}

#: The generic report: no known column, every column kept in ``values`` (header as written → value).
GENERIC_SPEC = ViewSpec(
    view=OTHER,
    stream_name="report_other",
    dataset="reports",
    columns=(),
    description="Rows of report types this tap does not know yet, as header → value.",
    match_required=False,
    extra_key="values",
)


def stream_of(report_type: str) -> str:
    """The stream that holds a report type's rows: its own, or `report_other` for a type the tap does not know."""
    return (REPORT_SPECS.get(report_type) or GENERIC_SPEC).stream_name


# Catalogue `type` spellings (normalised, `_report(s)` suffix removed) → report type. Only `trend` and
# `technographic` were seen in the wild; the others are guesses. A bare `companies` is ambiguous: it goes to
# report_other unless the `report_type_map` setting says which it is.
_TYPE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "summary": ("summary", "summaries", "pull_summary", "pulls_summary"),
    "trends": ("trend", "trends", "pull_trends", "pulls_trends"),
    "technographic": ("technographic", "technographics", "techno", "technographic_pairs"),
    "technographic_companies": (
        "technographic_companies",
        "technographic_company",
        "technographics_companies",
        "technographic_domains",
        "companies_technographic",
    ),
    "tracked_companies": (
        "tracked_companies",
        "tracked_company",
        "companies_tracked",
        "company_tracking",
        "tracked_domains",
        "tracked",
    ),
}
_TYPES: dict[str, str] = {
    variant: report_type
    for report_type, spellings in _TYPE_SPELLINGS.items()
    for spelling in spellings
    for variant in (spelling, spelling.replace("_", ""))
}
_SUFFIX = re.compile(r"(?:_?reports?)$")


def normalise_type(catalogue_type: str) -> str:
    """``"Technographic-Companies Report"`` → ``technographic_companies``: the partition key of a type."""
    text = normalise_header(str(catalogue_type))
    stripped = _SUFFIX.sub("", text).strip("_")
    return stripped or text or "unknown"


def report_type_of(catalogue_type: str, overrides: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """(report type, known) for a catalogue ``type``: a key of :data:`REPORT_SPECS`, or the normalised type.

    ``overrides`` (the ``report_type_map`` setting) maps catalogue types, as written or normalised, to a key
    of :data:`REPORT_SPECS` or ``other``.
    """
    name = normalise_type(catalogue_type)
    for key, target in (overrides or {}).items():
        if key == catalogue_type or normalise_type(key) == name:
            target = normalise_type(target)
            target = _TYPES.get(target, target)
            return (target, True) if target in REPORT_SPECS else (name, False)
    found = _TYPES.get(name)
    return (found, True) if found else (name, False)


# --------------------------------------------------------------------------------------------------
# periods


_FILE_DATE = re.compile(  # the date may be followed by a part's number (`_part1`, an unload's `_0_0_0`)
    r"(?i)(?:^|[_\-.])(weekly|monthly|week|month)[_\-](\d{4})[_\-](\d{2})[_\-](\d{2})(?:[_\-][a-z0-9]+)*"
    r"\.csv(?:\.gz)?$"
)
_FILE_GRANULARITY = re.compile(r"(?i)(?:^|[_\-.])(weekly|monthly)(?:[_\-.]|$)")
_GRANULARITY_WORDS = {"week": WEEK, "weekly": WEEK, "weeks": WEEK, "month": MONTH, "monthly": MONTH, "months": MONTH}
_GRANULARITY_KEYS = ("granularity", "dategranularity", "periodtype", "frequency", "cadence", "timespan")
_START_KEYS = ("periodstart", "datereference", "start", "startdate", "referencedate", "date", "period")
_END_KEYS = ("periodend", "end", "enddate")  # any day of a period names it (`ReportPeriod.of`)


@dataclass(frozen=True, order=True)
class ReportPeriod(Period):
    """The week or month a report covers."""

    granularity: str  # "week" or "month"

    @classmethod
    def of(cls, granularity: str, day: dt.date) -> ReportPeriod:
        """The week (Monday to Sunday) or month that holds ``day``: a file is named for its period's first day,
        and one named for another (its last, say) still names its period."""
        if granularity == WEEK:
            start = day - dt.timedelta(days=day.weekday())
            return cls(start, start + dt.timedelta(days=6), WEEK)
        last = calendar.monthrange(day.year, day.month)[1]
        return cls(day.replace(day=1), dt.date(day.year, day.month, last), MONTH)


def file_name_of(url: str) -> str:
    """The last path segment of a URL, without its query string (which may hold a signature)."""
    return unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])


def period_of(entry: Mapping[str, Any], file_name: str) -> ReportPeriod | None:
    """The report's period: from ``..._weekly_YYYY_MM_DD.csv`` in its file name, else from entry fields."""
    m = _FILE_DATE.search(file_name)
    if m:
        try:
            return ReportPeriod.of(_GRANULARITY_WORDS[m[1].lower()], dt.date(int(m[2]), int(m[3]), int(m[4])))
        except ValueError:
            pass
    fields = {normalise_header(str(k)).replace("_", ""): v for k, v in entry.items()}  # periodStart, period_start
    granularity = next(
        (_GRANULARITY_WORDS.get(str(fields[k]).strip().lower()) for k in _GRANULARITY_KEYS if k in fields), None
    )
    if granularity is None and (word := _FILE_GRANULARITY.search(file_name)):  # `..._weekly.csv`, the day in fields
        granularity = _GRANULARITY_WORDS[word[1].lower()]
    for key in (*_START_KEYS, *_END_KEYS):
        value = fields.get(key)
        day = _day_of(value) if granularity and isinstance(value, str) else None
        if granularity and day is not None:
            return ReportPeriod.of(granularity, day)
    return None


def _day_of(text: str) -> dt.date | None:
    """The UTC day a date or date-time names: `2026-11-08T23:00:00-01:00` is the 9th (its first ten characters,
    the 8th, filed the report under the week before)."""
    text = text.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return None
    return moment.astimezone(dt.timezone.utc).date() if moment.tzinfo else moment.date()
