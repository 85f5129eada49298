"""The Docker Hub simulator: endpoints, data consistency, faults, determinism."""

from __future__ import annotations

import base64
import csv
import functools
import gzip
import hashlib
import hmac
import io
import json
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from sim_process import wait_for_url

from dockerdvp_simulator import SimConfig, Simulator
from dockerdvp_simulator import data as simdata

END = date(2026, 1, 20)  # a Tuesday: weeks=5 -> 2025-W51 .. 2026-W03 complete, 2026-W04 open
USER, PASSWORD = "demo", "dckr_pat_demo-secret-token"
TIMEOUT = 10
http_get = functools.partial(requests.get)
http_post = functools.partial(requests.post)
http_delete = functools.partial(requests.delete)
http_head = functools.partial(requests.head)


def small(**overrides: object) -> SimConfig:
    base: dict[str, object] = {"end_date": END, "weeks": 5, "rows_per_week": 350}
    base.update(overrides)
    return SimConfig(**base)  # type: ignore[arg-type]


def login(sim: Simulator) -> requests.Session:
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": PASSWORD}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + r.json()["token"]
    return session


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def rows_of(blob: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(gzip.decompress(blob).decode("utf-8"), newline="")))


def export_urls(session: requests.Session, sim: Simulator, path: str) -> list[dict]:
    r = session.get(f"{sim.api_url}/namespaces/{path}")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def download_rows(session: requests.Session, sim: Simulator, path: str) -> list[list[list[str]]]:
    """Rows (header first) of every file of an export view."""
    out = []
    for f in export_urls(session, sim, path):
        blob = http_get(f["url"]).content
        assert len(blob) == f["size"]
        out.append(rows_of(blob))
    return out


def totp(secret: str, at: float) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0xF
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


