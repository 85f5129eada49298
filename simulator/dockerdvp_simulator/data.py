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
LOGIN_MODES = ("legacy", "token-only")
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
    """What the simulated Docker Hub holds. Frozen, hashable: change it with dataclasses.replace."""

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
    username: str = "demo"
    password: str = "dckr_pat_demo-secret-token"  # noqa: S105 - the simulator's demo credential
    totp_secret: str | None = None
    login_mode: str = "legacy"
    token_ttl: int = 600
    url_ttl: int = 21600
    repos_page_max: int = 100
    rate_limit: int = 180  # X-RateLimit-Limit (reported, not enforced; use a rate_limit fault for 429)
    # The DVP program's report catalogue (simulator/reports.py). Namespaces not listed have an empty catalogue.
    report_namespaces: tuple[str, ...] = ()
    # Namespaces whose legacy export answers with no data (no years; legacy /pulls null), as mezmo found.
    empty_export_namespaces: tuple[str, ...] = ()
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

    def __post_init__(self) -> None:
        def fix(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("namespaces", "extension_namespaces", "extra_columns", *_REPORT_TUPLES):
            value = getattr(self, name)
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            fix(name, tuple(value or ()))
        if isinstance(self.end_date, str):
            fix("end_date", date.fromisoformat(self.end_date))
        if self.totp_secret == "":
            fix("totp_secret", None)
        if not self.namespaces:
            raise ValueError("at least one namespace is needed")
        if self.header_style not in HEADER_STYLES:
            raise ValueError(f"header_style must be one of {HEADER_STYLES}")
        if self.login_mode not in LOGIN_MODES:
            raise ValueError(f"login_mode must be one of {LOGIN_MODES}")
        if self.files_per_timespan < 1 or self.weeks < 0 or self.rows_per_week < 0:
            raise ValueError("files_per_timespan must be >= 1, weeks and rows_per_week >= 0")
        if self.repos_per_namespace < 1 or self.repos_page_max < 1:
            raise ValueError("repos_per_namespace and repos_page_max must be >= 1")
        unknown = set(self.extension_namespaces) - set(self.namespaces)
        if unknown:
            raise ValueError(f"extension_namespaces not in namespaces: {sorted(unknown)}")
        unknown = (set(self.report_namespaces) | set(self.empty_export_namespaces)) - set(self.namespaces)
        if unknown:
            raise ValueError(f"report_namespaces / empty_export_namespaces not in namespaces: {sorted(unknown)}")
        if self.report_retention < 1 or self.report_url_style not in REPORT_URL_STYLES:
            raise ValueError(f"report_retention must be >= 1 and report_url_style one of {REPORT_URL_STYLES}")
        if set(self.report_granularities) - {"weekly", "monthly"}:
            raise ValueError("report_granularities: weekly and/or monthly")

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["end_date"] = self.end_date.isoformat()
        for name in ("namespaces", "extension_namespaces", "extra_columns", *_REPORT_TUPLES):
            out[name] = list(out[name])
        return out


_REPORT_TUPLES = (
    "report_namespaces",
    "empty_export_namespaces",
    "report_types",
    "unknown_report_types",
    "report_granularities",
)


# --------------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------------
def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def data_start(cfg: SimConfig) -> date:
    """First day with data: the Monday ``weeks`` complete weeks before the current week."""
    return monday_of(cfg.end_date) - timedelta(weeks=cfg.weeks)


def timespan_bounds(timespan_type: str, year: int, number: int) -> tuple[date, date]:
    """First and last day (inclusive) of ISO week ``number`` of ISO year ``year``, or of a month."""
    if timespan_type == "weeks":
        start = date.fromisocalendar(year, number, 1)
        return start, start + timedelta(days=6)
    if timespan_type == "months":
        start = date(year, number, 1)
        nxt = date(year + (number == 12), number % 12 + 1, 1)
        return start, nxt - timedelta(days=1)
    raise ValueError(f"unknown timespan type {timespan_type!r}")


def data_days(cfg: SimConfig, start: date, end: date) -> tuple[date, date] | None:
    """The part of ``[start, end]`` (inclusive) that has data, or None."""
    lo = max(start, data_start(cfg))
    hi = min(end, cfg.end_date - timedelta(days=1))
    return (lo, hi) if lo <= hi else None


def listed_timespans(
    cfg: SimConfig, namespace: str, timespan_type: str, *, include_partial: bool | None = None
) -> list[tuple[int, int, date, date]]:
    """Timespans the API lists: complete ones, plus the current open one when ``include_partial``.

    Each item is ``(year, number, first_day, last_day)``; weeks use ISO years.
    """
    if include_partial is None:
        include_partial = cfg.include_partial
    first, last = data_start(cfg), cfg.end_date - timedelta(days=1)
    out: list[tuple[int, int, date, date]] = []
    if last < first:
        return out
    if timespan_type == "weeks":
        d = monday_of(first)
        while d <= last:
            iso = d.isocalendar()
            start, end = timespan_bounds("weeks", iso[0], iso[1])
            if end < cfg.end_date or include_partial:
                out.append((iso[0], iso[1], start, end))
            d += timedelta(weeks=1)
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


def complete_timespans(cfg: SimConfig, namespace: str, timespan_type: str) -> list[tuple[int, int, date, date]]:
    """Complete timespans with data: ``(year, number, first_day, last_day)``, last day inclusive."""
    return listed_timespans(cfg, namespace, timespan_type, include_partial=False)


def listed_years(cfg: SimConfig, namespace: str) -> list[int]:
    years = {y for t in TIMESPAN_TYPES for (y, _n, _s, _e) in listed_timespans(cfg, namespace, t)}
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


def _rng(*parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in parts))


