"""Deterministic Docker DVP data for the simulator.

Everything here is a pure function of a :class:`SimConfig`: the same config gives the same rows and
the same bytes. A namespace's data is a sequence of days ``[data_start(cfg), cfg.end_date)``; each
day's raw rows come from a ``random.Random`` seeded with ``(seed, namespace, day)``, so a week or a
month is exactly the union of its days and a timespan that is still open grows as the clock
(``end_date``) moves.

A raw row is fully determined by a *target* (repository, reference, action) and a *client* (IP,
country, type, host, user agent, domain): both come from per-namespace pools built once. The
summary views are computed from the same (target, client) draws, so they always agree with the raw
rows of their timespan.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import io
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

NULL = "\\N"  # how the exports write an unknown value
GZIP_LEVEL = 1  # fast; the benchmark writes files of millions of rows

HEADER_STYLES = ("title", "snake", "upper")
REPORT_URL_STYLES = ("hub", "presigned", "redirect")  # see simulator/reports.py
REPORT_FILE_NAMES = ("typed", "folders")  # `<ns>_<type>_<granularity>_<date>.csv`, or `<type>/<ns>_<granularity>_...`
LOGIN_MODES = ("legacy", "retired-401", "retired-404", "retired-410", "token-only")
ROOT_NAMESPACES = ("with-data", "accessible")
NAMESPACES_ENDPOINTS = ("available", "404", "405")
EMPTY_LISTS = ("array", "null")
EXTENSION_VIEW_PATHS = ("pulls", "dataset", "both")
ROW_SHAPES = ("compact", "wide")
WEEK_NUMBERINGS = ("iso", "first-monday", "sunday-start")
PAT_PREFIX = "dckr_pat_"  # Docker's personal access tokens start with this
#: The User agent value written with one non-UTF-8 byte (0xE9, "é" in latin-1 and cp1252) by ``latin1_rows``.
LATIN1_USER_AGENT = "Mozilla/5.0 (Macintosh; caf\u00e9)"
TIMESPAN_TYPES = ("weeks", "months")
PULL_VIEWS = ("raw", "summary", "repo-summary", "namespace-summary", "geo-repo-summary")
EXT_VIEWS = ("ext-summary",)

RAW_COLUMNS: tuple[str, ...] = (
    "action",
    "action_day",
    "country",
    "digest",
    "http_method",
    "host",
    "namespace",
    "reference",
    "repository",
    "tag",
    "timestamp",
    "type",
    "user_agent_tool",
    "user_agent_version",
    "domain",
    "owner",
)

#: Canonical (snake) column names of every view, in file order (raw: then the extra columns).
VIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "raw": RAW_COLUMNS,
    "summary": (
        "namespace",
        "repository",
        "reference",
        "tag",
        "digest",
        "unique_ip_count",
        "pull_by_tag",
        "pull_by_digest",
        "version_check",
        "owner",
    ),
    "repo-summary": (
        "namespace",
        "repository",
        "unique_ip_count",
        "pull_by_tag",
        "pull_by_digest",
        "version_check",
        "owner",
    ),
    "namespace-summary": (
        "namespace",
        "unique_ip_count",
        "pull_by_tag",
        "pull_by_digest",
        "version_check",
    ),
    "geo-repo-summary": (
        "namespace",
        "repository",
        "country",
        "unique_ip_count",
        "pull_by_tag",
        "pull_by_digest",
        "version_check",
    ),
    "ext-summary": (
        "namespace",
        "extension",
        "installs",
        "total_installs",
        "uninstalls",
        "total_uninstalls",
        "updates",
    ),
}

#: The "title" header style: Docker's documentation wording.
TITLE_HEADERS: dict[str, str] = {
    "action": "Action",
    "action_day": "Action day",
    "country": "Country",
    "digest": "Digest",
    "http_method": "HTTP method",
    "host": "Host",
    "namespace": "Namespace",
    "reference": "Reference",
    "repository": "Repository",
    "tag": "Tag",
    "timestamp": "Timestamp",
    "type": "Type",
    "user_agent_tool": "User agent tool",
    "user_agent_version": "User agent version",
    "domain": "Domain",
    "owner": "Owner",
    "unique_ip_count": "Unique IP address",
    "pull_by_tag": "Pull by tag",
    "pull_by_digest": "Pull by digest",
    "version_check": "Version check",
    "extension": "Extension",
    "installs": "Installs",
    "total_installs": "TotalInstalls",
    "uninstalls": "Uninstalls",
    "total_uninstalls": "TotalUninstalls",
    "updates": "Updates",
    "ip_hash": "IP hash",
    "os": "OS",
    "arch": "Architecture",
    "ip_version": "IP version",
}


@dataclass(frozen=True)
class SimConfig:
    """What the simulated Docker Hub holds and how it answers. Frozen, hashable: change it with dataclasses.replace.

    Defaults follow Docker's published spec (docker/docs ``content/reference/api/dvp/latest.yaml`` and
    ``.../hub/latest.yaml``); a field marked *assumption* sets a behaviour the spec does not state (the list is in
    :mod:`.server`).

    Data:

    - ``namespaces``: every namespace the user can read (``GET /namespaces``, ``GET /namespaces/{ns}``).
    - ``extension_namespaces``: namespaces that also have the ``extensions`` dataset (``ext-summary``).
    - ``weeks``, ``end_date`` ("today"), ``rows_per_week``, ``files_per_timespan``, ``include_partial`` (also
      list the open week and month), ``header_style``, ``extra_columns`` (raw columns after the 16 documented).
    - ``row_shape``: ``compact`` (short values, nulls where IA.md says a value may be missing) or ``wide`` (all 16
      raw columns filled, 100-200 character user agents, 64-hex digests, long tags, domains and owners; for the
      benchmark). *Assumption*: no public sample of the raw file exists. In both shapes a raw row's ``Timestamp``
      is its pull's moment, the day's rows spread over its seconds in row order (the spec gives one timestamp per
      pull, not their order or spread).
    - ``latin1_rows``: per raw file, this many rows whose ``User agent tool`` is :data:`LATIN1_USER_AGENT` written
      as latin-1 (a lone 0xE9 byte, not UTF-8); :func:`latin1_cells` says which rows.
    - ``week_numbering``: how listed weeks are numbered and which days a week's files hold: ``iso`` (ISO 8601,
      matches the spec's only example), ``first-monday`` (strftime ``%W``: week 1 starts on the year's first
      Monday, days before it are week 0) or ``sunday-start`` (``%U``: Sunday to Saturday). The last two simulate a
      calendar mismatch: listed week N holds days outside ISO week N.
    - ``extra_listed_weeks``: ``(year, week)`` pairs also listed by ``.../years/{year}/weeks`` (e.g. ``(2025, 53)``
      or ``(2026, 0)``, which ISO lacks); their data view answers ``{"data": []}``. *Assumption*.

    Namespace discovery:

    - ``empty_export_namespaces``: accessible namespaces with no legacy export data: not in ``GET /`` (with
      ``root_namespaces="with-data"``), no export years, ``pulls`` empty on the legacy ``/pulls`` endpoints.
    - ``report_namespaces``: namespaces whose DVP program report catalogue lists reports (see :mod:`.reports`).
    - ``report_only_namespaces``: the current DVP program's customers: shorthand for "in both of the above"
      (added to both tuples). Every one of the three must be in ``namespaces``.
    - ``root_namespaces``: ``with-data`` (spec: ``GET /`` lists the namespaces "which have data available") or
      ``accessible`` (every namespace, the simulator's old behaviour).
    - ``namespaces_endpoint``: ``available`` (spec), or ``404`` / ``405``: ``GET /namespaces`` answers that
      status (*assumption*: how an account without the listing would see it), to test a fallback to ``GET /``.

    Response shapes:

    - ``deleted_repositories``: ``ns/repo`` names of repositories deleted on Docker Hub: gone from the Hub
      repository listing (and ``/v2/namespaces/{ns}/repositories/{repo}`` answers 404). Their past pulls stay in
      the exports and the pull statistics. *Assumption*: the spec does not say what Docker keeps of a deleted
      repository's analytics.

    - ``empty_lists``: ``array`` (spec: empty arrays are ``[]``) or ``null`` (*assumption*: the ``null`` some
      responses may carry) for ``namespaces``, ``extraRepos``, ``years``, ``weeks``/``months``, ``data``,
      ``pulls``.
    - ``metadata_extras``: add ``publisherType: "DVP"`` and ``extensionPublisher`` to NamespaceMetadata (only in
      the newer site examples, not the GitHub spec).
    - ``extension_view_path``: where the ``extensions`` dataset's views (``ext-summary``) and listings are served:
      ``pulls`` (``/namespaces/{ns}/pulls/exports/...``, the only data-view path the spec documents, whose
      ``dataview`` enum on the site includes the ``ext-*`` views), ``dataset``
      (``/namespaces/{ns}/extensions/exports/...`` only) or ``both``. A view asked under the other path is 404.
      *Assumption* (undocumented).

    Logins:

    - ``username``, ``password`` (the credential the tap is given; the default is a personal access token),
      ``account_password`` (optional: the account's password, accepted too), ``totp_secret`` (base32: 2FA on).
      A secret starting ``dckr_pat_`` is a personal access token and never gets a 2FA challenge; any other
      secret does when ``totp_secret`` is set.
    - ``pat_two_factor``: challenge personal access tokens too (not Docker's behaviour; the simulator's old one).
    - ``auth_token_skips_2fa``: ``/v2/auth/token`` accepts a password of a 2FA account (default False: 401, since
      that route has no second step). *Assumption*.
    - ``login_mode``: ``legacy`` (``/v2/users/login`` works, as documented), ``retired-401`` (it answers every
      login like wrong credentials), ``retired-404``, ``retired-410`` (``{"detail": "Gone"}``), ``token-only``
      (410 naming ``/v2/auth/token``, on both ``/v2/users/login`` and ``/v2/users/2fa-login``). The retired
      modes are *assumptions*: the route is ``deprecated: true`` and how it ends is unknown.
    - ``token_ttl`` (JWT lifetime), ``url_ttl`` (presigned URL lifetime; the spec says six hours).
    """

    seed: int = 7
    namespaces: tuple[str, ...] = ("acme", "globex")
    extension_namespaces: tuple[str, ...] = ()
    repos_per_namespace: int = 12
    weeks: int = 6
    end_date: date = field(default_factory=date.today)
    rows_per_week: int = 1400
    files_per_timespan: int = 1
    include_partial: bool = True
    header_style: str = "title"
    extra_columns: tuple[str, ...] = ("ip_hash",)
    row_shape: str = "compact"
    latin1_rows: int = 0
    week_numbering: str = "iso"
    extra_listed_weeks: tuple[tuple[int, int], ...] = ()
    username: str = "demo"
    password: str = "dckr_pat_demo-secret-token"  # noqa: S105 - the simulator's demo credential
    account_password: str | None = None
    totp_secret: str | None = None
    pat_two_factor: bool = False
    auth_token_skips_2fa: bool = False
    login_mode: str = "legacy"
    token_ttl: int = 600
    url_ttl: int = 21600
    repos_page_max: int = 100
    deleted_repositories: tuple[str, ...] = ()
    rate_limit: int = 180  # X-RateLimit-Limit (reported, not enforced; use a rate_limit fault for 429)
    root_namespaces: str = "with-data"
    namespaces_endpoint: str = "available"
    empty_lists: str = "array"
    metadata_extras: bool = False
    extension_view_path: str = "pulls"
    # The DVP program's report catalogue (simulator/reports.py). Namespaces not listed have an empty catalogue.
    report_namespaces: tuple[str, ...] = ()
    # Namespaces without legacy export data (no years; legacy /pulls empty), as mezmo found.
    empty_export_namespaces: tuple[str, ...] = ()
    report_only_namespaces: tuple[str, ...] = ()
    report_types: tuple[str, ...] = (
        "summary",
        "trend",
        "technographic",
        "technographic-companies",
        "tracked_companies",
    )
    unknown_report_types: tuple[str, ...] = ("benchmark",)  # types a tap cannot know yet
    report_granularities: tuple[str, ...] = ("weekly", "monthly")
    report_retention: int = 4  # the catalogue keeps the newest N reports per type and granularity
    report_url_style: str = "hub"  # hub (Bearer on the Hub host), presigned (other host), redirect (hub -> storage)
    # the `<name>` of Docker's `<name>_weekly_YYYY_MM_DD.csv` is unknown: typed (the type in the name) or folders (a
    # folder per type, one name for every type)
    report_file_names: str = "typed"

    def __post_init__(self) -> None:
        def fix(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in _TUPLE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            fix(name, tuple(value or ()))
        if self.report_only_namespaces:  # shorthand: reports, and no legacy export data
            for name in ("report_namespaces", "empty_export_namespaces"):
                fix(name, tuple(dict.fromkeys((*getattr(self, name), *self.report_only_namespaces))))
        fix("extra_listed_weeks", _parse_weeks(self.extra_listed_weeks))
        if isinstance(self.end_date, str):
            fix("end_date", date.fromisoformat(self.end_date))
        for name in ("totp_secret", "account_password"):
            if getattr(self, name) == "":
                fix(name, None)
        if not self.namespaces:
            raise ValueError("at least one namespace is needed")
        for name, allowed in (
            ("header_style", HEADER_STYLES),
            ("login_mode", LOGIN_MODES),
            ("row_shape", ROW_SHAPES),
            ("week_numbering", WEEK_NUMBERINGS),
            ("root_namespaces", ROOT_NAMESPACES),
            ("namespaces_endpoint", NAMESPACES_ENDPOINTS),
            ("empty_lists", EMPTY_LISTS),
            ("extension_view_path", EXTENSION_VIEW_PATHS),
            ("report_url_style", REPORT_URL_STYLES),
            ("report_file_names", REPORT_FILE_NAMES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        if self.files_per_timespan < 1 or self.weeks < 0 or self.rows_per_week < 0 or self.latin1_rows < 0:
            raise ValueError("files_per_timespan must be >= 1, weeks, rows_per_week and latin1_rows >= 0")
        if self.repos_per_namespace < 1 or self.repos_page_max < 1:
            raise ValueError("repos_per_namespace and repos_page_max must be >= 1")
        for name in ("report_only_namespaces", "extension_namespaces", "report_namespaces", "empty_export_namespaces"):
            unknown = set(getattr(self, name)) - set(self.namespaces)
            if unknown:
                raise ValueError(f"{name} not in namespaces: {sorted(unknown)}")
        for full_name in self.deleted_repositories:
            namespace, _, name = full_name.partition("/")
            if namespace not in self.namespaces or not name:
                raise ValueError(f"deleted_repositories: {full_name!r} is not `namespace/repository` of a namespace")
        if self.report_retention < 1:
            raise ValueError("report_retention must be >= 1")
        if set(self.report_granularities) - {"weekly", "monthly"}:
            raise ValueError("report_granularities: weekly and/or monthly")

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["end_date"] = self.end_date.isoformat()
        for name in _TUPLE_FIELDS:
            out[name] = list(out[name])
        out["extra_listed_weeks"] = [list(w) for w in self.extra_listed_weeks]
        return out

    def is_pat(self, secret: str) -> bool:
        """Whether a login secret is a personal access token (which never gets a 2FA challenge)."""
        return secret.startswith(PAT_PREFIX)

    def has_export_data(self, namespace: str) -> bool:
        return namespace not in self.empty_export_namespaces


_TUPLE_FIELDS = (
    "namespaces",
    "deleted_repositories",
    "extension_namespaces",
    "extra_columns",
    "report_namespaces",
    "empty_export_namespaces",
    "report_only_namespaces",
    "report_types",
    "unknown_report_types",
    "report_granularities",
)


def _parse_weeks(value: Any) -> tuple[tuple[int, int], ...]:
    """``((2025, 53), ...)`` from pairs, ``[[2025, 53]]`` (JSON) or ``"2025-53,2026-0"`` (the command line)."""
    if isinstance(value, str):
        value = [item.strip().split("-") for item in value.split(",") if item.strip()]
    out = []
    for item in value or ():
        year, week = (int(v) for v in item)
        if week < 0:
            raise ValueError(f"extra_listed_weeks: week {week} of {year} is negative")
        out.append((year, week))
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------------
def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def data_start(cfg: SimConfig) -> date:
    """First day with data: the Monday ``weeks`` complete weeks before the current week."""
    return monday_of(cfg.end_date) - timedelta(weeks=cfg.weeks)


def week_of(day: date, numbering: str = "iso") -> tuple[int, int]:
    """``(year, week)`` of a day under a week numbering (see ``SimConfig.week_numbering``)."""
    if numbering == "iso":
        iso = day.isocalendar()
        return iso[0], iso[1]
    return day.year, int(day.strftime("%W" if numbering == "first-monday" else "%U"))


def timespan_bounds(timespan_type: str, year: int, number: int, numbering: str = "iso") -> tuple[date, date]:
    """First and last day (inclusive) of week ``number`` of ``year`` (ISO by default), or of a month.

    Under ``first-monday`` / ``sunday-start`` a week never crosses a year end: week 0 is 1 January up to the day
    before the year's first Monday / Sunday, and the year's last week ends on 31 December.
    """
    if timespan_type == "weeks":
        if numbering == "iso":
            start = date.fromisocalendar(year, number, 1)
            return start, start + timedelta(days=6)
        jan1, dec31 = date(year, 1, 1), date(year, 12, 31)
        first = jan1 + timedelta(days=((0 if numbering == "first-monday" else 6) - jan1.weekday()) % 7)
        if number == 0:
            start, end = jan1, first - timedelta(days=1)
        else:
            start = first + timedelta(weeks=number - 1)
            end = min(start + timedelta(days=6), dec31)
        if number < 0 or start.year != year or end < start:
            raise ValueError(f"{year} has no week {number} under {numbering!r} numbering")
        return start, end
    if timespan_type == "months":
        start = date(year, number, 1)
        nxt = date(year + (number == 12), number % 12 + 1, 1)
        return start, nxt - timedelta(days=1)
    raise ValueError(f"unknown timespan type {timespan_type!r}")


def bounds(cfg: SimConfig, timespan_type: str, year: int, number: int) -> tuple[date, date]:
    """:func:`timespan_bounds` under the config's week numbering."""
    return timespan_bounds(timespan_type, year, number, cfg.week_numbering)


def data_days(cfg: SimConfig, start: date, end: date) -> tuple[date, date] | None:
    """The part of ``[start, end]`` (inclusive) that has data, or None."""
    lo = max(start, data_start(cfg))
    hi = min(end, cfg.end_date - timedelta(days=1))
    return (lo, hi) if lo <= hi else None


def listed_timespans(
    cfg: SimConfig,
    namespace: str,
    timespan_type: str,
    *,
    include_partial: bool | None = None,
    numbering: str | None = None,
) -> list[tuple[int, int, date, date]]:
    """Timespans the API lists: complete ones, plus the current open one when ``include_partial``.

    Each item is ``(year, number, first_day, last_day)``; weeks are numbered by ``numbering`` (default: the
    config's ``week_numbering``; ISO weeks use ISO years). ``extra_listed_weeks`` are not included.
    """
    if include_partial is None:
        include_partial = cfg.include_partial
    numbering = numbering or cfg.week_numbering
    first, last = data_start(cfg), cfg.end_date - timedelta(days=1)
    out: list[tuple[int, int, date, date]] = []
    if last < first:
        return out
    if timespan_type == "weeks":
        seen: set[tuple[int, int]] = set()
        d = first
        while d <= last:
            key = week_of(d, numbering)
            if key not in seen:
                seen.add(key)
                start, end = timespan_bounds("weeks", *key, numbering)
                if end < cfg.end_date or include_partial:
                    out.append((*key, start, end))
            d += timedelta(days=1)
    elif timespan_type == "months":
        y, m = first.year, first.month
        while date(y, m, 1) <= last:
            start, end = timespan_bounds("months", y, m)
            if end < cfg.end_date or include_partial:
                out.append((y, m, start, end))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    else:
        raise ValueError(f"unknown timespan type {timespan_type!r}")
    return out


def complete_timespans(
    cfg: SimConfig, namespace: str, timespan_type: str, *, numbering: str | None = None
) -> list[tuple[int, int, date, date]]:
    """Complete timespans with data: ``(year, number, first_day, last_day)``, last day inclusive."""
    return listed_timespans(cfg, namespace, timespan_type, include_partial=False, numbering=numbering)


def listed_years(cfg: SimConfig, namespace: str) -> list[int]:
    years = {y for t in TIMESPAN_TYPES for (y, _n, _s, _e) in listed_timespans(cfg, namespace, t)}
    years.update(y for y, _w in cfg.extra_listed_weeks)
    return sorted(years)


# --------------------------------------------------------------------------------------------------
# Value pools
# --------------------------------------------------------------------------------------------------
_COUNTRIES = (
    ("US", 30),
    ("DE", 8),
    ("GB", 6),
    ("IN", 6),
    ("CN", 5),
    ("FR", 5),
    ("NL", 4),
    ("JP", 4),
    ("BR", 3),
    ("CA", 3),
    ("IE", 3),
    ("SG", 3),
    ("KR", 2),
    ("AU", 2),
    ("SE", 2),
    ("PL", 2),
    ("ES", 2),
    ("IT", 2),
    ("FI", 1),
    ("CH", 1),
    ("IL", 1),
    ("ZA", 1),
    ("MX", 1),
    ("VN", 1),
    (NULL, 1),
)
_TYPES = (("business", 34), ("hosting", 32), ("isp", 22), ("education", 4), ("null", 8))
_CLOUDS = (("aws", 45), ("gcp", 20), ("azure", 20), ("oracle", 5), (NULL, 10))
_BUSINESS_DOMAINS = (
    "example-corp.com",
    "initech.io",
    "umbrella-labs.net",
    "hooli.dev",
    "stark-industries.com",
    "wayne-enterprises.com",
    "cyberdyne.ai",
    "soylent.co",
    "tyrell.io",
    "wonka-industries.com",
    "vandelay.com",
    "massive-dynamic.net",
    "aperture-science.org",
    "blue-sun.io",
    "oscorp.tech",
    "gringotts.bank",
)
_EDU_DOMAINS = ("uni-example.edu", "tech-university.ac.uk", "hochschule-beispiel.de", "polytech.fr")
_HOSTING_DOMAINS = ("amazonaws.com", "googleusercontent.com", "cloudapp.azure.com", "", "", "")
_ISP_DOMAINS = ("", "", "", "comcast.net", "telekom.de", "bt.com", NULL)
_UA = (
    ("docker", 40, ("27.3.1", "26.1.4", "25.0.5", "24.0.7", "20.10.24", "28.0.1")),
    ("containerd", 24, ("1.7.13", "v1.7.22", "1.6.28", "2.0.0", "v1.6.33")),
    ("kubelet", 6, ("v1.30.4", "v1.29.8", "v1.31.1", "v1.28.13")),
    ("buildkit", 9, ("v0.12.5", "v0.16.0", "v0.15.2", "v0.17.3")),
    ("podman", 5, ("4.9.3", "5.2.2", "4.6.1")),
    ("go-containerregistry", 2, ("v0.20.2", "v0.19.1")),
    (NULL, 10, (NULL,)),
)
_REPO_WORDS = (
    "server",
    "agent",
    "cli",
    "operator",
    "proxy",
    "gateway",
    "worker",
    "dashboard",
    "exporter",
    "sidecar",
    "runtime",
    "scheduler",
    "collector",
    "controller",
    "database",
    "cache",
    "broker",
    "connector",
    "builder",
    "toolbox",
    "installer",
    "api",
    "web",
    "init",
    "migrate",
    "backup",
    "monitor",
    "relay",
    "indexer",
    "studio",
)
_OWNER_SUFFIXES = (" Corporation", " GmbH", ", Ltd.", " Labs", " Software")
_ACTIONS = (("pull_by_tag", 55), ("pull_by_digest", 30), ("version_check", 15))
_EXTRA_REPO = ("otherns", "legacy-image")  # listed in extraRepos of the first namespace
_EXTENSION_REPOS = ("desktop-extension", "insights-extension")
_WEEKDAY_WEIGHTS = (1.12, 1.16, 1.14, 1.10, 1.04, 0.72, 0.72)

# The wide row shape (row_shape="wide"): every raw column filled, long realistic values.
_WIDE_TAG_FLAVOURS = (
    "bookworm-slim-20260105-linux-amd64",
    "alpine3.21-fips-202601-build.4521",
    "ubi9-minimal-9.5-1736404036-enterprise",
    "jammy-cuda12.6.3-cudnn9-runtime-ubuntu22.04",
    "noble-20260112-debug-nonroot-multiarch",
)
_WIDE_DOMAIN_HOSTS = (
    "ci-runner-pool-{n:02d}",
    "build-farm-{n:02d}",
    "k8s-node-group-{n:02d}",
    "dev-workstation-{n:03d}",
)
_WIDE_REGIONS = ("eu-west-1", "us-east-2", "ap-southeast-1", "europe-west4", "westeurope", "us-central1")
_WIDE_OWNER_TAILS = (
    " Global Container Platform Engineering Holdings, Inc.",
    " International Cloud Native Software Distribution GmbH",
    " Enterprise Developer Tooling and Infrastructure Services Ltd.",
)
_KERNELS = ("6.8.0-1019-aws", "5.15.0-1071-azure", "6.1.0-28-cloud-amd64", "6.6.56+", "5.10.228-219.884.amzn2.x86_64")


def _wide_user_agent(rng: random.Random) -> tuple[str, str]:
    """(a 100-200 character User-Agent header as real clients send it, its version)."""
    arch = rng.choice(("amd64", "arm64"))
    kernel = rng.choice(_KERNELS)
    go = f"go/go1.{rng.randint(21, 23)}.{rng.randint(1, 12)}"
    commit = f"{rng.getrandbits(28):07x}"
    kind = rng.choices(("docker", "containerd", "buildkit", "kubelet", "podman", "desktop"), (40, 24, 9, 6, 5, 6))[0]
    if kind == "docker":
        v = rng.choice(("27.3.1", "26.1.4", "25.0.5", "24.0.7", "28.0.1"))
        ua = (
            f"docker/{v} {go} git-commit/{commit} kernel/{kernel} os/linux arch/{arch} "
            f"UpstreamClient(Docker-Client/{v} \\(linux\\))"
        )
    elif kind == "containerd":
        v = rng.choice(("1.7.13", "1.7.22", "1.6.28", "2.0.0", "1.6.33"))
        ua = (
            f"containerd/v{v} (linux; {arch}) {go} cri-plugin/v1 kubelet/v1.30.{rng.randint(0, 9)} "
            f"kubernetes/{commit} runc/1.1.{rng.randint(9, 15)} kernel/{kernel}"
        )
    elif kind == "buildkit":
        v = rng.choice(("v0.12.5", "v0.16.0", "v0.15.2", "v0.17.3"))
        ua = (
            f"buildkit/{v} (linux; {arch}) {go} moby-buildkit-frontend/dockerfile.v0 "
            f"docker-buildx/v0.19.{rng.randint(0, 3)} github-actions-runner/2.321.0 git-commit/{commit}"
        )
    elif kind == "kubelet":
        v = rng.choice(("v1.30.4", "v1.29.8", "v1.31.1", "v1.28.13"))
        ua = (
            f"kubelet/{v} (linux/{arch}) kubernetes/{commit} cri-o/1.30.{rng.randint(0, 9)} "
            f"conmon/2.1.12 {go} os-release/rhcos-417.94 kernel/{kernel}"
        )
    elif kind == "podman":
        v = rng.choice(("4.9.3", "5.2.2", "4.6.1"))
        ua = (
            f"libpod/{v} (linux; {arch}) containers-image/5.32.{rng.randint(0, 2)} {go} "
            f"skopeo-compatible/1.16.1 buildah/1.37.{rng.randint(0, 5)} kernel/{kernel}"
        )
    else:
        v = rng.choice(("4.37.1", "4.36.0", "4.35.1"))
        ua = (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/131.0.{rng.randint(1000, 9999)}.{rng.randint(10, 99)} Safari/537.36 Docker-Desktop/{v}"
        )
    return ua, v


def _wide_domain(rng: random.Random, base: str) -> str:
    host = rng.choice(_WIDE_DOMAIN_HOSTS).format(n=rng.randint(1, 120))
    return f"{host}.{rng.choice(_WIDE_REGIONS)}.build-infrastructure.{base}"


def _rng(*parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in parts))


def _digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def owner_name(cfg: SimConfig, namespace: str) -> str:
    """The organisation name written in the Owner column (the first one contains a comma)."""
    if cfg.row_shape == "wide":
        tails = _WIDE_OWNER_TAILS if namespace == cfg.namespaces[0] else _WIDE_OWNER_TAILS[1:]
        return namespace.capitalize() + _rng(cfg.seed, namespace, "owner").choice(tails)
    if namespace == cfg.namespaces[0]:
        return f"{namespace.capitalize()}, Inc."
    return namespace.capitalize() + _rng(cfg.seed, namespace, "owner").choice(_OWNER_SUFFIXES)


def repo_names(cfg: SimConfig, namespace: str) -> list[str]:
    """The namespace's own repositories (not the extraRepos), in a stable order."""
    return _repo_names(cfg.seed, namespace, cfg.repos_per_namespace, namespace in cfg.extension_namespaces)


def _repo_names(seed: int, namespace: str, count: int, is_extension: bool) -> list[str]:
    words = list(_REPO_WORDS)
    _rng(seed, namespace, "repos").shuffle(words)
    names: list[str] = []
    for i in range(count):
        word = words[i % len(words)]
        names.append(word if i < len(words) else f"{word}-{i // len(words) + 1}")
    if is_extension:
        k = min(len(_EXTENSION_REPOS), len(names))
        names[len(names) - k :] = _EXTENSION_REPOS[:k]
    return names


def extra_repos(cfg: SimConfig, namespace: str) -> list[str] | None:
    return ["/".join(_EXTRA_REPO)] if namespace == cfg.namespaces[0] else None


def extension_names(cfg: SimConfig, namespace: str) -> list[str]:
    if namespace not in cfg.extension_namespaces:
        return []
    return [f"{namespace}/{n}" for n in repo_names(cfg, namespace) if n in _EXTENSION_REPOS]


def _tags(rng: random.Random) -> list[tuple[str, str, float]]:
    """(tag, release id, weight): aliases (latest, M, M.m) share the newest release's digest."""
    major, minor = rng.randint(1, 4), rng.randint(0, 12)
    patch = rng.randint(3, 9)
    newest = f"{major}.{minor}.{patch}"
    out = [("latest", newest, 30.0), (f"{major}", newest, 4.0), (f"{major}.{minor}", newest, 8.0)]
    for k in range(4):  # recent patch releases, each its own digest
        out.append((f"{major}.{minor}.{patch - k}", f"{major}.{minor}.{patch - k}", 10.0 / (k + 1)))
    for k in range(1, 3):  # older minors
        if minor - k >= 0:
            v = f"{major}.{minor - k}.{rng.randint(0, 9)}"
            out.append((v, v, 2.0 / k))
            out.append((f"{major}.{minor - k}", v, 1.0 / k))
    if rng.random() < 0.5:
        out.append((f"{newest}-alpine", newest + "-alpine", 5.0))
    return out


@dataclass
class _Pools:
    """Per-namespace pools. targets[i] = (action, digest, method, namespace, reference, repository,
    tag, owner, summary_tag, summary_digest, action_code); clients[i] = (country, host, type, tool,
    version, domain, extra_values)."""

    targets: list[tuple]
    target_cw: list[float]
    clients: list[tuple]
    client_cw: list[float]
    day_counts: tuple[int, ...]  # rows per weekday (Monday first)
    target_frags: list[tuple[str, str, str, str]] = field(default_factory=list)  # CSV pieces
    client_frags: list[tuple[str, str, str, str]] = field(default_factory=list)


def _weekday_counts(rows_per_week: int) -> tuple[int, ...]:
    total = sum(_WEEKDAY_WEIGHTS)
    exact = [rows_per_week * w / total for w in _WEEKDAY_WEIGHTS]
    counts = [int(x) for x in exact]
    order = sorted(range(7), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: rows_per_week - sum(counts)]:
        counts[i] += 1
    return tuple(counts)


def _extra_value(name: str, rng: random.Random, key: str) -> str:
    if name == "ip_hash":
        return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    if name == "os":
        return rng.choices(("linux", "windows", "darwin", NULL), (90, 4, 4, 2))[0]
    if name == "arch":
        return rng.choices(("amd64", "arm64", "arm", "s390x", "ppc64le", NULL), (70, 24, 2, 1, 1, 2))[0]
    if name == "ip_version":
        return rng.choices(("4", "6"), (85, 15))[0]
    return rng.choice(("alpha", "beta", "gamma", "", NULL))


def _extras(columns: tuple[str, ...], rng: random.Random, seed: int, namespace: str, i: int) -> tuple[str, ...]:
    return tuple(_extra_value(c, rng, f"{seed}|{namespace}|{i}|{c}") for c in columns)


@lru_cache(maxsize=32)
def _pools(
    seed: int,
    namespace: str,
    is_first: bool,
    is_extension: bool,
    repos_per_namespace: int,
    rows_per_week: int,
    extra_columns: tuple[str, ...],
    owner: str,
    wide: bool = False,
) -> _Pools:
    rng = _rng(seed, namespace, "pools")
    repos = [(namespace, r) for r in _repo_names(seed, namespace, repos_per_namespace, is_extension)]
    repo_weights = [1.0 / (i + 1) ** 1.1 for i in range(len(repos))]
    rng.shuffle(repo_weights)
    if is_first:
        repos.append(_EXTRA_REPO)
        repo_weights.append(0.03 * sum(repo_weights))
    targets: list[tuple] = []
    weights: list[float] = []
    for (ns_col, repo), rw in zip(repos, repo_weights, strict=True):
        tags = _tags(_rng(seed, ns_col, repo, "tags"))
        tag_total = sum(t[2] for t in tags)
        for tag, release, tw in tags:
            dg = _digest(seed, ns_col, repo, release)
            if wide:  # a long tag; a pull by digest and a version check carry both the tag and the digest
                tag = f"{tag}-{_rng(seed, ns_col, repo, release, 'flavour').choice(_WIDE_TAG_FLAVOURS)}"
            for code, (action, aw) in enumerate(_ACTIONS):
                if code == 0:
                    t = (action, dg, "GET", ns_col, tag, repo, tag, owner, tag, dg, code)
                elif wide and code == 1:
                    t = (action, dg, "GET", ns_col, dg, repo, tag, owner, tag, dg, code)
                elif wide:
                    t = (action, dg, "HEAD", ns_col, tag, repo, tag, owner, tag, dg, code)
                elif code == 1:
                    t = (action, dg, "GET", ns_col, dg, repo, NULL, owner, NULL, dg, code)
                else:
                    t = (action, "", "HEAD", ns_col, tag, repo, "", owner, tag, dg, code)
                targets.append(t)
                weights.append(rw * tw / tag_total * aw)
    n_clients = min(max(40, rows_per_week // 4), 250_000)
    crng = _rng(seed, namespace, "clients")
    country_v, country_w = [v for v, _w in _COUNTRIES], [w for _v, w in _COUNTRIES]
    type_v, type_w = [v for v, _w in _TYPES], [w for _v, w in _TYPES]
    cloud_v, cloud_w = [v for v, _w in _CLOUDS], [w for _v, w in _CLOUDS]
    ua_w = [u[1] for u in _UA]
    clients: list[tuple] = []
    if wide:  # no nulls and no empty values: drop the null choices, draw long values from shared pools
        country_v, country_w = country_v[:-1], country_w[:-1]
        type_v, type_w = type_v[:-1], type_w[:-1]
        cloud_v, cloud_w = cloud_v[:-1], cloud_w[:-1]
        wrng = _rng(seed, namespace, "wide")
        agents = [_wide_user_agent(wrng) for _ in range(2048)]
        domains = [_wide_domain(wrng, wrng.choice(_BUSINESS_DOMAINS + _EDU_DOMAINS)) for _ in range(1024)]
        # One draw of each column for all clients: much faster than a draw per client and value.
        k = n_clients
        columns = zip(
            crng.choices(country_v, country_w, k=k),
            crng.choices(cloud_v, cloud_w, k=k),
            crng.choices(type_v, type_w, k=k),
            crng.choices(agents, k=k),
            crng.choices(domains, k=k),
            strict=True,
        )
        clients = [
            (country, host, kind, ua[0], ua[1], domain, _extras(extra_columns, crng, seed, namespace, i))
            for i, (country, host, kind, ua, domain) in enumerate(columns)
        ]
    for i in range(0 if wide else n_clients):
        country = crng.choices(country_v, country_w)[0]
        kind = crng.choices(type_v, type_w)[0]
        if kind == "hosting":
            host = crng.choices(cloud_v, cloud_w)[0]
            domain = crng.choice(_HOSTING_DOMAINS)
        elif kind == "business":
            host = crng.choices(cloud_v, cloud_w)[0] if crng.random() < 0.25 else NULL
            domain = crng.choice(_BUSINESS_DOMAINS) if crng.random() < 0.8 else ""
        elif kind == "education":
            host, domain = NULL, crng.choice(_EDU_DOMAINS)
        else:
            host = NULL
            domain = crng.choice(_ISP_DOMAINS) if kind == "isp" else ""
        tool, _w, versions = crng.choices(_UA, ua_w)[0]
        version = crng.choice(versions)
        clients.append((country, host, kind, tool, version, domain, _extras(extra_columns, crng, seed, namespace, i)))
    client_weights = [1.0 / (i + 1) ** 0.7 for i in range(n_clients)]
    # Pre-rendered CSV pieces for the fast writer: a raw line is
    # A ds, a B b C ts, c D e  (see _raw_lines).
    target_frags = [
        (
            f"{_q(t[0])},",
            f",{_q(t[1])},{_q(t[2])},",
            "," + ",".join(map(_q, t[3:7])) + ",",
            f",{_q(t[7])}",
        )
        for t in targets
    ]
    client_frags = [
        (_q(c[0]), _q(c[1]), ",".join(map(_q, c[2:6])), "".join("," + _q(v) for v in c[6])) for c in clients
    ]
    return _Pools(
        targets=targets,
        target_cw=list(itertools.accumulate(weights)),
        clients=clients,
        client_cw=list(itertools.accumulate(client_weights)),
        day_counts=_weekday_counts(rows_per_week),
        target_frags=target_frags,
        client_frags=client_frags,
    )


def _q(value: str) -> str:
    """Quote one CSV field like csv.writer's QUOTE_MINIMAL (for a row of several fields)."""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _pools_for(cfg: SimConfig, namespace: str) -> _Pools:
    if namespace not in cfg.namespaces:
        raise KeyError(f"unknown namespace {namespace!r}")
    return _pools(
        cfg.seed,
        namespace,
        namespace == cfg.namespaces[0],
        namespace in cfg.extension_namespaces,
        cfg.repos_per_namespace,
        cfg.rows_per_week,
        tuple(cfg.extra_columns),
        owner_name(cfg, namespace),
        cfg.row_shape == "wide",
    )


def day_row_count(cfg: SimConfig, namespace: str, day: date) -> int:
    """Raw rows of one day (0 outside the data range)."""
    if not data_start(cfg) <= day < cfg.end_date:
        return 0
    return _weekday_counts(cfg.rows_per_week)[day.weekday()]


def _days(lo: date, hi: date) -> Iterator[date]:
    d = lo
    while d <= hi:
        yield d
        d += timedelta(days=1)


def _day_indices(cfg: SimConfig, namespace: str, day: date) -> tuple[list[int], list[int]]:
    pools = _pools_for(cfg, namespace)
    n = day_row_count(cfg, namespace, day)
    rng = _rng(cfg.seed, namespace, day.isoformat())
    t_idx = rng.choices(range(len(pools.targets)), cum_weights=pools.target_cw, k=n)
    c_idx = rng.choices(range(len(pools.clients)), cum_weights=pools.client_cw, k=n)
    return t_idx, c_idx


def _time_of_row(ds: str, index: int, count: int) -> str:
    """The Timestamp of row ``index`` of a day of ``count`` rows: the day's rows spread evenly over its seconds,
    in row order (one timestamp per pull, as Docker logs them: mostly distinct, never all midnight)."""
    second = index * 86400 // max(count, 1)
    return f"{ds} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


def _row(t: tuple, c: tuple, ds: str, ts: str) -> tuple:
    """A raw row (RAW_COLUMNS order, then the extra columns) from a target, a client, the day and the time."""
    return (t[0], ds, c[0], t[1], t[2], c[1], t[3], t[4], t[5], t[6], ts, c[2], c[3], c[4], c[5], t[7], *c[6])


def _day_rows(cfg: SimConfig, namespace: str, day: date) -> list[tuple]:
    pools = _pools_for(cfg, namespace)
    t_idx, c_idx = _day_indices(cfg, namespace, day)
    targets, clients = pools.targets, pools.clients
    ds, n = day.isoformat(), len(t_idx)
    return [
        _row(targets[ti], clients[ci], ds, _time_of_row(ds, i, n))
        for i, (ti, ci) in enumerate(zip(t_idx, c_idx, strict=True))
    ]


def _raw_lines(pools: _Pools, t_idx: list[int], c_idx: list[int], day: date, lo: int, hi: int) -> str:
    """CSV text of the raw rows ``lo:hi`` of one day: the same bytes csv.writer would write."""
    tf, cf = pools.target_frags, pools.client_frags
    ds, n = day.isoformat(), len(t_idx)
    dsc = ds + ","
    return "".join(
        [
            f"{A}{dsc}{a}{B}{b}{C}{ts},{c}{D}{e}\n"
            for (A, B, C, D), (a, b, c, e), ts in zip(
                [tf[i] for i in t_idx[lo:hi]],
                [cf[i] for i in c_idx[lo:hi]],
                [_time_of_row(ds, i, n) for i in range(lo, hi)],
                strict=True,
            )
        ]
    )


def raw_columns(cfg: SimConfig) -> tuple[str, ...]:
    """Canonical raw column names as generated (extra columns last)."""
    return RAW_COLUMNS + tuple(cfg.extra_columns)


def raw_rows(cfg: SimConfig, namespace: str, start_date: date, end_date: date) -> Iterator[dict[str, str]]:
    """Raw rows of the days ``start_date..end_date`` (inclusive), as written in the file.

    Keys are the canonical column names (``RAW_COLUMNS`` then ``cfg.extra_columns``); values are the
    CSV strings (``\\N``, ``null`` and empty strings included). ``latin1_rows`` is a property of a file, not
    of a day: its cells are not applied here (see :func:`iter_export_rows` and :func:`latin1_cells`).
    """
    cols = raw_columns(cfg)
    span = data_days(cfg, start_date, end_date)
    if span is None:
        return
    for day in _days(*span):
        for row in _day_rows(cfg, namespace, day):
            yield dict(zip(cols, row, strict=True))


# --------------------------------------------------------------------------------------------------
# Aggregates (summary views and the /pulls endpoints)
# --------------------------------------------------------------------------------------------------
@dataclass
class Aggregates:
    views: dict[str, list[tuple]]  # view -> rows (strings and ints) in VIEW_COLUMNS order
    repo_totals: dict[tuple[str, str], tuple[int, int]]  # (namespace, repo) -> (pulls, unique IPs)
    total: tuple[int, int]  # all pulls, unique IPs


def _agg_key(cfg: SimConfig) -> SimConfig:
    """The config with the fields that do not change rows neutralised, for caching."""
    return dataclasses.replace(
        cfg,
        files_per_timespan=1,
        include_partial=True,
        header_style="title",
        username="",
        password="",
        totp_secret=None,
        account_password=None,
        pat_two_factor=False,
        auth_token_skips_2fa=False,
        login_mode="legacy",
        token_ttl=0,
        url_ttl=0,
        repos_page_max=1,
        rate_limit=0,
        latin1_rows=0,
        week_numbering="iso",
        extra_listed_weeks=(),
        root_namespaces="with-data",
        namespaces_endpoint="available",
        empty_lists="array",
        metadata_extras=False,
        extension_view_path="pulls",
    )


def aggregates(cfg: SimConfig, namespace: str, start: date, end: date) -> Aggregates:
    """Summary rows of the data days within ``[start, end]`` (inclusive)."""
    return _aggregates(_agg_key(cfg), namespace, start, end)


@lru_cache(maxsize=128)
def _aggregates(cfg: SimConfig, namespace: str, start: date, end: date) -> Aggregates:
    pools = _pools_for(cfg, namespace)
    pairs: Counter[tuple[int, int]] = Counter()
    span = data_days(cfg, start, end)
    if span is not None:
        for day in _days(*span):
            t_idx, c_idx = _day_indices(cfg, namespace, day)
            pairs.update(zip(t_idx, c_idx, strict=True))

    def new() -> list:
        return [0, 0, 0, set(), None]

    summ: dict[tuple, list] = {}
    repo: dict[tuple, list] = {}
    geo: dict[tuple, list] = {}
    ns_acc = new()
    for (ti, ci), k in pairs.items():
        t = pools.targets[ti]
        country = pools.clients[ci][0]
        code = t[10]
        for acc in (
            summ.setdefault((t[3], t[5], t[4]), new()),
            repo.setdefault((t[3], t[5]), new()),
            geo.setdefault((t[3], t[5], country), new()),
            ns_acc,
        ):
            acc[code] += k
            acc[3].add(ci)
            if acc[4] is None:
                acc[4] = t
    views: dict[str, list[tuple]] = {"summary": [], "repo-summary": [], "geo-repo-summary": []}
    for (ns_col, rp, ref), a in sorted(summ.items()):
        t = a[4]
        views["summary"].append((ns_col, rp, ref, t[8], t[9], len(a[3]), a[0], a[1], a[2], t[7]))
    for (ns_col, rp), a in sorted(repo.items()):
        views["repo-summary"].append((ns_col, rp, len(a[3]), a[0], a[1], a[2], a[4][7]))
    for (ns_col, rp, country), a in sorted(geo.items()):
        views["geo-repo-summary"].append((ns_col, rp, country, len(a[3]), a[0], a[1], a[2]))
    views["namespace-summary"] = [(namespace, len(ns_acc[3]), ns_acc[0], ns_acc[1], ns_acc[2])] if pairs else []
    views["ext-summary"] = _ext_rows(cfg, namespace, start, end)
    return Aggregates(
        views=views,
        repo_totals={k: (a[0] + a[1] + a[2], len(a[3])) for k, a in repo.items()},
        total=(ns_acc[0] + ns_acc[1] + ns_acc[2], len(ns_acc[3])),
    )


def _ext_day(cfg: SimConfig, namespace: str, ext: str, day: date) -> tuple[int, int, int]:
    rng = _rng(cfg.seed, namespace, ext, "ext", day.isoformat())
    installs = rng.randint(3, 60)
    return installs, rng.randint(0, installs // 3), rng.randint(0, 40)


def _ext_rows(cfg: SimConfig, namespace: str, start: date, end: date) -> list[tuple]:
    span = data_days(cfg, start, end)
    exts = extension_names(cfg, namespace)
    if span is None or not exts:
        return []
    rows = []
    for ext in exts:
        base_i = _rng(cfg.seed, ext, "base").randint(5_000, 90_000)
        base_u = base_i // 4
        cum_i = cum_u = 0
        ins = uns = ups = 0
        for day in _days(data_start(cfg), span[1]):
            i, u, p = _ext_day(cfg, namespace, ext, day)
            cum_i, cum_u = cum_i + i, cum_u + u
            if day >= span[0]:
                ins, uns, ups = ins + i, uns + u, ups + p
        rows.append((namespace, ext, ins, base_i + cum_i, uns, base_u + cum_u, ups))
    return rows


# --------------------------------------------------------------------------------------------------
# Export files
# --------------------------------------------------------------------------------------------------
def header_name(column: str, style: str) -> str:
    if style == "snake":
        return column
    if style == "upper":
        return column.upper()
    return TITLE_HEADERS.get(column) or column.replace("_", " ").capitalize()


def view_header(cfg: SimConfig, view: str) -> list[str]:
    cols = raw_columns(cfg) if view == "raw" else VIEW_COLUMNS[view]
    return [header_name(c, cfg.header_style) for c in cols]


def view_columns(cfg: SimConfig, view: str) -> tuple[str, ...]:
    """Canonical column names of a view's file, in order."""
    return raw_columns(cfg) if view == "raw" else VIEW_COLUMNS[view]


def _file_slice(total: int, files: int, file_index: int) -> tuple[int, int]:
    if not 0 <= file_index < files:
        raise IndexError(f"file_index {file_index} out of range (0..{files - 1})")
    return total * file_index // files, total * (file_index + 1) // files


def timespan_row_total(cfg: SimConfig, namespace: str, view: str, timespan_type: str, year: int, timespan: int) -> int:
    start, end = bounds(cfg, timespan_type, year, timespan)
    if view == "raw":
        span = data_days(cfg, start, end)
        return sum(day_row_count(cfg, namespace, d) for d in _days(*span)) if span else 0
    return len(aggregates(cfg, namespace, start, end).views[view])


def expected_rows(
    cfg: SimConfig,
    namespace: str,
    view: str,
    timespan_type: str,
    year: int,
    timespan: int,
    file_index: int | None = None,
) -> int:
    """Data rows (header excluded) of a view's export for a timespan: all files, or one file."""
    total = timespan_row_total(cfg, namespace, view, timespan_type, year, timespan)
    if file_index is None:
        return total
    lo, hi = _file_slice(total, cfg.files_per_timespan, file_index)
    return hi - lo


def _latin1_positions(cfg: SimConfig, view: str, rows_in_file: int) -> list[int]:
    """0-based data-row positions in a raw file whose User agent is written as latin-1 (spread evenly)."""
    k = min(cfg.latin1_rows, rows_in_file) if view == "raw" else 0
    return [(2 * i + 1) * rows_in_file // (2 * k) for i in range(k)]


def latin1_cells(
    cfg: SimConfig, namespace: str, timespan_type: str, year: int, timespan: int, file_index: int
) -> list[dict[str, Any]]:
    """The cells ``latin1_rows`` writes with a non-UTF-8 byte in one raw export file.

    Each item: ``row_number`` (1-based data row of the file, the header not counted), ``column``
    (``"user_agent_tool"``), ``raw`` (the bytes in the file) and ``text`` (those bytes read as latin-1 or
    cp1252: :data:`LATIN1_USER_AGENT`).
    """
    rows = expected_rows(cfg, namespace, "raw", timespan_type, year, timespan, file_index)
    return [
        {
            "row_number": pos + 1,
            "column": "user_agent_tool",
            "raw": LATIN1_USER_AGENT.encode("latin-1"),
            "text": LATIN1_USER_AGENT,
        }
        for pos in _latin1_positions(cfg, "raw", rows)
    ]


_UA_INDEX = RAW_COLUMNS.index("user_agent_tool")
_LINES_PER_WRITE = 50_000


def iter_export_rows(
    cfg: SimConfig,
    namespace: str,
    view: str,
    timespan_type: str,
    year: int,
    timespan: int,
    file_index: int,
) -> Iterator[list[tuple]]:
    """Batches of the data rows of one export file (not the header), as text (``latin1_rows`` applied)."""
    start, end = bounds(cfg, timespan_type, year, timespan)
    total = timespan_row_total(cfg, namespace, view, timespan_type, year, timespan)
    lo, hi = _file_slice(total, cfg.files_per_timespan, file_index)
    if view != "raw":
        rows = aggregates(cfg, namespace, start, end).views[view]
        if hi > lo:
            yield rows[lo:hi]
        return
    odd = set(_latin1_positions(cfg, view, hi - lo))
    offset = 0
    for day, a, b in _raw_day_slices(cfg, namespace, start, end, lo, hi):
        batch = _day_rows(cfg, namespace, day)[a:b]
        for pos in odd:
            if offset <= pos < offset + len(batch):
                row = list(batch[pos - offset])
                row[_UA_INDEX] = LATIN1_USER_AGENT
                batch[pos - offset] = tuple(row)
        offset += len(batch)
        yield batch


def _raw_day_slices(
    cfg: SimConfig, namespace: str, start: date, end: date, lo: int, hi: int
) -> Iterator[tuple[date, int, int]]:
    """(day, first, stop) row slices of the days that hold rows ``lo:hi`` of a timespan."""
    span = data_days(cfg, start, end)
    if span is None:
        return
    offset = 0
    for day in _days(*span):
        if offset >= hi:
            break
        n = day_row_count(cfg, namespace, day)
        if offset + n > lo:
            yield day, max(0, lo - offset), min(n, hi - offset)
        offset += n


def _latin1_line(pools: _Pools, t_idx: list[int], c_idx: list[int], day: date, index: int) -> bytes:
    """Row ``index`` of a day with its User agent replaced, encoded as latin-1 (every other generated value is
    ASCII)."""
    ds = day.isoformat()
    row = list(_row(pools.targets[t_idx[index]], pools.clients[c_idx[index]], ds, _time_of_row(ds, index, len(t_idx))))
    row[_UA_INDEX] = LATIN1_USER_AGENT
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(row)
    return text.getvalue().encode("latin-1")


def write_export_file(
    cfg: SimConfig,
    namespace: str,
    view: str,
    timespan_type: str,
    year: int,
    timespan: int,
    file_index: int,
    path: str | Path,
) -> int:
    """Write one export file (gzip CSV with a header row) to ``path``; return its data row count.

    The bytes depend only on ``cfg`` and the arguments (gzip mtime 0, no file name in the header). Raw rows are
    rendered a day at a time and streamed to the gzip file: memory does not grow with the file.
    """
    if view not in VIEW_COLUMNS:
        raise ValueError(f"unknown view {view!r}")
    written = 0
    with (
        open(path, "wb") as raw_out,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw_out, compresslevel=GZIP_LEVEL, mtime=0) as gz,
    ):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(view_header(cfg, view))
        gz.write(text.getvalue().encode())
        if view == "raw":
            start, end = bounds(cfg, timespan_type, year, timespan)
            total = timespan_row_total(cfg, namespace, view, timespan_type, year, timespan)
            lo, hi = _file_slice(total, cfg.files_per_timespan, file_index)
            odd = _latin1_positions(cfg, view, hi - lo)
            pools = _pools_for(cfg, namespace)
            for day, a, b in _raw_day_slices(cfg, namespace, start, end, lo, hi):
                t_idx, c_idx = _day_indices(cfg, namespace, day)
                # Rows a..b of the day are rows written..written+(b-a) of the file; some may be latin-1 ones.
                stops = [a + pos - written for pos in odd if written <= pos < written + (b - a)]
                first = a
                for stop in [*stops, b]:
                    for lo_ in range(first, stop, _LINES_PER_WRITE):  # bounded text per write, even for huge days
                        hi_ = min(stop, lo_ + _LINES_PER_WRITE)
                        gz.write(_raw_lines(pools, t_idx, c_idx, day, lo_, hi_).encode())
                    if stop < b:
                        gz.write(_latin1_line(pools, t_idx, c_idx, day, stop))
                    first = stop + 1
                written += b - a
            return written
        for batch in iter_export_rows(cfg, namespace, view, timespan_type, year, timespan, file_index):
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(batch)
            gz.write(text.getvalue().encode())
            written += len(batch)
    return written
