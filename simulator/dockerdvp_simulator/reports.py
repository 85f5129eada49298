r"""The DVP program's report catalogue and CSV reports, and the proxylytics pull endpoints, for the simulator.

Endpoints (under ``{url}/api/publisher/proxylytics/v1``, bearer JWT required):

- ``GET /namespaces/{ns}/reports``: ``{"reports": [{"type", "url", "name", "granularity", "createdAt",
  "status"}, ...]}``, newest first: the newest ``report_retention`` reports per type and granularity of the
  namespaces in ``report_namespaces`` (an empty list for the others). Types: ``report_types`` plus
  ``unknown_report_types``; granularities ``report_granularities`` (``weekly``, ``monthly``); only complete
  periods with data. File names end ``_{weekly|monthly}_YYYY_MM_DD.csv`` (the period start).
- ``GET /namespaces/{ns}/reports/files/{name}``: the CSV (``report_url_style`` ``hub``), or a 302 to a
  presigned storage URL on another host name (``redirect``). A report that aged out of the catalogue is 404.
- ``GET /_storage/reports/{ns}/{name}?X-Amz-...`` on the *other* host name (``localhost`` for
  ``127.0.0.1``): presigned download (``presigned`` and ``redirect`` styles); like S3, a request that also
  carries an ``Authorization`` header is refused (400).
- ``GET /namespaces/{ns}/pulls``, ``/namespaces/{ns}/repos/{repo}/pulls``, ``/repos/pulls``: as on the legacy
  API, except that namespaces in ``empty_export_namespaces`` have data here (the legacy API answers them with
  ``null``).

Report files are plain CSV (``\r\n`` line ends, fields with commas quoted): the publisher name of the first
namespace is ``Acme, Inc.``; a pull by digest has the tag ``\\N`` (backslash, backslash, N) as in Docker's
files. Rows are computed from the same raw data as the legacy exports, so a week's trend ``PULLS`` add up to
its raw row count. Fault kinds match ``reports`` (the catalogue) and ``report-download`` (files, both hosts;
the group is ``download``, so ``download`` rules hit them too).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from . import data
from .data import SimConfig

if TYPE_CHECKING:
    from .server import Simulator

PROXYLYTICS_PREFIX = "/api/publisher/proxylytics/v1"
REPORT_STORAGE_PREFIX = "/_storage/reports/"
DIGEST_TAG = "\\\\N"  # the two-backslash tag Docker writes for pulls by digest
_GRANULARITY_DAYS = {"weekly": "week", "monthly": "month"}

# a report file's name, with a type's folder before it when `report_file_names` is `folders`
_FILE = r"(?P<name>[^/]+(?:/[^/]+)?)"
_ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    ("api", "reports", re.compile(r"^/namespaces/(?P<ns>[^/]+)/reports/?$")),
    ("download", "report-download", re.compile(rf"^/namespaces/(?P<ns>[^/]+)/reports/files/{_FILE}$")),
    ("api", "pulls", re.compile(r"^/namespaces/(?P<ns>[^/]+)/pulls/?$")),
    ("api", "pulls", re.compile(r"^/namespaces/(?P<ns>[^/]+)/repos/(?P<repo>[^/]+)/pulls/?$")),
    ("api", "pulls", re.compile(r"^/repos/pulls/?$")),
]
_STORAGE_RE = re.compile(rf"^/_storage/reports/(?P<ns>[^/]+)/{_FILE}$")


def classify(path: str) -> tuple[str, str, dict[str, str]] | None:
    """(group, kind, params) of a proxylytics or report-storage path; None for any other path."""
    if path == PROXYLYTICS_PREFIX or path.startswith(PROXYLYTICS_PREFIX + "/"):
        rest = path[len(PROXYLYTICS_PREFIX) :]
        for group, kind, regex in _ROUTES:
            m = regex.match(rest)
            if m:
                return group, kind, {**m.groupdict(), "plane": "proxylytics"}
        return "api", "unknown", {"plane": "proxylytics"}
    m = _STORAGE_RE.match(path)
    if m:
        return "download", "report-download", {**m.groupdict(), "storage": "1"}
    return None


# --------------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _kind(report_type: str) -> str:
    """Which generator serves a catalogue type (the simulator's own spellings, independent of the tap's)."""
    slug = _slug(report_type)
    for kind, names in (
        ("summary", ("summary",)),
        ("trend", ("trend", "trends")),
        ("technographic", ("technographic",)),
        ("technographic_companies", ("technographic_companies",)),
        ("tracked_companies", ("tracked_companies",)),
    ):
        if slug in names:
            return kind
    return "generic"


def report_periods(cfg: SimConfig, granularity: str) -> list[tuple[date, date]]:
    """Complete periods with data, oldest first: (first day, last day)."""
    ttype = "weeks" if granularity == "weekly" else "months"
    ns = cfg.namespaces[0]
    # Report periods are Monday weeks and calendar months (mezmo's file names), whatever the export's numbering.
    return [(start, end) for _y, _n, start, end in data.complete_timespans(cfg, ns, ttype, numbering="iso")]


def file_name(ns: str, report_type: str, granularity: str, start: date, style: str = "typed") -> str:
    """The file's path under the namespace's reports (``report_file_names``): the type in the name, or a folder
    per type with one name for every type."""
    if style == "folders":
        return f"{_slug(report_type)}/{ns}_{granularity}_{start.strftime('%Y_%m_%d')}.csv"
    return f"{ns}_{_slug(report_type)}_{granularity}_{start.strftime('%Y_%m_%d')}.csv"


def catalogue_entries(cfg: SimConfig, ns: str) -> list[dict[str, Any]]:
    """The catalogue of ``ns``, newest first, without URLs: ``type, name, granularity, start, end``."""
    if ns not in cfg.report_namespaces:
        return []
    out = []
    for report_type in (*cfg.report_types, *cfg.unknown_report_types):
        for granularity in cfg.report_granularities:
            for start, end in report_periods(cfg, granularity)[-cfg.report_retention :]:
                out.append(
                    {
                        "type": report_type,
                        "name": file_name(ns, report_type, granularity, start, cfg.report_file_names),
                        "granularity": granularity,
                        "start": start,
                        "end": end,
                    }
                )
    out.sort(key=lambda e: (e["start"], e["type"], e["granularity"]), reverse=True)
    return out


def find_entry(cfg: SimConfig, ns: str, name: str) -> dict[str, Any] | None:
    return next((e for e in catalogue_entries(cfg, ns) if e["name"] == name), None)


def _other_host_url(sim: Simulator) -> str:
    """The simulator's URL under another host name: "storage" that is not the Hub's host."""
    parts = urlsplit(sim.url)
    other = "localhost" if parts.hostname != "localhost" else "127.0.0.1"
    return urlunsplit((parts.scheme, f"{other}:{parts.port}", "", "", ""))


def presign(sim: Simulator, ns: str, name: str, *, at: float | None = None) -> str:
    now = int(time.time() if at is None else at)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    expires = str(sim.config.url_ttl)
    query = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", f"ASIASIMULATOR/{amz_date[:8]}/us-east-1/s3/aws4_request"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", expires),
        ("X-Amz-SignedHeaders", "host"),
        ("X-Amz-Signature", sim._signature(f"reports/{ns}/{name}", amz_date, expires)),
    ]
    return f"{_other_host_url(sim)}{REPORT_STORAGE_PREFIX}{ns}/{name}?{urlencode(query, quote_via=quote)}"


def report_url(sim: Simulator, ns: str, name: str) -> str:
    if sim.config.report_url_style == "presigned":
        return presign(sim, ns, name)
    return f"{sim.url}{PROXYLYTICS_PREFIX}/namespaces/{ns}/reports/files/{name}"


# --------------------------------------------------------------------------------------------------
# Report contents
# --------------------------------------------------------------------------------------------------
_PAIRED = ("library/postgres", "library/redis", "library/nginx", "bitnami/kafka", "grafana/grafana")
_USE_CASES = {"docker": "Local Dev", "buildkit": "CI/CD", "containerd": "Prod", "kubelet": "Prod"}


def _events(cfg: SimConfig, ns: str, start: date, end: date) -> list[tuple[tuple, tuple, int]]:
    """(target, client, client index) of every raw row of the period."""
    pools = data._pools_for(cfg, ns)
    span = data.data_days(cfg, start, end)
    out: list[tuple[tuple, tuple, int]] = []
    if span is None:
        return out
    for day in data._days(*span):
        t_idx, c_idx = data._day_indices(cfg, ns, day)
        out.extend((pools.targets[ti], pools.clients[ci], ci) for ti, ci in zip(t_idx, c_idx, strict=True))
    return out


def _csp(host: str) -> str:
    return "no csp" if host in (data.NULL, "", "null") else host


def _agent(tool: str) -> str:
    """The tool name: a full User-Agent header (``row_shape="wide"``) is cut to its first product token."""
    return "unknown" if tool in (data.NULL, "") else tool.split("/", 1)[0].split(" ", 1)[0].lower()


def report_table(
    cfg: SimConfig, ns: str, report_type: str, granularity: str, start: date
) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of one report, as written in the file."""
    return _report_table(cfg, ns, report_type, granularity, start)