def _digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def owner_name(cfg: SimConfig, namespace: str) -> str:
    """The organisation name written in the Owner column (the first one contains a comma)."""
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
            for code, (action, aw) in enumerate(_ACTIONS):
                if code == 0:
                    t = (action, dg, "GET", ns_col, tag, repo, tag, owner, tag, dg, code)
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
    for i in range(n_clients):
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
        extras = tuple(_extra_value(c, crng, f"{seed}|{namespace}|{i}|{c}") for c in extra_columns)
        clients.append((country, host, kind, tool, version, domain, extras))
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
    if any(ch in value for ch in ',"\r\n'):
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


def _day_rows(cfg: SimConfig, namespace: str, day: date) -> list[tuple]:
    pools = _pools_for(cfg, namespace)
    t_idx, c_idx = _day_indices(cfg, namespace, day)
    targets, clients = pools.targets, pools.clients
    ds = day.isoformat()
    ts = ds + " 00:00:00"
    return [
        (t[0], ds, c[0], t[1], t[2], c[1], t[3], t[4], t[5], t[6], ts, c[2], c[3], c[4], c[5], t[7]) + c[6]
        for t, c in zip([targets[i] for i in t_idx], [clients[i] for i in c_idx], strict=True)
    ]


def _raw_lines(cfg: SimConfig, namespace: str, day: date, lo: int, hi: int) -> str:
    """CSV text of the raw rows ``lo:hi`` of one day: the same bytes csv.writer would write."""
    pools = _pools_for(cfg, namespace)
    t_idx, c_idx = _day_indices(cfg, namespace, day)
    tf, cf = pools.target_frags, pools.client_frags
    dsc = day.isoformat() + ","
    tsc = day.isoformat() + " 00:00:00,"
    return "".join(
        [
            f"{A}{dsc}{a}{B}{b}{C}{tsc}{c}{D}{e}\n"
            for (A, B, C, D), (a, b, c, e) in zip(
                [tf[i] for i in t_idx[lo:hi]], [cf[i] for i in c_idx[lo:hi]], strict=True
            )
        ]
    )


def raw_columns(cfg: SimConfig) -> tuple[str, ...]:
    """Canonical raw column names as generated (extra columns last)."""
    return RAW_COLUMNS + tuple(cfg.extra_columns)


def raw_rows(cfg: SimConfig, namespace: str, start_date: date, end_date: date) -> Iterator[dict[str, str]]:
    """Raw rows of the days ``start_date..end_date`` (inclusive), as written in the file.

    Keys are the canonical column names (``RAW_COLUMNS`` then ``cfg.extra_columns``); values are the
    CSV strings (``\\N``, ``null`` and empty strings included).
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
        login_mode="legacy",
        token_ttl=0,
        url_ttl=0,
        repos_page_max=1,
        rate_limit=0,
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
    start, end = timespan_bounds(timespan_type, year, timespan)
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


def iter_export_rows(
    cfg: SimConfig,
    namespace: str,
    view: str,
    timespan_type: str,
    year: int,
    timespan: int,
    file_index: int,
) -> Iterator[list[tuple]]:
    """Batches of the data rows of one export file (not the header)."""
    start, end = timespan_bounds(timespan_type, year, timespan)
    total = timespan_row_total(cfg, namespace, view, timespan_type, year, timespan)
    lo, hi = _file_slice(total, cfg.files_per_timespan, file_index)
    if view != "raw":
        rows = aggregates(cfg, namespace, start, end).views[view]
        if hi > lo:
            yield rows[lo:hi]
        return
    for day, a, b in _raw_day_slices(cfg, namespace, start, end, lo, hi):
        yield _day_rows(cfg, namespace, day)[a:b]


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

    The bytes depend only on ``cfg`` and the arguments (gzip mtime 0, no file name in the header).
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
            start, end = timespan_bounds(timespan_type, year, timespan)
            total = timespan_row_total(cfg, namespace, view, timespan_type, year, timespan)
            lo, hi = _file_slice(total, cfg.files_per_timespan, file_index)
            for day, a, b in _raw_day_slices(cfg, namespace, start, end, lo, hi):
                gz.write(_raw_lines(cfg, namespace, day, a, b).encode())
                written += b - a
            return written
        for batch in iter_export_rows(cfg, namespace, view, timespan_type, year, timespan, file_index):
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(batch)
            gz.write(text.getvalue().encode())
            written += len(batch)
    return written