# --------------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------------
def test_login_endpoints_issue_signed_jwts(simulator):
    sim = simulator(small(token_ttl=900))
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": PASSWORD})
    assert r.status_code == 200 and set(r.json()) == {"token"}
    token = r.json()["token"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "HS256"
    claims = jwt_claims(token)
    assert claims["exp"] == claims["iat"] + 900
    assert claims["aud"] == "https://hub.docker.com" and claims["jti"]
    assert claims["https://hub.docker.com"]["username"] == USER

    r = http_post(sim.url + "/v2/auth/token", json={"identifier": USER, "secret": PASSWORD})
    assert r.status_code == 200 and set(r.json()) == {"access_token"}
    access = r.json()["access_token"]
    assert jwt_claims(access)["iss"] == "https://api.docker.com/"

    for auth in (f"Bearer {token}", f"JWT {access}"):
        r = http_get(sim.api_url + "/", headers={"Authorization": auth})
        assert r.status_code == 200 and r.json() == {"namespaces": ["acme", "globex"]}
        assert r.headers["X-RateLimit-Limit"] == "180"
        assert int(r.headers["X-RateLimit-Reset"]) > time.time()
    stats = sim.stats
    assert stats["logins"] == 2 and stats["token_refreshes"] == 1
    assert stats["requests"]["login"] == 2 and stats["endpoints"]["auth-token"] == 1


def test_wrong_credentials(simulator):
    sim = simulator(small())
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": "nope"})
    assert r.status_code == 401
    assert r.json() == {"detail": "Incorrect authentication credentials", "login_2fa_token": None}
    r = http_post(sim.url + "/v2/auth/token", json={"identifier": "x", "secret": PASSWORD})
    assert r.status_code == 401 and r.json()["message"] == "unauthorized"
    assert set(r.json()) == {"errinfo", "detail", "message"}
    # A PAT is not a bearer token; no header at all is refused too.
    r = http_get(sim.api_url + "/namespaces", headers={"Authorization": f"Bearer {PASSWORD}"})
    assert r.status_code == 401 and "detail" in r.json()
    assert http_get(sim.api_url + "/namespaces").status_code == 401
    assert sim.stats["login_failures"] == 2 and sim.stats["unauthorized"] == 4


def test_two_factor_login(simulator):
    secret = base64.b32encode(b"0123456789abcdefghij").decode().rstrip("=")
    sim = simulator(small(totp_secret=secret, account_password="hunter2-account-password"))
    # A personal access token never gets a 2FA challenge.
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": PASSWORD})
    assert r.status_code == 200 and set(r.json()) == {"token"}
    assert jwt_claims(r.json()["token"])["https://hub.docker.com"]["source"].startswith("docker_pat|")
    # The account password does.
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": "hunter2-account-password"})
    assert r.status_code == 401
    assert r.json()["detail"] == "Require secondary authentication on MFA enabled account"
    pending = r.json()["login_2fa_token"]
    assert pending
    bad = http_post(sim.url + "/v2/users/2fa-login", json={"login_2fa_token": pending, "code": "000000"})
    if bad.status_code == 200:  # one time in a million the code is right
        pytest.skip("000000 happened to be the current code")
    assert bad.status_code == 401 and "detail" in bad.json()
    ok = http_post(
        sim.url + "/v2/users/2fa-login",
        json={"login_2fa_token": pending, "code": totp(secret, time.time())},
    )
    assert ok.status_code == 200, ok.text
    assert jwt_claims(ok.json()["token"])["https://hub.docker.com"]["source"].startswith("password|")
    r = http_get(sim.api_url + "/", headers={"Authorization": "Bearer " + ok.json()["token"]})
    assert r.status_code == 200
    # The pending token is not a bearer token.
    r = http_get(sim.api_url + "/", headers={"Authorization": "Bearer " + pending})
    assert r.status_code == 401
    assert sim.stats["two_factor_challenges"] == 1


def test_pat_two_factor_option_challenges_the_token_too(simulator):
    secret = base64.b32encode(b"0123456789abcdefghij").decode().rstrip("=")
    sim = simulator(small(totp_secret=secret, pat_two_factor=True))
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": PASSWORD})
    assert r.status_code == 401 and r.json()["login_2fa_token"]
    ok = http_post(
        sim.url + "/v2/users/2fa-login",
        json={"login_2fa_token": r.json()["login_2fa_token"], "code": totp(secret, time.time())},
    )
    assert ok.status_code == 200 and ok.json()["token"]
    # Without a TOTP seed there is no challenge, whatever the option says.
    plain = simulator(small(pat_two_factor=True))
    r = http_post(plain.url + "/v2/users/login", json={"username": USER, "password": PASSWORD})
    assert r.status_code == 200


def test_token_only_login_mode(simulator):
    sim = simulator(small(login_mode="token-only"))
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": PASSWORD})
    assert r.status_code == 410
    assert r.json() == {"detail": "This endpoint is deprecated. Use /v2/auth/token"}
    r = http_post(sim.url + "/v2/auth/token", json={"identifier": USER, "secret": PASSWORD})
    assert r.status_code == 200 and r.json()["access_token"]


def test_jwt_and_url_expiry(simulator):
    sim = simulator(small(token_ttl=1, url_ttl=1))
    session = login(sim)
    url = export_urls(session, sim, "acme/pulls/exports/years/2026/weeks/1/namespace-summary")
    url = url[0]["url"]
    assert http_get(url).status_code == 200
    time.sleep(1.1)
    r = session.get(sim.api_url + "/namespaces")
    assert r.status_code == 401
    assert r.json() == {"detail": "Failed to validate JWT token against trusted cert"}
    r = http_get(url)
    assert r.status_code == 403
    assert b"<Code>AccessDenied</Code>" in r.content and b"Request has expired" in r.content
    assert sim.stats["expired_tokens"] == 1


# --------------------------------------------------------------------------------------------------
# DVP API listings
# --------------------------------------------------------------------------------------------------
def test_namespace_metadata(simulator):
    sim = simulator(small(extension_namespaces=("globex",)))
    s = login(sim)
    meta = s.get(sim.api_url + "/namespaces/acme").json()
    assert meta == {
        "namespace": "acme",
        "extraRepos": ["otherns/legacy-image"],
        "datasets": [
            {
                "name": "pulls",
                "timespans": ["months", "weeks"],
                "views": ["raw", "summary", "repo-summary", "namespace-summary", "geo-repo-summary"],
            }
        ],
    }
    listing = s.get(sim.api_url + "/namespaces").json()
    assert [m["namespace"] for m in listing] == ["acme", "globex"]
    globex = listing[1]
    assert globex["extraRepos"] == [] and set(globex) == {"namespace", "extraRepos", "datasets"}
    assert globex["datasets"][1] == {
        "name": "extensions",
        "timespans": ["months", "weeks"],
        "views": ["ext-summary"],
    }
    r = s.get(sim.api_url + "/namespaces/nope")
    assert r.status_code == 404 and r.json()["message"] == "object not found"
    # ext-summary exists only where the metadata lists it.
    base = "pulls/exports/years/2026/weeks/1"
    assert s.get(f"{sim.api_url}/namespaces/acme/{base}/ext-summary").status_code == 404
    [[header, *rows]] = download_rows(s, sim, f"globex/{base}/ext-summary")
    assert header == [
        "Namespace", "Extension", "Installs", "TotalInstalls", "Uninstalls", "TotalUninstalls",
        "Updates",
    ]  # fmt: skip
    assert [r[1] for r in rows] == ["globex/desktop-extension", "globex/insights-extension"]
    assert all(int(r[3]) >= int(r[2]) for r in rows)


def test_iso_year_boundaries(simulator):
    sim = simulator(small())
    s = login(sim)
    base = sim.api_url + "/namespaces/acme/pulls/exports/years"
    assert s.get(base).json() == {"years": [{"year": 2025}, {"year": 2026}]}
    assert s.get(base + "/2025/weeks").json() == {"weeks": [{"week": 51}, {"week": 52}]}
    # 2026-W04 is the open week: listed (include_partial) although incomplete.
    assert s.get(base + "/2026/weeks").json() == {"weeks": [{"week": w} for w in (1, 2, 3, 4)]}
    assert s.get(base + "/2025/months").json() == {"months": [{"month": 12}]}
    assert s.get(base + "/2026/months").json() == {"months": [{"month": 1}]}
    assert s.get(base + "/2024/weeks").json() == {"weeks": []}
    assert s.get(base + "/2026/weeks/1").json() == {"week": 1}
    assert s.get(base + "/2026/weeks/9").status_code == 404
    assert s.get(base + "/2026/days").status_code == 400
    assert simdata.timespan_bounds("weeks", 2026, 1) == (date(2025, 12, 29), date(2026, 1, 4))

    cfg = sim.config
    weeks = simdata.complete_timespans(cfg, "acme", "weeks")
    assert [(y, n) for y, n, _s, _e in weeks] == [(2025, 51), (2025, 52), (2026, 1), (2026, 2),
                                                  (2026, 3)]  # fmt: skip
    assert weeks[2][2:] == (date(2025, 12, 29), date(2026, 1, 4))
    assert simdata.complete_timespans(cfg, "acme", "months") == [(2025, 12, date(2025, 12, 1), date(2025, 12, 31))]
    # The week of 2025-12-29 holds 2025 days, all in ISO week 2026-W01.
    [[_h, *rows]] = download_rows(s, sim, "acme/pulls/exports/years/2026/weeks/1/raw")
    assert {r[1] for r in rows} == {(date(2025, 12, 29) + timedelta(d)).isoformat() for d in range(7)}

    no_partial = simulator(small(include_partial=False))
    s2 = login(no_partial)
    base2 = no_partial.api_url + "/namespaces/acme/pulls/exports/years"
    assert s2.get(base2 + "/2026/weeks").json() == {"weeks": [{"week": w} for w in (1, 2, 3)]}
    assert s2.get(base2 + "/2026/months").json() == {"months": []}


def test_iso_week_53():
    cfg = small(end_date=date(2021, 1, 12), weeks=3)
    weeks = simdata.listed_timespans(cfg, "acme", "weeks")
    assert [(y, n) for y, n, _s, _e in weeks] == [(2020, 52), (2020, 53), (2021, 1), (2021, 2)]
    assert simdata.listed_years(cfg, "acme") == [2020, 2021]
    assert [(y, n) for y, n, *_ in simdata.complete_timespans(cfg, "acme", "months")] == [(2020, 12)]


# --------------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------------
def test_raw_export_rows_match_expected_and_split(simulator):
    sim = simulator(small(files_per_timespan=3, rows_per_week=1000))
    s = login(sim)
    files = download_rows(s, sim, "acme/pulls/exports/years/2026/weeks/2/raw")
    assert len(files) == 3
    header = files[0][0]
    assert header == [
        "Action", "Action day", "Country", "Digest", "HTTP method", "Host", "Namespace",
        "Reference", "Repository", "Tag", "Timestamp", "Type", "User agent tool",
        "User agent version", "Domain", "Owner", "IP hash",
    ]  # fmt: skip
    assert all(f[0] == header for f in files)
    counts = [len(f) - 1 for f in files]
    assert sum(counts) == 1000 == simdata.expected_rows(sim.config, "acme", "raw", "weeks", 2026, 2)
    for i, n in enumerate(counts):
        assert n == simdata.expected_rows(sim.config, "acme", "raw", "weeks", 2026, 2, file_index=i)
    rows = [r for f in files for r in f[1:]]
    assert all(len(r) == len(header) for r in rows)
    assert {r[0] for r in rows} == {"pull_by_tag", "pull_by_digest", "version_check"}
    assert all(r[10].startswith(r[1] + " ") and len(r[10]) == 19 for r in rows)  # a time of the row's day
    assert len({r[10] for r in rows}) > len(rows) // 2  # one timestamp per pull: mostly distinct
    assert {r[4] for r in rows if r[0] == "version_check"} == {"HEAD"}
    assert {(r[3], r[9]) for r in rows if r[0] == "version_check"} == {("", "")}
    assert all(r[7] == r[3] and r[9] == "\\N" for r in rows if r[0] == "pull_by_digest")
    assert {r[15] for r in rows} == {"Acme, Inc."}  # a quoted field with a comma
    assert "otherns" in {r[6] for r in rows}  # the extraRepos repository
    # Same rows as the generator says, in the same order.
    start, end = simdata.timespan_bounds("weeks", 2026, 2)
    generated = [list(r.values()) for r in simdata.raw_rows(sim.config, "acme", start, end)]
    assert generated == rows
    # The open week holds the days so far only (Monday 2026-01-19).
    open_week = download_rows(s, sim, "acme/pulls/exports/years/2026/weeks/4/raw")
    assert {r[1] for f in open_week for r in f[1:]} == {"2026-01-19"}


def test_month_is_union_of_days_and_summaries_agree(simulator):
    sim = simulator(small(rows_per_week=700, weeks=6))
    cfg = sim.config
    s = login(sim)
    [[raw_header, *raw]] = download_rows(s, sim, "acme/pulls/exports/years/2025/months/12/raw")
    assert len(raw) == simdata.expected_rows(cfg, "acme", "raw", "months", 2025, 12)
    by_day = Counter(r[1] for r in raw)
    for day, n in by_day.items():
        d = date.fromisoformat(day)
        assert n == simdata.day_row_count(cfg, "acme", d)
        assert [list(x.values()) for x in simdata.raw_rows(cfg, "acme", d, d)] == [r for r in raw if r[1] == day]
    actions = Counter(r[0] for r in raw)
    ip_col = raw_header.index("IP hash")

    def view(name: str) -> tuple[list[str], list[list[str]]]:
        [[header, *rows]] = download_rows(s, sim, f"acme/pulls/exports/years/2025/months/12/{name}")
        return header, rows

    header, repo_rows = view("repo-summary")
    assert header == [
        "Namespace", "Repository", "Unique IP address", "Pull by tag", "Pull by digest",
        "Version check", "Owner",
    ]  # fmt: skip
    assert sum(int(r[3]) for r in repo_rows) == actions["pull_by_tag"]
    assert sum(int(r[4]) for r in repo_rows) == actions["pull_by_digest"]
    assert sum(int(r[5]) for r in repo_rows) == actions["version_check"]
    for r in repo_rows:
        ips = {x[ip_col] for x in raw if x[6] == r[0] and x[8] == r[1]}
        assert int(r[2]) == len(ips)

    header, summary = view("summary")
    assert header == [
        "Namespace", "Repository", "Reference", "Tag", "Digest", "Unique IP address",
        "Pull by tag", "Pull by digest", "Version check", "Owner",
    ]  # fmt: skip
    per_ref = Counter((x[6], x[8], x[7]) for x in raw)
    assert {(r[0], r[1], r[2]): sum(map(int, r[6:9])) for r in summary} == dict(per_ref)

    header, [ns_row] = view("namespace-summary")
    assert header == ["Namespace", "Unique IP address", "Pull by tag", "Pull by digest",
                      "Version check"]  # fmt: skip
    assert ns_row[0] == "acme" and int(ns_row[1]) == len({x[ip_col] for x in raw})
    assert [int(v) for v in ns_row[2:]] == [
        actions["pull_by_tag"], actions["pull_by_digest"], actions["version_check"]
    ]  # fmt: skip

    header, geo = view("geo-repo-summary")
    assert header[:3] == ["Namespace", "Repository", "Country"]
    per_geo = Counter((x[6], x[8], x[2]) for x in raw)
    assert {(r[0], r[1], r[2]): sum(map(int, r[4:7])) for r in geo} == dict(per_geo)
    assert simdata.expected_rows(cfg, "acme", "geo-repo-summary", "months", 2025, 12) == len(geo)


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("snake", ["namespace", "repository", "unique_ip_count", "pull_by_tag", "pull_by_digest",
                   "version_check", "owner"]),
        ("upper", ["NAMESPACE", "REPOSITORY", "UNIQUE_IP_COUNT", "PULL_BY_TAG", "PULL_BY_DIGEST",
                   "VERSION_CHECK", "OWNER"]),
    ],
)  # fmt: skip
def test_header_styles(simulator, style, expected):
    sim = simulator(small(header_style=style, extra_columns=("ip_hash", "arch")))
    s = login(sim)
    [[header, *_]] = download_rows(s, sim, "acme/pulls/exports/years/2026/weeks/1/repo-summary")
    assert header == expected
    [[raw_header, *_]] = download_rows(s, sim, "acme/pulls/exports/years/2026/weeks/1/raw")
    assert raw_header[:2] == (["action", "action_day"] if style == "snake" else
                              ["ACTION", "ACTION_DAY"])  # fmt: skip
    assert raw_header[-2:] == (["ip_hash", "arch"] if style == "snake" else ["IP_HASH", "ARCH"])


