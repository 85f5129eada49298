"""A local HTTP server that behaves like the parts of Docker Hub the tap uses.

Start it in a thread (``with Simulator(SimConfig(...)) as sim: ...``) or as a process (``dockerdvp-simulator
--port 0 --url-file sim.url``, or ``python -m dockerdvp_simulator``). It binds to loopback only.

Endpoints (``{url}`` is ``http://127.0.0.1:PORT``):

- ``POST /v2/users/login``, ``POST /v2/users/2fa-login``, ``POST /v2/auth/token``: JWT logins.
- ``{url}/api/publisher/analytics/v1/...``: the legacy DVP Data API (bearer JWT, or ``JWT
  <token>``).
- ``GET /_storage/exports/{id}/pulls.csv.gz?X-Amz-...``: presigned export downloads (Range
  supported).
- ``{url}/api/publisher/proxylytics/v1/...``: the DVP program's report catalogue, report files and pull
  endpoints; ``/_storage/reports/...`` presigned report files (see :mod:`.reports`).
- ``GET /v2/namespaces/{ns}/repositories[/{repo}]``: Hub repository listing (auth optional;
  anonymous callers do not see private repositories).
- Control: ``GET/POST/DELETE /_sim/faults`` (see :mod:`.faults`), ``GET/DELETE /_sim/stats``,
  ``GET/POST /_sim/clock`` (``{"end_date": "YYYY-MM-DD"}``), ``GET /_sim/config`` (``POST`` changes fields:
  ``{"deleted_repositories": ["acme/api"]}``), ``GET
  /_sim/token`` (a valid JWT), ``POST /_sim/pregenerate`` (``{"namespaces":[...], "views":[...],
  "timespan_types":[...]}``, all optional).

What the spec states is the default (``dvp.yaml`` = docker/docs ``content/reference/api/dvp/latest.yaml``,
``hub.yaml`` = ``content/reference/api/hub/latest.yaml``, ``IA.md`` = the insights-analytics manual page):

- ``GET /`` lists the namespaces "which have data available"; ``GET /namespaces`` the NamespaceMetadata of those
  "the user has access to"; ``GET /namespaces/{ns}`` answers for any of them (dvp.yaml).
- NamespaceMetadata is ``{namespace, extraRepos, datasets}``; arrays are ``[]`` when empty (dvp.yaml schemas).
- Data views are listed under ``/namespaces/{ns}/pulls/exports/years/{year}/{type}/{n}/{view}`` as
  ``{"data": [{"url", "size"}]}``; files are gzip CSV behind presigned URLs that expire after six hours.
- ``/v2/users/login`` takes ``{username, password}`` (a password or a personal access token) and answers
  ``{token}`` or 401 ``{detail, login_2fa_token}``; ``/v2/users/2fa-login`` takes ``{login_2fa_token, code}``;
  ``/v2/auth/token`` takes ``{identifier, secret}`` and answers ``{access_token}`` or 401 ``{errinfo, detail,
  message}`` (hub.yaml). A personal access token (``dckr_pat_...``) never gets a 2FA challenge.
- A week is Monday to Sunday; ISO-8601 numbering matches the spec's only example (week 31 of 2022).

Assumptions: what the spec does not state, each behind a named ``SimConfig`` field (or fault kind); the default
is listed first:

- ``root_namespaces`` (``with-data`` | ``accessible``): a namespace without legacy export data is missing from
  ``GET /``; ``accessible`` lists every namespace there (the simulator's old behaviour).
- ``namespaces_endpoint`` (``available`` | ``404`` | ``405``): how ``GET /namespaces`` would fail for an account
  that cannot list namespaces (404 ``{"message": "page not found"}``, or 405).
- ``empty_export_namespaces`` / ``report_namespaces`` / ``report_only_namespaces``: a namespace of the current DVP
  program is readable (in ``/namespaces``, with the same ``datasets``) but has no export years (``{"years": []}``)
  and empty legacy ``pulls``, while its report catalogue and the proxylytics pull endpoints have data.
- ``empty_lists`` (``array`` | ``null``): ``null`` instead of ``[]`` for empty ``namespaces``, ``extraRepos``,
  ``years``, ``weeks``/``months``, ``data`` and ``pulls`` (``PullData.pulls`` is documented as possibly null on
  the site).
- ``metadata_extras`` (False | True): ``publisherType`` and ``extensionPublisher`` in NamespaceMetadata, as in the
  newer site examples only.
- ``extension_view_path`` (``pulls`` | ``dataset`` | ``both``): where the ``extensions`` dataset's views and
  listings are served. ``pulls`` because the documented data-view path has a literal ``pulls`` segment and the
  site's ``dataview`` enum for it includes the ``ext-*`` views; ``dataset`` serves them only under
  ``/namespaces/{ns}/extensions/exports/...``. A view asked under the path that does not serve it is 404. The
  ``extensions`` dataset and ``ext-summary`` come from the site examples, not the GitHub spec.
- ``login_mode`` (``legacy`` | ``retired-401`` | ``retired-404`` | ``retired-410`` | ``token-only``): how the
  deprecated ``/v2/users/login`` ends: a 401 like wrong credentials, 404 ``{"detail": "Not found."}``, 410
  ``{"detail": "Gone"}``, or (``token-only``) 410 naming ``/v2/auth/token`` on both legacy login routes.
- ``auth_token_skips_2fa`` (False | True): whether ``/v2/auth/token`` accepts the password of a 2FA account
  (it has no second step, so by default it refuses it with 401).
- ``pat_two_factor`` (False | True): challenge personal access tokens with 2FA too (not Docker's behaviour).
- ``row_shape`` (``compact`` | ``wide``), ``header_style``, ``extra_columns``: the raw CSV's header names and
  values are not published; ``compact`` writes ``\\N``/``null``/empty where IA.md says a value may be missing,
  ``wide`` fills all 16 columns with long values (the ``User agent tool`` is a whole User-Agent header).
- ``latin1_rows`` (0): raw rows whose User agent carries a lone 0xE9 byte (latin-1/cp1252), as a non-UTF-8
  source could write.
- ``week_numbering`` (``iso`` | ``first-monday`` | ``sunday-start``) and ``extra_listed_weeks`` (none): a calendar
  mismatch between the listed week numbers and the files' days, and listed week numbers ISO lacks (their data
  view answers ``{"data": []}``).
- Fault ``late_view`` (``style`` ``404`` | ``empty``): a listed timespan whose view is not ready yet; fault
  ``late_report``: a catalogue entry whose file is not readable yet (404). The spec says nothing about when files
  are ready.
- ``deleted_repositories`` (none): a repository deleted on Docker Hub leaves the Hub listing, while its past pulls
  stay in the exports and pull statistics.
- ``report_file_names`` (``typed`` | ``folders``): the ``<name>`` of a report file's ``<name>_weekly_YYYY_MM_DD.csv``
  is not published; ``typed`` puts the namespace and type in it, ``folders`` a folder per type and one file name
  for every type (``trend/acme_weekly_2026_08_31.csv``, ``summary/acme_weekly_2026_08_31.csv``).
- Error bodies the spec does not give (404 ``{"txnid", "message": "object not found", "errinfo"}``, the expired
  JWT's ``{"detail": "Failed to validate JWT token against trusted cert"}``) are the ones seen in public reports;
  rate-limit headers follow hub.yaml (``rate_limit``; a ``rate_limit`` fault sends 429).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from . import data
from . import reports as sim_reports
from .data import SimConfig
from .faults import FaultRule, FaultSet

API_PREFIX = "/api/publisher/analytics/v1"
STORAGE_PREFIX = "/_storage/exports/"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
JWT_INVALID = {"detail": "Failed to validate JWT token against trusted cert"}
UNAUTHORIZED = {"message": "unauthorized", "errinfo": {}}
PERIODS = {"last-2-months": 2, "last-3-months": 3, "last-6-months": 6, "last-12-months": 12}
ORDERINGS = ("name", "-name", "last_updated", "-last_updated", "pull_count", "-pull_count")
_CHUNK = 256 * 1024


# --------------------------------------------------------------------------------------------------
# JWT and TOTP
# --------------------------------------------------------------------------------------------------
def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_jwt(secret: bytes, claims: dict[str, Any]) -> str:
    header = {"alg": "HS256", "typ": "JWT", "kid": "dockerdvp-simulator"}
    signing_input = (
        _b64u(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64u(json.dumps(claims, separators=(",", ":")).encode())
    )
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64u(sig)


def read_jwt(secret: bytes, token: str) -> dict[str, Any] | None:
    """Verified claims, or None for a malformed or badly signed token (expiry not checked)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64u(parts[2])):
            return None
        claims = json.loads(_unb64u(parts[1]))
    except (ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def totp_code(secret_b32: str, at: float, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1)."""
    key_text = secret_b32.replace(" ", "").upper()
    key = base64.b32decode(key_text + "=" * (-len(key_text) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


# --------------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    sim: Simulator


class Simulator:
    """The simulated Docker Hub: ``Simulator(config, **overrides)``; start()/stop() or ``with``.

    ``overrides`` are SimConfig fields (``Simulator(weeks=2)``). Other keywords: ``host`` (loopback
    only), ``port`` (0: a free one), ``cache_dir`` (where export files are generated; default a
    temporary directory removed by ``stop()``), ``verbose`` (log requests on stderr).

    Public API: ``url`` / ``hub_url`` (``http://127.0.0.1:PORT``), ``api_url`` (``url`` +
    ``/api/publisher/analytics/v1``), ``config``, ``set_end_date(date)``, ``add_fault(rule)``,
    ``clear_faults()``, ``stats`` (a snapshot dict), ``reset_stats()``, ``issue_token(ttl=None)``,
    ``export_files(ns, view, timespan_type, year, timespan)``, ``pregenerate(...)``.

    ``stats`` keys: ``requests`` (by group: login, api, download, repositories, other),
    ``endpoints`` (by fine kind), ``requests_total``, ``responses`` (by status, string keys),
    ``logins``, ``login_failures``, ``token_refreshes``, ``two_factor_challenges``,
    ``unauthorized`` (401s), ``expired_tokens``, ``storage_denied``, ``faults_injected``,
    ``faults`` (by kind), ``bytes_served``, ``download_bytes``, ``range_requests``,
    ``exports_generated``. Control requests (``/_sim/*``) are not counted.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cache_dir: str | os.PathLike[str] | None = None,
        verbose: bool = False,
        **overrides: Any,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError("the simulator binds to loopback only")
        if config is None:
            config = SimConfig(**overrides)
        elif overrides:
            config = dataclasses.replace(config, **overrides)
        self._config = config
        self.host, self.port = host, port
        self.verbose = verbose
        self._own_cache = cache_dir is None
        self._cache_dir_arg = cache_dir
        self.cache_dir: Path | None = None
        self.secret = hashlib.sha256(f"dockerdvp-simulator|{config.seed}".encode()).digest()
        self.faults = FaultSet()
        self._lock = threading.RLock()
        self._gen_locks: dict[str, threading.Lock] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._rate_window = (0, 0)
        self._stats = self._new_stats()
        self._revoked: set[str] = set()  # `jti`s of tokens an `expire_token` fault expired

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Simulator:
        if self._server is not None:
            return self
        if self._own_cache:
            self.cache_dir = Path(tempfile.mkdtemp(prefix="dockerdvp-sim-"))
        else:
            self.cache_dir = Path(self._cache_dir_arg)  # type: ignore[arg-type]
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        server = _Server((self.host, self.port), _Handler)
        server.sim = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name="dockerdvp-simulator",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        if self._own_cache and self.cache_dir:
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        address = self._server.server_address
        host, port = str(address[0]), int(address[1])
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def hub_url(self) -> str:
        return self.url

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    # -- configuration and clock ----------------------------------------------------------------
    @property
    def config(self) -> SimConfig:
        return self._config

    def set_end_date(self, end_date: date | str) -> SimConfig:
        """Move "today". Existing data stays (the first data day is kept, ``weeks`` grows)."""
        if isinstance(end_date, str):
            end_date = date.fromisoformat(end_date)
        with self._lock:
            old = self._config
            shift = (data.monday_of(end_date) - data.monday_of(old.end_date)).days // 7
            self._config = dataclasses.replace(old, end_date=end_date, weeks=max(0, old.weeks + shift))
            return self._config

    def reconfigure(self, **changes: Any) -> SimConfig:
        """Change config fields while serving (e.g. ``deleted_repositories``); checked like a new SimConfig."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(SimConfig)})
        if unknown:
            raise ValueError(f"unknown SimConfig fields: {unknown}")
        with self._lock:
            self._config = dataclasses.replace(self._config, **changes)
            return self._config

    # -- faults ----------------------------------------------------------------------------------
    def add_fault(self, rule: FaultRule | dict[str, Any] | list[Any]) -> list[FaultRule]:
        return self.faults.add(rule)

    def clear_faults(self) -> int:
        return self.faults.clear()

    # -- stats -----------------------------------------------------------------------------------
    @staticmethod
    def _new_stats() -> dict[str, Any]:
        return {
            "requests": Counter(),  # by endpoint group: login, api, download, repositories, other
            "endpoints": Counter(),  # by fine endpoint kind
            "requests_total": 0,
            "responses": Counter(),  # by status code (string)
            "logins": 0,  # tokens issued by the three login endpoints
            "login_failures": 0,
            "token_refreshes": 0,  # logins after the first one
            "two_factor_challenges": 0,
            "unauthorized": 0,  # 401 responses
            "expired_tokens": 0,  # bearer JWTs rejected because expired (fault included)
            "storage_denied": 0,  # 400/403 from storage
            "faults_injected": 0,
            "faults": Counter(),  # by fault kind
            "bytes_served": 0,  # response body bytes written, all endpoints
            "download_bytes": 0,  # of which storage downloads
            "range_requests": 0,
            "exports_generated": 0,
        }

    @property
    def stats(self) -> dict[str, Any]:
        with self._lock:
            snap = copy.deepcopy(self._stats)
        for key, value in snap.items():
            if isinstance(value, Counter):
                snap[key] = dict(value)
        return snap

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = self._new_stats()

    def _bump(self, key: str, n: int = 1, sub: str | None = None) -> None:
        with self._lock:
            if sub is None:
                self._stats[key] += n
            else:
                self._stats[key][sub] += n

    def _rate_headers(self) -> list[tuple[str, str]]:
        now = time.time()
        window = int(now // 60)
        with self._lock:
            w, count = self._rate_window
            count = count + 1 if w == window else 1
            self._rate_window = (window, count)
        limit = self._config.rate_limit
        return [
            ("X-RateLimit-Limit", str(limit)),
            ("X-RateLimit-Remaining", str(max(0, limit - count))),
            ("X-RateLimit-Reset", str((window + 1) * 60)),
        ]

    # -- tokens ----------------------------------------------------------------------------------
    def issue_token(self, *, ttl: int | None = None, source: str = "docker_pat") -> str:
        cfg = self._config
        now = int(time.time())
        jti = str(uuid.uuid4())
        user_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dockerdvp-sim:{cfg.username}"))
        claims = {
            "iss": "https://api.docker.com/",
            "aud": "https://hub.docker.com",
            "sub": user_uuid,
            "iat": now,
            "exp": now + (cfg.token_ttl if ttl is None else ttl),
            "jti": jti,
            "scope": "repo:admin repo:public_read",
            "https://hub.docker.com": {
                "username": cfg.username,
                "uuid": user_uuid,
                "email": f"{cfg.username}@example.com",
                "roles": [],
                "session_id": jti,
                "source": f"{source}|{uuid.uuid5(uuid.NAMESPACE_DNS, cfg.password)}",
            },
        }
        return make_jwt(self.secret, claims)

    def _token_issued(self) -> None:
        with self._lock:
            if self._stats["logins"]:
                self._stats["token_refreshes"] += 1
            self._stats["logins"] += 1

    # -- exports ---------------------------------------------------------------------------------
    def _file_key(self, cfg: SimConfig, ns: str, view: str, ttype: str, year: int, n: int, idx: int) -> str:
        start, end = data.bounds(cfg, ttype, year, n)
        key = (
            "v2",
            cfg.row_shape,
            cfg.latin1_rows,
            cfg.week_numbering,
            cfg.seed,
            ns,
            ns == cfg.namespaces[0],
            ns in cfg.extension_namespaces,
            cfg.repos_per_namespace,
            cfg.rows_per_week,
            cfg.extra_columns,
            cfg.header_style,
            cfg.files_per_timespan,
            data.data_start(cfg),
            data.data_days(cfg, start, end),
            view,
            ttype,
            year,
            n,
            idx,
            data.GZIP_LEVEL,
        )
        # the file's index first: a timespan's files sort by their URLs' paths in the order they are listed, as an
        # object store lists keys
        return f"{idx:04x}" + hashlib.sha256(repr(key).encode()).hexdigest()[:28]

    def _path(self, file_id: str, suffix: str = ".csv.gz") -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / f"{file_id}{suffix}"

    def _ensure_file(
        self, cfg: SimConfig, ns: str, view: str, ttype: str, year: int, n: int, idx: int
    ) -> tuple[str, Path]:
        file_id = self._file_key(cfg, ns, view, ttype, year, n, idx)
        path = self._path(file_id)
        if path.exists():
            return file_id, path
        with self._lock:
            lock = self._gen_locks.setdefault(file_id, threading.Lock())
        with lock:
            if not path.exists():
                tmp = path.with_name(path.name + f".{threading.get_ident()}.tmp")
                data.write_export_file(cfg, ns, view, ttype, year, n, idx, tmp)
                os.replace(tmp, path)
                self._bump("exports_generated")
        return file_id, path

    def export_files(
        self, namespace: str, view: str, timespan_type: str, year: int, timespan: int
    ) -> list[dict[str, Any]]:
        """Generate (if needed) a timespan's export files; ``[{"url","size","path","id"}]``."""
        cfg = self._config
        out = []
        for idx in range(cfg.files_per_timespan):
            file_id, path = self._ensure_file(cfg, namespace, view, timespan_type, year, timespan, idx)
            out.append(
                {
                    "url": self.presign(file_id),
                    "size": path.stat().st_size,
                    "path": str(path),
                    "id": file_id,
                }
            )
        return out

    def pregenerate(
        self,
        namespaces: list[str] | None = None,
        views: list[str] | None = None,
        timespan_types: list[str] | None = None,
    ) -> int:
        """Generate every listed export file now (the benchmark calls this before timing)."""
        cfg = self._config
        count = 0
        for ns in namespaces or cfg.namespaces:
            if not cfg.has_export_data(ns):
                continue
            for ttype in timespan_types or data.TIMESPAN_TYPES:
                for year, n, _s, _e in data.listed_timespans(cfg, ns, ttype):
                    for view in views or namespace_views(cfg, ns):
                        if view in namespace_views(cfg, ns):
                            count += len(self.export_files(ns, view, ttype, year, n))
        return count

    def presign(self, file_id: str, *, at: float | None = None) -> str:
        now = int(time.time() if at is None else at)
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        expires = self._config.url_ttl
        token = base64.b64encode(hashlib.sha512(f"{file_id}{now}".encode()).digest()).decode()
        query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"ASIASIMULATOR/{amz_date[:8]}/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-Security-Token", token),
            ("X-Amz-SignedHeaders", "host"),
            ("X-Amz-Signature", self._signature(file_id, amz_date, str(expires))),
        ]
        return f"{self.url}{STORAGE_PREFIX}{file_id}/pulls.csv.gz?{urlencode(query, quote_via=quote)}"

    def _signature(self, file_id: str, amz_date: str, expires: str) -> str:
        msg = f"{file_id}\n{amz_date}\n{expires}".encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def _cut_file(self, file_id: str) -> Path:
        """A copy of the export whose CSV stops in the middle of its last line (valid gzip)."""
        import gzip

        src, dst = self._path(file_id), self._path(file_id, ".cut.csv.gz")
        if dst.exists():
            return dst
        with self._lock:
            lock = self._gen_locks.setdefault(file_id + "-cut", threading.Lock())
        with lock:
            if dst.exists():
                return dst
            tmp = dst.with_name(dst.name + ".tmp")
            with (
                gzip.open(src, "rb") as fin,
                open(tmp, "wb") as raw,
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fout,
            ):
                tail = b""
                while chunk := fin.read(1 << 20):
                    if len(tail) > (2 << 20):
                        fout.write(tail[: -(1 << 20)])
                        tail = tail[-(1 << 20) :]
                    tail += chunk
                body = tail.rstrip(b"\r\n")
                line_start = body.rfind(b"\n") + 1
                keep = max(1, (len(body) - line_start) // 2)
                fout.write(body[: line_start + keep])
            os.replace(tmp, dst)
        return dst


def namespace_views(cfg: SimConfig, ns: str) -> list[str]:
    views = list(data.PULL_VIEWS)
    if ns in cfg.extension_namespaces:
        views += list(data.EXT_VIEWS)
    return views


def listing(cfg: SimConfig, items: list[Any]) -> list[Any] | None:
    """A spec array as served: ``[]`` when empty, or ``null`` with ``empty_lists="null"``."""
    return items if items or cfg.empty_lists == "array" else None


def namespace_metadata(cfg: SimConfig, ns: str) -> dict[str, Any]:
    """NamespaceMetadata: ``namespace``, ``extraRepos``, ``datasets`` (spec), plus the site examples' extras."""
    datasets = [{"name": "pulls", "timespans": ["months", "weeks"], "views": list(data.PULL_VIEWS)}]
    if ns in cfg.extension_namespaces:
        datasets.append({"name": "extensions", "timespans": ["months", "weeks"], "views": list(data.EXT_VIEWS)})
    meta: dict[str, Any] = {
        "namespace": ns,
        "extraRepos": listing(cfg, data.extra_repos(cfg, ns) or []),
        "datasets": datasets,
    }
    if cfg.metadata_extras:
        meta["publisherType"] = "DVP"
        meta["extensionPublisher"] = ns in cfg.extension_namespaces
    return meta


def repository_entries(cfg: SimConfig, ns: str) -> list[dict[str, Any]]:
    """The Hub's view of a namespace's repositories (deterministic)."""
    out = []
    names = data.repo_names(cfg, ns)
    deleted = set(cfg.deleted_repositories)
    end = datetime.combine(cfg.end_date, datetime.min.time(), tzinfo=timezone.utc)
    for i, name in enumerate(names):
        if f"{ns}/{name}" in deleted:
            continue  # deleted on Docker Hub; `i` still numbers the others as before
        rng = data._rng(cfg.seed, ns, name, "hub")
        registered = end - timedelta(days=rng.randint(200, 3000), seconds=rng.randint(0, 86399))
        updated = end - timedelta(days=rng.randint(0, 60), seconds=rng.randint(0, 86399))
        is_ext = name in data._EXTENSION_REPOS
        private = i == 3  # one private repository per namespace (when there are four or more)

        def ts(d: datetime) -> str:
            return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

        out.append(
            {
                "name": name,
                "namespace": ns,
                "repository_type": None if i == 5 else "image",
                "status": 1,
                "status_description": "active",
                "description": None if i % 4 == 2 else f"The {ns} {name.replace('-', ' ')} image",
                "is_private": private,
                "star_count": rng.randint(0, 900),
                "pull_count": rng.randint(10_000, 900_000_000),
                "last_updated": ts(updated),
                "last_modified": None if i == 1 else ts(updated),
                "date_registered": ts(registered),
                "affiliation": "",
                "media_types": [
                    "application/vnd.docker.container.image.v1+json",
                    "application/vnd.oci.image.index.v1+json",
                ],
                "content_types": ["image"],
                "categories": (
                    [{"name": "Integration & delivery", "slug": "integration-and-delivery"}]
                    if not is_ext
                    else [{"name": "Developer tools", "slug": "developer-tools"}]
                ),
                "storage_size": rng.randint(10**7, 10**11),
            }
        )
    return out


# --------------------------------------------------------------------------------------------------
# Request handling
# --------------------------------------------------------------------------------------------------
_API_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("root", re.compile(r"^/?$")),
    ("namespaces", re.compile(r"^/namespaces/?$")),
    ("namespace", re.compile(r"^/namespaces/(?P<ns>[^/]+)/?$")),
    ("pulls", re.compile(r"^/namespaces/(?P<ns>[^/]+)/pulls/?$")),
    ("pulls", re.compile(r"^/namespaces/(?P<ns>[^/]+)/repos/(?P<repo>[^/]+)/pulls/?$")),
    ("pulls", re.compile(r"^/repos/pulls/?$")),
    ("years", re.compile(r"^/namespaces/(?P<ns>[^/]+)/(?P<ds>[^/]+)/exports/years/?$")),
    (
        "timespans",
        re.compile(r"^/namespaces/(?P<ns>[^/]+)/(?P<ds>[^/]+)/exports/years/(?P<year>\d+)/(?P<type>[^/]+)/?$"),
    ),
    (
        "timespan",
        re.compile(
            r"^/namespaces/(?P<ns>[^/]+)/(?P<ds>[^/]+)/exports/years/(?P<year>\d+)/(?P<type>[^/]+)"
            r"/(?P<n>\d+)/?$"
        ),
    ),
    (
        "exports",
        re.compile(
            r"^/namespaces/(?P<ns>[^/]+)/(?P<ds>[^/]+)/exports/years/(?P<year>\d+)/(?P<type>[^/]+)"
            r"/(?P<n>\d+)/(?P<view>[^/]+)/?$"
        ),
    ),
]
_REPOS_RE = re.compile(r"^/v2/namespaces/(?P<ns>[^/]+)/repositories(?:/(?P<repo>[^/]+))?/?$")
_LOGIN_ROUTES = {
    "/v2/users/login": "users-login",
    "/v2/users/2fa-login": "2fa-login",
    "/v2/auth/token": "auth-token",
}


def classify(path: str) -> tuple[str, str, dict[str, str]]:
    """(group, fine kind, path parameters) of a request path."""
    clean = path.rstrip("/") or "/"
    if clean in _LOGIN_ROUTES:
        return "login", _LOGIN_ROUTES[clean], {}
    if path.startswith(STORAGE_PREFIX):
        return "download", "download", {}
    proxylytics = sim_reports.classify(path)  # the DVP program's reports and pull endpoints
    if proxylytics is not None:
        return proxylytics
    if path.startswith("/_sim/") or path == "/_sim":
        return "control", "control", {}
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        rest = path[len(API_PREFIX) :]
        for kind, regex in _API_ROUTES:
            m = regex.match(rest)
            if m:
                return "api", kind, m.groupdict()
        return "api", "unknown", {}
    m = _REPOS_RE.match(path)
    if m:
        return "repositories", "repositories", m.groupdict()
    return "other", "unknown", {}


class _Fail(Exception):
    def __init__(self, status: int, body: Any, headers: list[tuple[str, str]] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or []


def _not_found() -> _Fail:
    return _Fail(404, {"txnid": uuid.uuid4().hex[:16], "message": "object not found", "errinfo": {}})


def _s3_error(code: str, message: str, **extra: str) -> bytes:
    items = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{items}"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId>"
        f"<HostId>{base64.b64encode(os.urandom(24)).decode()}</HostId></Error>"
    ).encode()


_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Docker Hub</title></head><body>"
    b"<h1>Something went wrong</h1><p>We are working on it. Please try again later.</p>"
    b"</body></html>\n"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "simulated-hub/1.0"
    sys_version = ""
    timeout = 300
    server: _Server

    # -- plumbing --------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sim.verbose:
            sys.stderr.write("sim: " + (format % args) + "\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every small response.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return "AmazonS3" if getattr(self, "group", "") == "download" else "nginx"

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    def _dispatch(self, method: str) -> None:
        self.method = method
        split = urlsplit(self.path)
        self.req_path = split.path
        self.query = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length > 0 else b""
        self.group, self.kind, self.params = classify(split.path)
        self.fault: FaultRule | None = None
        self.counted = self.group != "control"
        try:
            if self.group == "control":
                self._control()
                return
            self.sim._bump("requests", sub=self.group)
            self.sim._bump("endpoints", sub=self.kind)
            self.sim._bump("requests_total")
            slow, fault = self.sim.faults.pick(
                self.path,
                (self.group, self.kind),
                method,
                is_download=self.group == "download",
                has_auth=bool(self.headers.get("Authorization")),
            )
            for rule in slow:
                self.sim._bump("faults_injected")
                self.sim._bump("faults", sub="slow")
                time.sleep(float(rule.seconds))
            if fault is not None:
                self.sim._bump("faults_injected")
                self.sim._bump("faults", sub=fault.kind)
                self.fault = fault
                if self._terminal_fault(fault):
                    return
            self._route()
        except _Fail as fail:
            self._json(fail.status, fail.body, fail.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # pragma: no cover - a bug in the simulator: make it visible
            traceback.print_exc()
            with contextlib.suppress(OSError):
                self._json(500, {"message": "internal simulator error", "errinfo": {}})

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        truncate = self.fault is not None and self.fault.kind == "truncate"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        headers = list(headers or [])
        if self.group in ("api", "login", "repositories"):
            given = {name.lower() for name, _v in headers}
            headers += [h for h in self.sim._rate_headers() if h[0].lower() not in given]
        for name, value in headers:
            self.send_header(name, value)
        if self.method == "HEAD":
            body = b""
        elif truncate:
            assert self.fault is not None
            body = body[: int(len(body) * float(self.fault.fraction))]
            self.close_connection = True
        # Count before writing: a client that has the answer must see it in the stats.
        self._account(status, len(body))
        self.end_headers()
        if body:
            self.wfile.write(body)
            self.wfile.flush()

    def _account(self, status: int | None, nbytes: int, download: bool = False) -> None:
        if not self.counted:
            return
        sim = self.sim
        with sim._lock:
            st = sim._stats
            if status is not None:
                st["responses"][str(status)] += 1
                if status == 401:
                    st["unauthorized"] += 1
            st["bytes_served"] += nbytes
            if download:
                st["download_bytes"] += nbytes

    def _json(self, status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> None:
        body = b"" if status == 204 else json.dumps(obj).encode()
        self._send(status, body, "application/json", headers)

    def _read_json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise _Fail(400, {"detail": "JSON parse error", "message": "bad request"}) from None

    # -- faults ----------------------------------------------------------------------------------
    def _terminal_fault(self, fault: FaultRule) -> bool:
        kind = fault.kind
        if kind == "status":
            status = int(fault.status or 500)
            body = fault.body
            if body is None:
                body = {"message": "simulated error", "errinfo": {}, "detail": f"HTTP {status}"}
            if isinstance(body, str):
                self._send(status, body.encode(), "text/plain", list(fault.headers.items()))
            else:
                self._json(status, body, list(fault.headers.items()))
            return True
        if kind == "rate_limit":
            now = time.time()
            wait = float(fault.retry_after)
            headers = [("X-RateLimit-Remaining", "0")]
            style = fault.retry_after_style
            if style == "seconds":
                headers.append(("Retry-After", str(int(wait))))
            elif style == "epoch":
                headers.append(("Retry-After", str(int(now + wait))))
            elif style == "x-retry-after":
                headers.append(("X-Retry-After", str(int(now + wait))))
            self._json(429, {"detail": "Rate limit exceeded", "error": False}, headers)
            return True
        if kind == "reset":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return True
        if kind == "html":
            self._send(int(fault.status or 200), _HTML_PAGE, "text/html; charset=utf-8")
            return True
        if kind == "expire_url":
            self._storage_error(403, "AccessDenied", "Request has expired")
            return True
        if kind == "expire_token":
            self.sim._bump("expired_tokens")
            claims = read_jwt(self.sim.secret, (self.headers.get("Authorization") or "").partition(" ")[2].strip())
            if claims is not None:
                with self.sim._lock:
                    self.sim._revoked.add(str(claims.get("jti")))
            self._json(401, JWT_INVALID)
            return True
        if kind == "late_view":
            if fault.style == "empty":
                self._json(200, {"data": listing(self.sim.config, [])})
            else:
                raise _not_found()
            return True
        if kind == "late_report":
            if self.params.get("storage"):
                self._send(404, _s3_error("NoSuchKey", "The specified key does not exist."), "application/xml")
            else:
                self._json(404, {"message": "report not found", "errinfo": {}})
            return True
        return False  # truncate, corrupt_gzip, cut_csv: applied while answering

    # -- routing ---------------------------------------------------------------------------------
    def _route(self) -> None:
        if self.group == "login":
            if self.method != "POST":
                raise _Fail(405, {"detail": f'Method "{self.method}" not allowed.'})
            {
                "users-login": self._users_login,
                "2fa-login": self._two_factor_login,
                "auth-token": self._auth_token,
            }[self.kind]()
            return
        if self.kind in ("reports", "report-download"):
            sim_reports.handle(self)
            return
        if self.group == "download":
            if self.method not in ("GET", "HEAD"):
                self._storage_error(405, "MethodNotAllowed", "The specified method is not allowed")
                return
            self._download()
            return
        if self.method not in ("GET", "HEAD"):
            raise _Fail(405, {"detail": f'Method "{self.method}" not allowed.'})
        if self.group == "repositories":
            self._repositories()
            return
        if self.group == "api":
            self._require_jwt()
            getattr(self, "_api_" + self.kind.replace("-", "_"))()
            return
        raise _Fail(404, {"detail": "Not Found"})

    # -- logins ----------------------------------------------------------------------------------
    def _login_fail(self, status: int, body: dict[str, Any]) -> None:
        self.sim._bump("login_failures")
        raise _Fail(status, body)

    def _retired(self) -> None:
        """Answer as ``login_mode`` says when the legacy login routes are retired (no-op for ``legacy``)."""
        mode = self.sim.config.login_mode
        if mode == "token-only":  # both legacy routes, with a pointer to the new one
            self._login_fail(410, {"detail": "This endpoint is deprecated. Use /v2/auth/token"})
        if self.kind != "users-login":  # /v2/users/2fa-login is not marked deprecated
            return
        if mode == "retired-401":  # indistinguishable from wrong credentials
            self._login_fail(401, {"detail": "Incorrect authentication credentials", "login_2fa_token": None})
        if mode == "retired-404":
            self._login_fail(404, {"detail": "Not found."})
        if mode == "retired-410":
            self._login_fail(410, {"detail": "Gone"})

    def _secret_kind(self, user: str, secret: str) -> str | None:
        """``"pat"`` or ``"password"`` when ``user``/``secret`` are the account's, else None."""
        cfg = self.sim.config
        if user.lower() != cfg.username.lower():
            return None
        for candidate in (cfg.password, cfg.account_password):
            if candidate and hmac.compare_digest(secret.encode(), candidate.encode()):
                return "pat" if cfg.is_pat(candidate) else "password"
        return None

    def _users_login(self) -> None:
        self._retired()
        cfg = self.sim.config
        body = self._read_json()
        if not isinstance(body, dict) or "username" not in body or "password" not in body:
            self._login_fail(400, {"detail": "username and password are required"})
        kind = self._secret_kind(str(body.get("username", "")), str(body.get("password", "")))
        if kind is None:
            self._login_fail(401, {"detail": "Incorrect authentication credentials", "login_2fa_token": None})
        if cfg.totp_secret and (kind == "password" or cfg.pat_two_factor):
            self.sim._bump("two_factor_challenges")
            now = int(time.time())
            pending = make_jwt(
                self.sim.secret,
                {
                    "sub": cfg.username,
                    "iat": now,
                    "exp": now + 300,
                    "jti": str(uuid.uuid4()),
                    "scope": "2fa",
                },
            )
            raise _Fail(
                401,
                {
                    "detail": "Require secondary authentication on MFA enabled account",
                    "login_2fa_token": pending,
                },
            )
        self.sim._token_issued()
        self._json(200, {"token": self.sim.issue_token(source="docker_pat" if kind == "pat" else "password")})

    def _two_factor_login(self) -> None:
        self._retired()
        cfg = self.sim.config
        body = self._read_json()
        if not isinstance(body, dict):
            self._login_fail(400, {"detail": "login_2fa_token and code are required"})
        claims = read_jwt(self.sim.secret, str(body.get("login_2fa_token") or ""))
        code = str(body.get("code") or "").strip()
        now = time.time()
        ok = (
            claims is not None
            and claims.get("scope") == "2fa"
            and float(claims.get("exp", 0)) > now
            and cfg.totp_secret is not None
            and any(hmac.compare_digest(code, totp_code(cfg.totp_secret, now + k * 30)) for k in (-1, 0, 1))
        )
        if not ok:
            self._login_fail(401, {"detail": "Incorrect authentication credentials"})
        self.sim._token_issued()
        self._json(200, {"token": self.sim.issue_token(source="password")})

    def _auth_token(self) -> None:
        """hub.yaml ``AuthCreateAccessToken``: ``{identifier, secret}`` -> ``{access_token}``; 401 ``error``."""
        cfg = self.sim.config
        body = self._read_json()
        if not isinstance(body, dict):
            body = {}
        kind = self._secret_kind(str(body.get("identifier", "")), str(body.get("secret", "")))
        if kind is None:
            self._login_fail(401, {"errinfo": {}, "detail": "invalid username or password", "message": "unauthorized"})
        if kind == "password" and cfg.totp_secret and not cfg.auth_token_skips_2fa:
            self._login_fail(
                401,
                {
                    "errinfo": {},
                    "detail": "two-factor authentication is enabled: use a personal access token",
                    "message": "unauthorized",
                },
            )
        self.sim._token_issued()
        self._json(200, {"access_token": self.sim.issue_token(source="docker_pat" if kind == "pat" else "password")})

    def _require_jwt(self, optional: bool = False) -> dict[str, Any] | None:
        header = self.headers.get("Authorization") or ""
        if not header:
            if optional:
                return None
            raise _Fail(401, UNAUTHORIZED)
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() not in ("bearer", "jwt") or not token.strip():
            raise _Fail(401, JWT_INVALID)
        claims = read_jwt(self.sim.secret, token.strip())
        if claims is None or claims.get("scope") == "2fa":
            raise _Fail(401, JWT_INVALID)
        if float(claims.get("exp", 0)) <= time.time() or claims.get("jti") in self.sim._revoked:
            self.sim._bump("expired_tokens")
            raise _Fail(401, JWT_INVALID)
        return claims

    # -- DVP API ---------------------------------------------------------------------------------
    def _namespace(self, cfg: SimConfig) -> str:
        ns = self.params.get("ns", "")
        if ns not in cfg.namespaces:
            raise _not_found()
        return ns

    def _api_unknown(self) -> None:
        raise _Fail(404, {"message": "page not found", "errinfo": {}})

    def _api_root(self) -> None:
        """NamespaceData: the namespaces "which have data available" (all of them with ``accessible``)."""
        cfg = self.sim.config
        names = [ns for ns in cfg.namespaces if cfg.root_namespaces == "accessible" or cfg.has_export_data(ns)]
        self._json(200, {"namespaces": listing(cfg, names)})

    def _api_namespaces(self) -> None:
        """NamespaceMetadata of every namespace the user can read (or the status ``namespaces_endpoint`` says)."""
        cfg = self.sim.config
        if cfg.namespaces_endpoint == "404":
            raise _Fail(404, {"message": "page not found", "errinfo": {}})
        if cfg.namespaces_endpoint == "405":
            raise _Fail(405, {"detail": f'Method "{self.method}" not allowed.'}, [("Allow", "OPTIONS")])
        self._json(200, listing(cfg, [namespace_metadata(cfg, ns) for ns in cfg.namespaces]))

    def _api_namespace(self) -> None:
        cfg = self.sim.config
        self._json(200, namespace_metadata(cfg, self._namespace(cfg)))

    def _dataset_views(self, cfg: SimConfig, ns: str) -> list[str]:
        """The views served under ``/namespaces/{ns}/{ds}/exports/...`` (404 for a path that serves none)."""
        ds = self.params.get("ds")
        ext = list(data.EXT_VIEWS) if ns in cfg.extension_namespaces else []
        mode = cfg.extension_view_path
        if ds == "pulls":  # the documented path
            return list(data.PULL_VIEWS) + (ext if mode in ("pulls", "both") else [])
        if ds == "extensions" and ext and mode in ("dataset", "both"):
            return ext
        raise _not_found()

    def _timespan_type(self) -> str:
        ttype = self.params["type"]
        if ttype not in data.TIMESPAN_TYPES:
            raise _Fail(400, {"message": f"invalid timespan type: {ttype}", "errinfo": {}})
        return ttype

    def _api_years(self) -> None:
        cfg = self.sim.config
        ns = self._namespace(cfg)
        self._dataset_views(cfg, ns)
        years = data.listed_years(cfg, ns) if cfg.has_export_data(ns) else []
        self._json(200, {"years": listing(cfg, [{"year": y} for y in years])})

    def _listed_numbers(self, cfg: SimConfig, ns: str, ttype: str, year: int) -> tuple[list[int], set[int]]:
        """(the numbers listed for ``year``, those of them that are only ``extra_listed_weeks``)."""
        if not cfg.has_export_data(ns):
            return [], set()
        real = [n for y, n, _s, _e in data.listed_timespans(cfg, ns, ttype) if y == year]
        extra = {w for y, w in cfg.extra_listed_weeks if y == year} - set(real) if ttype == "weeks" else set()
        return sorted({*real, *extra}), extra

    def _api_timespans(self) -> None:
        cfg = self.sim.config
        ns = self._namespace(cfg)
        self._dataset_views(cfg, ns)
        ttype = self._timespan_type()
        numbers, _extra = self._listed_numbers(cfg, ns, ttype, int(self.params["year"]))
        self._json(200, {ttype: listing(cfg, [{ttype[:-1]: n} for n in numbers])})

    def _listed(self, cfg: SimConfig, ns: str) -> tuple[str, int, int, bool]:
        """(type, year, number, whether it is only an ``extra_listed_weeks`` entry); 404 when not listed."""
        ttype = self._timespan_type()
        year, n = int(self.params["year"]), int(self.params["n"])
        numbers, extra = self._listed_numbers(cfg, ns, ttype, year)
        if n not in numbers:
            raise _not_found()
        return ttype, year, n, n in extra

    def _api_timespan(self) -> None:
        cfg = self.sim.config
        ns = self._namespace(cfg)
        self._dataset_views(cfg, ns)
        ttype, _year, n, _extra = self._listed(cfg, ns)
        self._json(200, {ttype[:-1]: n})

    def _api_exports(self) -> None:
        cfg = self.sim.config
        ns = self._namespace(cfg)
        views = self._dataset_views(cfg, ns)
        ttype, year, n, extra = self._listed(cfg, ns)
        view = self.params["view"]
        if view not in views:
            raise _not_found()
        files = [] if extra else self.sim.export_files(ns, view, ttype, year, n)
        self._json(200, {"data": listing(cfg, [{"url": f["url"], "size": f["size"]} for f in files])})

    def _api_pulls(self) -> None:
        cfg = self.sim.config
        ttype = self._one("timespan", "months")
        period = self._one("period", "last-2-months")
        group = self._one("group", "")
        if ttype not in data.TIMESPAN_TYPES:
            raise _Fail(400, {"message": f"invalid timespan: {ttype}", "errinfo": {}})
        if period not in PERIODS:
            raise _Fail(400, {"message": f"invalid period: {period}", "errinfo": {}})
        if group not in ("", "repo", "namespace"):
            raise _Fail(400, {"message": f"invalid group: {group}", "errinfo": {}})
        # The legacy API has no data for `empty_export_namespaces`; proxylytics has it.
        legacy = self.params.get("plane") != "proxylytics"
        empty = set(cfg.empty_export_namespaces) if legacy else set()
        if "ns" not in self.params:  # /repos/pulls?repos=ns/repo&repos=...
            repos = [r for r in self.query.get("repos", []) if r]
            if not repos or len(repos) > 50:
                raise _Fail(400, {"message": "between 1 and 50 repos are required", "errinfo": {}})
            out: dict[str, Any] = {}
            for full in repos:
                ns, _, repo = full.partition("/")
                ok = ns in cfg.namespaces and repo in data.repo_names(cfg, ns) and ns not in empty
                out[full] = {"pulls": listing(cfg, _pulls(cfg, ns, ttype, period, "repo", repo) if ok else [])}
            self._json(200, {"repos": out})
            return
        namespace = self._namespace(cfg)
        if namespace in empty:
            self._json(200, {"pulls": listing(cfg, [])})
            return
        repo_name = self.params.get("repo")
        if repo_name is not None:
            if repo_name not in data.repo_names(cfg, namespace):
                raise _not_found()
            self._json(200, {"pulls": listing(cfg, _pulls(cfg, namespace, ttype, period, "repo", repo_name))})
            return
        self._json(200, {"pulls": listing(cfg, _pulls(cfg, namespace, ttype, period, group, None))})

    def _one(self, name: str, default: str) -> str:
        values = self.query.get(name)
        return values[0] if values else default

    # -- storage ---------------------------------------------------------------------------------
    def _storage_error(self, status: int, code: str, message: str, **extra: str) -> None:
        self.sim._bump("storage_denied")
        self._send(status, _s3_error(code, message, **extra), "application/xml")

    def _download(self) -> None:
        sim = self.sim
        if self.headers.get("Authorization"):
            self._storage_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be specified",
                ArgumentName="Authorization",
                ArgumentValue="Bearer ***",
            )
            return
        parts = self.req_path[len(STORAGE_PREFIX) :].split("/")
        file_id = parts[0] if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{32}", parts[0]) else ""
        amz_date, expires, sig = (self._one(k, "") for k in ("X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"))
        if not (amz_date and expires and sig):
            self._storage_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the X-Amz-Signature, X-Amz-Date and X-Amz-Expires parameters",
            )
            return
        if not hmac.compare_digest(sig, sim._signature(file_id, amz_date, expires)):
            self._storage_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
            return
        try:
            signed = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            deadline = signed.timestamp() + int(expires)
        except ValueError:
            self._storage_error(403, "AccessDenied", "X-Amz-Date must be in the ISO8601 format")
            return
        now = time.time()
        if now >= deadline:
            self._storage_error(
                403,
                "AccessDenied",
                "Request has expired",
                **{"X-Amz-Expires": expires},
                Expires=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(deadline)),
                ServerTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            )
            return
        path = sim._path(file_id)
        if not path.exists():
            self._storage_error(404, "NoSuchKey", "The specified key does not exist.")
            return
        fault = self.fault
        kind = fault.kind if fault else None
        if kind == "cut_csv":
            path = sim._cut_file(file_id)
        truncate = float(fault.fraction) if fault and kind == "truncate" else None
        self._serve_file(path, file_id, corrupt=kind == "corrupt_gzip", truncate=truncate)

    def _serve_file(self, path: Path, etag: str, *, corrupt: bool, truncate: float | None) -> None:
        size = path.stat().st_size
        start, end, status = 0, size - 1, 200
        headers = [
            ("Accept-Ranges", "bytes"),
            ("ETag", f'"{etag}"'),
            ("Last-Modified", self.date_time_string(int(path.stat().st_mtime))),
            ("x-amz-request-id", uuid.uuid4().hex[:16].upper()),
        ]
        range_header = self.headers.get("Range")
        if range_header:
            self.sim._bump("range_requests")
            m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", range_header)
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    start = max(0, size - int(m.group(2)))
                if start >= size or start > end:
                    self._send(
                        416,
                        _s3_error(
                            "InvalidRange",
                            "The requested range is not satisfiable",
                            RangeRequested=range_header,
                            ActualObjectSize=str(size),
                        ),
                        "application/xml",
                        [("Content-Range", f"bytes */{size}")],
                    )
                    return
                status = 206
                headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", "binary/octet-stream")
        self.send_header("Content-Length", str(length))
        for name, value in headers:
            self.send_header(name, value)
        self._account(status, 0, download=True)
        self.end_headers()
        if self.method == "HEAD":
            return
        to_send = length if truncate is None else int(length * truncate)
        flip = size - 8 if corrupt else -1
        sent = 0
        try:
            with open(path, "rb") as fh:
                fh.seek(start)
                pos = start
                while sent < to_send:
                    chunk = fh.read(min(_CHUNK, to_send - sent))
                    if not chunk:
                        break
                    if pos <= flip < pos + len(chunk):
                        buf = bytearray(chunk)
                        buf[flip - pos] ^= 0xFF
                        chunk = bytes(buf)
                    self._account(None, len(chunk), download=True)
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    pos += len(chunk)
            self.wfile.flush()
        finally:
            if truncate is not None:
                self.close_connection = True

    # -- Hub repositories ------------------------------------------------------------------------
    def _repositories(self) -> None:
        cfg = self.sim.config
        claims = self._require_jwt(optional=True)
        ns = self.params["ns"]
        if ns not in cfg.namespaces:
            raise _Fail(404, {"message": "namespace not found", "errinfo": {}})
        entries = repository_entries(cfg, ns)
        if claims is None:
            entries = [e for e in entries if not e["is_private"]]
        if self.params.get("repo"):
            for e in entries:
                if e["name"] == self.params["repo"]:
                    self._json(200, e)
                    return
            raise _Fail(404, {"message": "object not found", "errinfo": {}})
        try:
            page = int(self._one("page", "1"))
            size = int(self._one("page_size", "10"))
        except ValueError:
            raise _Fail(
                400,
                {
                    "fields": {"page": ["A valid integer is required."]},
                    "text": "Invalid page value",
                },
            ) from None
        if page < 1:
            raise _Fail(
                400,
                {
                    "fields": {"page": ["Ensure this value is greater than or equal to 1."]},
                    "text": "Invalid page value",
                },
            )
        if not 1 <= size <= cfg.repos_page_max:
            raise _Fail(
                400,
                {
                    "fields": {"page_size": [f"Ensure this value is between 1 and {cfg.repos_page_max}."]},
                    "text": "Invalid page_size value",
                },
            )
        ordering = self._one("ordering", "")
        if ordering and ordering not in ORDERINGS:
            raise _Fail(
                400,
                {
                    "fields": {"ordering": [f"Select a valid choice. {ordering} is not one of the available choices."]},
                    "text": "Invalid ordering value",
                },
            )
        name_filter = self._one("name", "")
        if name_filter:
            entries = [e for e in entries if name_filter.lower() in e["name"]]
        field = (ordering or "name").lstrip("-")
        entries.sort(
            key=lambda e: (e[field] is None, e[field] or 0, e["name"]),
            reverse=ordering.startswith("-"),
        )
        count = len(entries)
        pages = max(1, -(-count // size))
        if page > pages:
            raise _Fail(404, {"errinfo": {}, "detail": "Invalid page.", "message": "page not found"})
        extra = [(k, v) for k, v in (("ordering", ordering), ("name", name_filter)) if v]

        def link(p: int) -> str:
            query = urlencode([("page", p), ("page_size", size), *extra])
            return f"{self.sim.url}/v2/namespaces/{ns}/repositories?{query}"

        self._json(
            200,
            {
                "count": count,
                "next": link(page + 1) if page < pages else None,
                "previous": link(page - 1) if page > 1 else None,
                "results": entries[(page - 1) * size : page * size],
            },
        )

    # -- control ---------------------------------------------------------------------------------
    def _control(self) -> None:
        sim = self.sim
        path, method = self.req_path.rstrip("/"), self.method
        if path == "/_sim/faults":
            if method == "POST":
                try:
                    added = sim.add_fault(self._read_json())
                except (TypeError, ValueError) as exc:
                    raise _Fail(400, {"detail": str(exc)}) from None
                self._json(201, {"added": len(added), "faults": sim.faults.rules()})
            elif method == "DELETE":
                self._json(200, {"cleared": sim.clear_faults()})
            else:
                self._json(200, {"faults": sim.faults.rules()})
        elif path == "/_sim/stats":
            if method == "DELETE":
                sim.reset_stats()
            self._json(200, sim.stats)
        elif path == "/_sim/clock":
            if method == "POST":
                body = self._read_json()
                try:
                    sim.set_end_date(str((body or {}).get("end_date")))
                except ValueError as exc:
                    raise _Fail(400, {"detail": str(exc)}) from None
            cfg = sim.config
            self._json(200, {"end_date": cfg.end_date.isoformat(), "weeks": cfg.weeks})
        elif path == "/_sim/config":
            if method == "POST":
                try:
                    sim.reconfigure(**(self._read_json() or {}))
                except (TypeError, ValueError) as exc:
                    raise _Fail(400, {"detail": str(exc)}) from None
            self._json(200, sim.config.to_json())
        elif path == "/_sim/token":
            self._json(200, {"token": sim.issue_token()})
        elif path == "/_sim/pregenerate" and method == "POST":
            body = self._read_json() or {}
            count = sim.pregenerate(body.get("namespaces"), body.get("views"), body.get("timespan_types"))
            self._json(200, {"files": count})
        else:
            raise _Fail(404, {"detail": "Not Found"})


def _pulls(cfg: SimConfig, ns: str, ttype: str, period: str, group: str, repo: str | None) -> list[dict[str, Any]]:
    """PullModel rows for the complete timespans of the period (weeks Monday to Sunday, whatever the export's
    ``week_numbering``: the spec's example row is one)."""
    months = PERIODS[period]
    e = cfg.end_date
    index = e.year * 12 + e.month - 1 - months
    cutoff = date(index // 12, index % 12 + 1, 1)
    out: list[dict[str, Any]] = []
    for _year, _n, start, end in data.complete_timespans(cfg, ns, ttype, numbering="iso"):
        if start < cutoff:
            continue
        agg = data.aggregates(cfg, ns, start, end)
        base = {"start": f"{start.isoformat()}T00:00:00Z", "end": f"{end.isoformat()}T00:00:00Z"}
        if group == "repo":
            for (ns_col, rp), (pulls, ips) in sorted(agg.repo_totals.items()):
                name = rp if ns_col == ns else f"{ns_col}/{rp}"
                if repo is None or (rp == repo and ns_col == ns):
                    out.append({**base, "repo": name, "pullCount": pulls, "ipCount": ips})
        elif group == "namespace":
            out.append({**base, "namespace": ns, "pullCount": agg.total[0], "ipCount": agg.total[1]})
        else:
            out.append({**base, "pullCount": agg.total[0], "ipCount": agg.total[1]})
    return out