@lru_cache(maxsize=256)
def _report_table(
    cfg: SimConfig, ns: str, report_type: str, granularity: str, start: date
) -> tuple[list[str], list[list[Any]]]:
    end = dict(report_periods(cfg, granularity)).get(start)
    if end is None:
        raise KeyError(f"no {granularity} report period starting {start}")
    kind = _kind(report_type)
    events = _events(cfg, ns, start, end)
    publisher = data.owner_name(cfg, ns)
    lead = [_GRANULARITY_DAYS[granularity], start.isoformat()]
    rng = data._rng(cfg.seed, ns, report_type, granularity, start)

    if kind == "summary":
        acc: dict[tuple[str, str], list[int]] = {}
        for t, _c, _ci in events:
            repo = f"{t[3]}/{t[5]}"
            levels = [("namespace", ns), ("publisher", publisher), ("repository", repo)]
            levels.append(("tag", f"{repo}:{t[8]}") if t[10] != 1 else ("digest", f"{repo}@{t[9]}"))
            for level in levels:
                a = acc.setdefault(level, [0, 0])
                a[1 if t[10] == 2 else 0] += 1
        header = ["DATE_GRANULARITY", "DATE_REFERENCE", "PUBLISHER_NAME", "LEVEL", "REFERENCE"]
        header += ["DATA_DOWNLOADS", "VERSION_CHECKS", "EVENT_COUNT"]
        rows = [[*lead, publisher, lv, ref, d, v, d + v] for (lv, ref), (d, v) in sorted(acc.items())]
        return header, rows

    if kind == "trend":
        trend: dict[tuple, tuple[list[int], tuple[set[int], set[int]]]] = {}
        for t, c, ci in events:
            tag = DIGEST_TAG if t[10] == 1 else t[8]
            key = (f"{t[3]}/{t[5]}", t[3], c[0], _csp(c[1]), _agent(c[3]), tag)
            counts, uniques = trend.setdefault(key, ([0, 0], (set(), set())))
            counts[1 if t[10] == 2 else 0] += 1
            uniques[0 if ci % 3 == 0 else 1].add(ci)
        header_text = (
            "DATE_GRANULARITY,DATE_REFERENCE,PUBLISHER_NAME,IMAGE_REPOSITORY,NAMESPACE,IP_COUNTRY,"
            "CLOUD_SERVICE_PROVIDER,USER_AGENT,TAG,DATA_DOWNLOADS,VERSION_CHECKS,PULLS,"
            "UNIQUE_AUTHENTICATED_USERS,UNIQUE_UNAUTHENTICATED_USERS"
        )
        rows = [
            [*lead, publisher, *key, d, v, d + v, len(auth), len(anon)]
            for key, ((d, v), (auth, anon)) in sorted(trend.items())
        ]
        return header_text.split(","), rows

    repos = [r for r, _n in Counter(f"{t[3]}/{t[5]}" for t, _c, _ci in events).most_common(3)]
    domains = sorted({c[5] for _t, c, _ci in events if c[5] not in ("", data.NULL) and c[2] == "business"})

    if kind == "technographic":
        pullers = len({ci for _t, _c, ci in events})
        total_domains = len({c[5] for _t, c, _ci in events if c[5] not in ("", data.NULL)})
        weekly = granularity == "weekly"
        # Monthly files leave out PUBLISHER_ID (mezmo's files had 11 columns): the tap maps by header name.
        header = ["DATE_GRANULARITY", "DATE_REFERENCE", *(["PUBLISHER_ID"] if weekly else []), "PUBLISHER_NAME"]
        header += ["DVPP_IMAGE", "PAIRED_IMAGE", "USERS", "TOTAL_PULLERS", "PCT_USERS", "DOMAINS", "TOTAL_DOMAINS"]
        header.append("PCT_DOMAINS")
        publisher_id = hashlib.sha256(f"{cfg.seed}|{ns}".encode()).hexdigest()[:12]
        rows = []
        for repo in repos:
            for paired in _PAIRED[:3]:
                users = rng.randint(10, max(10, pullers))
                doms = rng.randint(0, max(0, total_domains))
                pct_u = f"{100 * users / max(1, pullers):.2f}"
                pct_d = f"{100 * doms / max(1, total_domains):.2f}"
                ident = [publisher_id] if weekly else []
                rows.append([*lead, *ident, publisher, repo, paired, users, pullers, pct_u, doms, total_domains, pct_d])
        return header, rows

    if kind == "technographic_companies":
        header = ["DATE_GRANULARITY", "DATE_REFERENCE", "PUBLISHER_NAME", "DOMAIN", "DVPP_IMAGE", "PAIRED_IMAGE"]
        rows = [
            [*lead, publisher, domain, repo, paired]
            for repo in repos
            for paired in _PAIRED[:2]
            for domain in domains[:3]
        ]
        return header, rows

    if kind == "tracked_companies":
        tracked = set(domains[:4])
        acc2: dict[tuple, tuple[list[int], set[int]]] = {}
        for t, c, ci in events:
            if c[5] not in tracked:
                continue
            tool = _agent(c[3])
            key = (c[5], c[0], _csp(c[1]), tool, _USE_CASES.get(tool, "Unknown"), f"{t[3]}/{t[5]}")
            tally, authenticated = acc2.setdefault(key, ([0, 0], set()))
            tally[1 if t[10] == 2 else 0] += 1
            if ci % 3 == 0:
                authenticated.add(ci)
        header_text = (
            "DATE_GRANULARITY,DATE_REFERENCE,PUBLISHER_NAME,DOMAIN,IP_COUNTRY,CLOUD_SERVICE_PROVIDER,USER_AGENT,"
            "INFERRED_USE_CASE,IMAGE_REPOSITORY,DATA_DOWNLOADS,VERSION_CHECKS,PULLS,UNIQUE_AUTHENTICATED_USERS"
        )
        rows = [[*lead, publisher, *key, d, v, d + v, len(auth)] for key, ((d, v), auth) in sorted(acc2.items())]
        return header_text.split(","), rows

    # A report type no tap knows yet.
    header = ["DATE_GRANULARITY", "DATE_REFERENCE", "PUBLISHER_NAME", "PEER_GROUP", "PEER_RANK", "PULLS_PERCENTILE"]
    rows = [[*lead, publisher, group, rng.randint(1, 40), f"{rng.random() * 100:.1f}"] for group in _PAIRED[:3]]
    rows.append([*lead, publisher, "all, publishers", data.NULL, data.NULL])
    return header, rows