def test_storage_rules_and_range_resume(simulator):
    sim = simulator(small(rows_per_week=2000))
    s = login(sim)
    [f] = export_urls(s, sim, "acme/pulls/exports/years/2026/weeks/2/raw")
    url, size = f["url"], f["size"]
    assert "X-Amz-Expires=21600" in url and "X-Amz-Signature=" in url
    r = http_get(url, headers={"Authorization": s.headers["Authorization"]})
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content
    assert b"Only one auth mechanism allowed" in r.content
    assert http_get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403
    full = http_get(url)
    assert full.status_code == 200 and len(full.content) == size
    assert full.headers["Content-Type"] in ("binary/octet-stream", "application/octet-stream")
    assert "Content-Encoding" not in full.headers
    part = http_get(url, headers={"Range": f"bytes={size // 3}-"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes {size // 3}-{size - 1}/{size}"
    assert full.content[: size // 3] + part.content == full.content
    r = http_get(url, headers={"Range": f"bytes={size}-"})
    assert r.status_code == 416
    assert http_head(url).headers["Content-Length"] == str(size)
    assert sim.stats["download_bytes"] >= size + len(part.content)


def test_repository_pagination(simulator):
    sim = simulator(small())
    s = login(sim)
    url = sim.url + "/v2/namespaces/acme/repositories?page_size=5"
    names, pages = [], 0
    while url:
        r = s.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == 12
        if pages == 0:
            assert body["previous"] is None
        names += [x["name"] for x in body["results"]]
        url = body["next"]
        assert url is None or url.startswith(sim.url + "/v2/namespaces/acme/repositories?")
        pages += 1
    assert pages == 3 and len(set(names)) == 12
    assert names == simdata.repo_names(sim.config, "acme") or sorted(names) == names
    entry = r.json()["results"][0]
    for key in ("name", "namespace", "repository_type", "status", "status_description",
                "description", "is_private", "star_count", "pull_count", "last_updated",
                "last_modified", "date_registered", "affiliation", "media_types", "content_types",
                "categories", "storage_size"):  # fmt: skip
        assert key in entry
    base = sim.url + "/v2/namespaces/acme/repositories"
    assert s.get(base + "?page=4&page_size=5").status_code == 404
    assert s.get(base + "?page_size=101").status_code == 400
    assert s.get(base + "?page_size=0").status_code == 400
    assert s.get(base + "?ordering=stars").status_code == 400
    assert s.get(base + "?page_size=100").json()["next"] is None
    anonymous = http_get(base + "?page_size=100").json()
    assert anonymous["count"] == 11 and not any(x["is_private"] for x in anonymous["results"])
    assert s.get(sim.url + "/v2/namespaces/nope/repositories").status_code == 404


def test_pull_endpoints_agree_with_raw(simulator):
    sim = simulator(small())
    s = login(sim)
    r = s.get(sim.api_url + "/namespaces/acme/pulls",
              params={"timespan": "weeks", "period": "last-2-months", "group": "repo"})  # fmt: skip
    pulls = r.json()["pulls"]
    first = pulls[0]
    assert first["start"] == "2025-12-15T00:00:00Z" and first["end"] == "2025-12-21T00:00:00Z"
    week_rows = list(simdata.raw_rows(sim.config, "acme", date(2025, 12, 15), date(2025, 12, 21)))
    assert sum(p["pullCount"] for p in pulls if p["start"] == first["start"]) == len(week_rows)
    one = s.get(sim.api_url + "/namespaces/acme/repos/server/pulls?timespan=weeks").json()
    assert {p["repo"] for p in one["pulls"]} == {"server"}
    many = s.get(sim.api_url + "/repos/pulls", params={"repos": ["acme/server", "acme/zzz"]})
    assert many.json()["repos"]["acme/zzz"] == {"pulls": []}
    too_many = s.get(sim.api_url + "/repos/pulls", params={"repos": [f"acme/r{i}" for i in range(51)]})
    assert too_many.status_code == 400
    assert s.get(sim.api_url + "/namespaces/acme/pulls?period=forever").status_code == 400


def test_clock_moves_and_new_week_appears(simulator):
    sim = simulator(small(include_partial=False))
    s = login(sim)
    weeks = sim.api_url + "/namespaces/acme/pulls/exports/years/2026/weeks"
    assert s.get(weeks).json() == {"weeks": [{"week": 1}, {"week": 2}, {"week": 3}]}
    before = simdata.expected_rows(sim.config, "acme", "raw", "weeks", 2025, 51)
    r = http_post(sim.url + "/_sim/clock", json={"end_date": "2026-01-27"})
    assert r.json() == {"end_date": "2026-01-27", "weeks": 6}
    assert s.get(weeks).json() == {"weeks": [{"week": w} for w in (1, 2, 3, 4)]}
    assert simdata.expected_rows(sim.config, "acme", "raw", "weeks", 2025, 51) == before
    assert simdata.data_start(sim.config) == date(2025, 12, 15)


# --------------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------------
def test_fault_status_after_and_times(simulator):
    sim = simulator(small())
    s = login(sim)
    sim.add_fault({"match": "api", "kind": "status", "status": 503, "times": 2, "after": 1})
    codes = [s.get(sim.api_url + "/").status_code for _ in range(4)]
    assert codes == [200, 503, 503, 200]
    sim.add_fault({"match": r"/years/\d+/weeks$", "kind": "status", "status": 502,
                   "body": "Bad Gateway"})  # fmt: skip
    r = s.get(sim.api_url + "/namespaces/acme/pulls/exports/years/2026/weeks")
    assert r.status_code == 502 and r.text == "Bad Gateway"
    stats = sim.stats
    assert stats["faults_injected"] == 3 and stats["faults"] == {"status": 3}
    assert stats["responses"]["503"] == 2
    # The control endpoints drive a simulator in another process the same way.
    r = http_post(sim.url + "/_sim/faults", json=[{"match": "login", "kind": "status",
                                                       "status": 500}])  # fmt: skip
    assert r.status_code == 201
    assert http_post(sim.url + "/v2/auth/token", json={}).status_code == 500
    assert http_delete(sim.url + "/_sim/faults").json() == {"cleared": 3}
    assert http_get(sim.url + "/_sim/stats").json()["faults_injected"] == 4
    r = http_post(sim.url + "/_sim/faults", json={"match": "x", "kind": "nope"})
    assert r.status_code == 400


@pytest.mark.parametrize("style", ["seconds", "epoch", "x-retry-after", "none"])
def test_fault_rate_limit(simulator, style):
    sim = simulator(small())
    s = login(sim)
    sim.add_fault({"match": "namespaces", "kind": "rate_limit", "retry_after": 30,
                   "retry_after_style": style})  # fmt: skip
    r = s.get(sim.api_url + "/namespaces")
    assert r.status_code == 429 and r.json() == {"detail": "Rate limit exceeded", "error": False}
    assert r.headers["X-RateLimit-Remaining"] == "0"
    if style == "seconds":
        assert r.headers["Retry-After"] == "30"
    elif style == "epoch":
        assert abs(int(r.headers["Retry-After"]) - (time.time() + 30)) < 5
    elif style == "x-retry-after":
        assert "Retry-After" not in r.headers and int(r.headers["X-Retry-After"]) > time.time()
    else:
        assert "Retry-After" not in r.headers
    assert s.get(sim.api_url + "/namespaces").status_code == 200


def test_fault_reset_html_slow_expire_token(simulator):
    sim = simulator(small())
    s = login(sim)
    sim.add_fault({"match": "root", "kind": "reset"})
    with pytest.raises(requests.ConnectionError):
        s.get(sim.api_url + "/")
    assert s.get(sim.api_url + "/").status_code == 200
    sim.add_fault({"match": "namespaces", "kind": "html"})
    r = s.get(sim.api_url + "/namespaces")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        r.json()
    sim.add_fault({"match": "namespace", "kind": "slow", "seconds": 0.3})
    started = time.monotonic()
    assert s.get(sim.api_url + "/namespaces/acme").status_code == 200
    assert time.monotonic() - started >= 0.3
    sim.add_fault({"match": "api", "kind": "expire_token"})
    assert s.get(sim.api_url + "/namespaces/acme").status_code == 401
    assert s.get(sim.api_url + "/namespaces/acme").status_code == 401  # an expired token stays expired
    assert login(sim).get(sim.api_url + "/namespaces/acme").status_code == 200  # a fresh one passes
    assert sim.stats["faults"] == {"reset": 1, "html": 1, "slow": 1, "expire_token": 1}


def test_fault_truncate_then_resume(simulator):
    sim = simulator(small(rows_per_week=3000))
    s = login(sim)
    [f] = export_urls(s, sim, "acme/pulls/exports/years/2026/weeks/3/raw")
    sim.add_fault({"match": "download", "kind": "truncate", "fraction": 0.4})
    received = bytearray()
    r = http_get(f["url"], stream=True)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == f["size"]
    with pytest.raises(requests.exceptions.RequestException):
        for chunk in r.iter_content(8192):
            received += chunk
    r.close()
    assert 0 < len(received) < f["size"]
    rest = http_get(f["url"], headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206
    blob = bytes(received) + rest.content
    assert len(blob) == f["size"]
    assert len(rows_of(blob)) - 1 == simdata.expected_rows(sim.config, "acme", "raw", "weeks",
                                                          2026, 3)  # fmt: skip


def test_fault_corrupt_gzip_cut_csv_expire_url(simulator):
    sim = simulator(small())
    s = login(sim)
    [f] = export_urls(s, sim, "acme/pulls/exports/years/2026/weeks/1/raw")
    good = http_get(f["url"]).content

    sim.add_fault({"match": "pulls.csv.gz", "kind": "corrupt_gzip"})
    bad = http_get(f["url"]).content
    assert len(bad) == len(good) and bad != good
    with pytest.raises((gzip.BadGzipFile, zlib.error, EOFError, OSError)):
        gzip.decompress(bad)

    sim.add_fault({"match": "download", "kind": "cut_csv"})
    r = http_get(f["url"])
    assert int(r.headers["Content-Length"]) == len(r.content) < len(good)
    text = gzip.decompress(r.content).decode()  # a valid gzip...
    assert not text.endswith("\n")  # ...whose last line is cut
    full = gzip.decompress(good).decode()
    assert full.startswith(text) and len(text.splitlines()) == len(full.splitlines())

    sim.add_fault({"match": "download", "kind": "expire_url"})
    r = http_get(f["url"])
    assert r.status_code == 403 and b"Request has expired" in r.content
    assert http_get(f["url"]).content == good
    # expire_url does not apply to API requests.
    sim.add_fault({"match": "*", "kind": "expire_url"})
    assert s.get(sim.api_url + "/").status_code == 200


# --------------------------------------------------------------------------------------------------
# Determinism and the process
# --------------------------------------------------------------------------------------------------
def test_same_seed_same_bytes(tmp_path):
    cfg = small(files_per_timespan=2)
    for name in ("a", "b"):
        for view in ("raw", "summary"):
            simdata.write_export_file(cfg, "globex", view, "weeks", 2026, 2, 1,
                                      tmp_path / f"{name}-{view}.gz")  # fmt: skip
    assert (tmp_path / "a-raw.gz").read_bytes() == (tmp_path / "b-raw.gz").read_bytes()
    assert (tmp_path / "a-summary.gz").read_bytes() == (tmp_path / "b-summary.gz").read_bytes()
    other = small(files_per_timespan=2, seed=8)
    simdata.write_export_file(other, "globex", "raw", "weeks", 2026, 2, 1, tmp_path / "c.gz")
    assert (tmp_path / "c.gz").read_bytes() != (tmp_path / "a-raw.gz").read_bytes()

    blobs = []
    for _ in range(2):
        with Simulator(cfg) as sim:
            s = login(sim)
            [f, _g] = export_urls(s, sim, "globex/pulls/exports/years/2026/weeks/2/raw")
            blobs.append(http_get(f["url"]).content)
    assert blobs[0] == blobs[1]


def test_cli_process(tmp_path):
    url_file = tmp_path / "sim.url"
    cmd = [sys.executable, "-m", "dockerdvp_simulator", "--port", "0", "--url-file",
           str(url_file), "--namespaces", "one,two", "--weeks", "2", "--end-date", "2026-01-20",
           "--header-style", "snake", "--login-mode", "token-only"]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:  # closes the pipe
        try:
            url = wait_for_url(proc, url_file, timeout=20, output=lambda: proc.stderr.read() if proc.stderr else "")
            config = http_get(url + "/_sim/config").json()
            cfg = SimConfig(**config)
            assert cfg.namespaces == ("one", "two") and cfg.weeks == 2
            assert cfg.end_date == date(2026, 1, 20) and cfg.header_style == "snake"
            r = http_post(url + "/v2/users/login", json={"username": USER, "password": PASSWORD})
            assert r.status_code == 410
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0
        stderr = proc.stderr.read() if proc.stderr else b""
    assert b"dckr_pat_demo-secret-token" in stderr
    assert not Path(url_file).exists()