def report_csv(cfg: SimConfig, ns: str, report_type: str, granularity: str, start: date) -> bytes:
    header, rows = report_table(cfg, ns, report_type, granularity, start)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode()


# --------------------------------------------------------------------------------------------------
# Request handlers (called from server._Handler with the handler as ``h``)
# --------------------------------------------------------------------------------------------------
def handle(h: Any) -> None:
    from .server import _Fail, _not_found

    if h.method not in ("GET", "HEAD"):
        raise _Fail(405, {"detail": f'Method "{h.method}" not allowed.'})
    sim: Simulator = h.sim
    cfg = sim.config
    ns = h.params.get("ns", "")
    if h.kind == "reports":
        h._require_jwt()
        if ns not in cfg.namespaces:
            raise _not_found()
        reports = []
        for e in catalogue_entries(cfg, ns):
            created = datetime.combine(e["end"] + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
            reports.append(
                {
                    "type": e["type"],
                    "url": report_url(sim, ns, e["name"]),
                    "name": e["name"],
                    "granularity": e["granularity"],
                    "createdAt": (created + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "status": "ready",
                }
            )
        h._json(200, {"reports": reports})
        return
    name = h.params.get("name", "")
    if h.params.get("storage"):
        if not _storage_ok(h, ns, name):
            return
    else:
        h._require_jwt()
    entry = find_entry(cfg, ns, name) if ns in cfg.namespaces else None
    if entry is None:
        raise _Fail(404, {"message": "report not found", "errinfo": {}})
    if not h.params.get("storage") and cfg.report_url_style == "redirect":
        h._send(302, b"", "text/plain", [("Location", presign(sim, ns, name))])
        return
    body = report_csv(cfg, ns, entry["type"], entry["granularity"], entry["start"])
    if h.fault is not None and h.fault.kind == "cut_csv":
        trimmed = body.rstrip(b"\r\n")
        line_start = trimmed.rfind(b"\n") + 1
        body = trimmed[: line_start + max(1, (len(trimmed) - line_start) // 2)]
    h._send(200, body, "text/csv; charset=utf-8", [("ETag", f'"{hashlib.md5(body).hexdigest()}"')])  # noqa: S324


def _storage_ok(h: Any, ns: str, name: str) -> bool:
    """Check a presigned report URL like S3 would; answer the error and return False when it is refused."""
    if h.headers.get("Authorization"):
        h._storage_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
        )
        return False
    amz_date, expires, sig = (h._one(k, "") for k in ("X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"))
    expected = h.sim._signature(f"reports/{ns}/{name}", amz_date, expires)
    if not (amz_date and expires and sig) or not hmac.compare_digest(sig, expected):
        h._storage_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        return False
    try:
        signed = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        h._storage_error(403, "AccessDenied", "X-Amz-Date must be in the ISO8601 format")
        return False
    if time.time() >= signed.timestamp() + int(expires):
        h._storage_error(403, "AccessDenied", "Request has expired")
        return False
    return True
