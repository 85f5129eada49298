"""The simulator's API: the spec's behaviour by default, and every assumption behind its named option.

Each test talks HTTP to a running simulator (started in-process by the `simulator` fixture).
"""

from __future__ import annotations

import base64
import time

import pytest
import requests
from test_simulator import PASSWORD, USER, http_get, http_post, jwt_claims, login, small, totp

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import reports as simreports

ACCOUNT_PASSWORD = "hunter2-account-password"
TOTP_SEED = base64.b32encode(b"0123456789abcdefghij").decode().rstrip("=")
WEEK = "pulls/exports/years/2026/weeks/2"  # a complete ISO week of `small()` (END is 2026-01-20)


def years_path(sim, ns: str, dataset: str = "pulls") -> str:
    return f"{sim.api_url}/namespaces/{ns}/{dataset}/exports/years"


# --------------------------------------------------------------------------------------------------
# Namespace discovery
# --------------------------------------------------------------------------------------------------
def test_root_lists_only_namespaces_with_export_data_and_namespaces_lists_all(simulator):
    sim = simulator(small(report_only_namespaces=("globex",)))
    assert sim.config.report_namespaces == ("globex",) and sim.config.empty_export_namespaces == ("globex",)
    s = login(sim)
    assert s.get(sim.api_url + "/").json() == {"namespaces": ["acme"]}
    assert [m["namespace"] for m in s.get(sim.api_url + "/namespaces").json()] == ["acme", "globex"]
    meta = s.get(sim.api_url + "/namespaces/globex")
    assert meta.status_code == 200 and meta.json()["namespace"] == "globex"
    # No legacy export data: no years, nothing listed, a timespan is not found.
    assert s.get(years_path(sim, "globex")).json() == {"years": []}
    assert s.get(years_path(sim, "globex") + "/2026/weeks").json() == {"weeks": []}
    assert s.get(years_path(sim, "globex") + "/2026/weeks/2").status_code == 404
    assert s.get(f"{sim.api_url}/namespaces/globex/{WEEK}/raw").status_code == 404
    assert s.get(sim.api_url + "/namespaces/globex/pulls?timespan=weeks").json() == {"pulls": []}
    # ...but the DVP program side has it: report catalogue and proxylytics pulls.
    proxylytics = sim.url + simreports.PROXYLYTICS_PREFIX
    catalogue = s.get(f"{proxylytics}/namespaces/globex/reports").json()["reports"]
    assert catalogue and {r["type"] for r in catalogue} >= {"summary", "trend"}
    assert s.get(f"{proxylytics}/namespaces/acme/reports").json() == {"reports": []}
    pulls = s.get(f"{proxylytics}/namespaces/globex/pulls?timespan=weeks").json()["pulls"]
    assert pulls and all(p["pullCount"] > 0 for p in pulls)
    # acme still has its export.
    assert s.get(years_path(sim, "acme")).json() == {"years": [{"year": 2025}, {"year": 2026}]}


def test_root_namespaces_accessible_lists_every_namespace(simulator):
    sim = simulator(small(report_only_namespaces=("globex",), root_namespaces="accessible"))
    s = login(sim)
    assert s.get(sim.api_url + "/").json() == {"namespaces": ["acme", "globex"]}
    assert s.get(years_path(sim, "globex")).json() == {"years": []}  # still no export data


def test_empty_export_and_report_namespaces_are_independent(simulator):
    sim = simulator(small(empty_export_namespaces=("acme",), report_namespaces=("globex",)))
    s = login(sim)
    proxylytics = sim.url + simreports.PROXYLYTICS_PREFIX
    # acme: no export, no reports (readable all the same); globex: both.
    assert s.get(sim.api_url + "/").json() == {"namespaces": ["globex"]}
    assert s.get(years_path(sim, "acme")).json() == {"years": []}
    assert s.get(f"{proxylytics}/namespaces/acme/reports").json() == {"reports": []}
    assert s.get(years_path(sim, "globex")).json()["years"]
    assert s.get(f"{proxylytics}/namespaces/globex/reports").json()["reports"]


def test_namespace_lists_must_name_known_namespaces():
    for field in ("report_only_namespaces", "empty_export_namespaces", "report_namespaces", "extension_namespaces"):
        with pytest.raises(ValueError, match=f"{field} not in namespaces"):
            SimConfig(**{field: ("nope",)})


@pytest.mark.parametrize("status", ["404", "405"])
def test_namespaces_endpoint_can_be_missing(simulator, status):
    sim = simulator(small(namespaces_endpoint=status))
    s = login(sim)
    r = s.get(sim.api_url + "/namespaces")
    assert r.status_code == int(status)
    if status == "405":
        assert r.headers["Allow"] == "OPTIONS" and r.json() == {"detail": 'Method "GET" not allowed.'}
    else:
        assert r.json() == {"message": "page not found", "errinfo": {}}
    # The fallback a client needs still works: GET / and GET /namespaces/{ns}.
    assert s.get(sim.api_url + "/").json() == {"namespaces": ["acme", "globex"]}
    assert s.get(sim.api_url + "/namespaces/globex").json()["namespace"] == "globex"
    assert http_get(sim.api_url + "/namespaces").status_code == 401  # auth is still checked first


# --------------------------------------------------------------------------------------------------
# Response shapes
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "empty"), [("array", []), ("null", None)])
def test_empty_lists(simulator, mode, empty):
    sim = simulator(
        small(
            empty_lists=mode,
            namespaces=("acme", "globex", "initech"),
            empty_export_namespaces=("globex", "initech"),
            extra_listed_weeks=((2026, 40),),
        )
    )
    s = login(sim)
    years = years_path(sim, "acme")
    assert s.get(years + "/2024/weeks").json() == {"weeks": empty}
    assert s.get(years + "/2024/months").json() == {"months": empty}
    assert s.get(years_path(sim, "globex")).json() == {"years": empty}
    assert s.get(sim.api_url + "/namespaces/globex").json()["extraRepos"] == empty
    assert s.get(sim.api_url + "/namespaces/acme").json()["extraRepos"] == ["otherns/legacy-image"]
    assert s.get(sim.api_url + "/namespaces/globex/pulls").json() == {"pulls": empty}
    repos = s.get(sim.api_url + "/repos/pulls", params={"repos": ["acme/zzz"]}).json()
    assert repos == {"repos": {"acme/zzz": {"pulls": empty}}}
    assert s.get(years + "/2026/weeks/40/raw").json() == {"data": empty}  # a listed week with no files
    non_empty = s.get(years + "/2026/weeks/2/raw").json()["data"]
    assert len(non_empty) == 1 and set(non_empty[0]) == {"url", "size"}
    with_data_only = simulator(small(empty_lists=mode, empty_export_namespaces=("acme", "globex")))
    assert login(with_data_only).get(with_data_only.api_url + "/").json() == {"namespaces": empty}


def test_metadata_extras(simulator):
    plain = simulator(small(extension_namespaces=("globex",)))
    for meta in login(plain).get(plain.api_url + "/namespaces").json():
        assert set(meta) == {"namespace", "extraRepos", "datasets"}
    extras = simulator(small(extension_namespaces=("globex",), metadata_extras=True))
    s = login(extras)
    acme, globex = s.get(extras.api_url + "/namespaces").json()
    assert (acme["publisherType"], acme["extensionPublisher"]) == ("DVP", False)
    assert (globex["publisherType"], globex["extensionPublisher"]) == ("DVP", True)
    assert s.get(extras.api_url + "/namespaces/globex").json() == globex


@pytest.mark.parametrize(
    ("mode", "under_pulls", "under_extensions"),
    [("pulls", True, False), ("dataset", False, True), ("both", True, True)],
)
def test_extension_view_path(simulator, mode, under_pulls, under_extensions):
    sim = simulator(small(extension_namespaces=("globex",), extension_view_path=mode))
    s = login(sim)
    week = "exports/years/2026/weeks/2"

    def status(ns: str, dataset: str, tail: str) -> int:
        return s.get(f"{sim.api_url}/namespaces/{ns}/{dataset}/{tail}").status_code

    assert status("globex", "pulls", f"{week}/ext-summary") == (200 if under_pulls else 404)
    assert status("globex", "extensions", f"{week}/ext-summary") == (200 if under_extensions else 404)
    assert status("globex", "extensions", "exports/years") == (200 if under_extensions else 404)
    assert status("globex", "extensions", "exports/years/2026/weeks") == (200 if under_extensions else 404)
    # Pull views are only ever under /pulls/; a namespace without the dataset has no /extensions/ path.
    assert status("globex", "pulls", f"{week}/raw") == 200
    assert status("globex", "extensions", f"{week}/raw") == 404
    assert status("acme", "extensions", "exports/years") == 404
    assert status("acme", "pulls", f"{week}/ext-summary") == 404
    path = "pulls" if under_pulls else "extensions"
    [f] = s.get(f"{sim.api_url}/namespaces/globex/{path}/{week}/ext-summary").json()["data"]
    assert http_get(f["url"]).status_code == 200


# --------------------------------------------------------------------------------------------------
# Logins
# --------------------------------------------------------------------------------------------------
def test_auth_token_follows_hub_spec(simulator):
    sim = simulator(small(account_password=ACCOUNT_PASSWORD))
    for secret in (PASSWORD, ACCOUNT_PASSWORD):
        r = http_post(sim.url + "/v2/auth/token", json={"identifier": USER, "secret": secret})
        assert r.status_code == 200 and set(r.json()) == {"access_token"}
    r = http_post(sim.url + "/v2/auth/token", json={"identifier": USER, "secret": "wrong"})
    assert r.status_code == 401 and set(r.json()) == {"errinfo", "detail", "message"}
    # The legacy login takes the password as well.
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": ACCOUNT_PASSWORD})
    assert r.status_code == 200 and jwt_claims(r.json()["token"])["https://hub.docker.com"]["source"].startswith(
        "password|"
    )


def test_auth_token_and_two_factor(simulator):
    sim = simulator(small(account_password=ACCOUNT_PASSWORD, totp_secret=TOTP_SEED))
    r = http_post(sim.url + "/v2/auth/token", json={"identifier": USER, "secret": PASSWORD})
    assert r.status_code == 200  # a PAT: no second factor
    r = http_post(sim.url + "/v2/auth/token", json={"identifier": USER, "secret": ACCOUNT_PASSWORD})
    assert r.status_code == 401 and r.json()["message"] == "unauthorized" and "two-factor" in r.json()["detail"]
    skips = simulator(small(account_password=ACCOUNT_PASSWORD, totp_secret=TOTP_SEED, auth_token_skips_2fa=True))
    r = http_post(skips.url + "/v2/auth/token", json={"identifier": USER, "secret": ACCOUNT_PASSWORD})
    assert r.status_code == 200 and r.json()["access_token"]
    assert sim.stats["two_factor_challenges"] == 0


def test_a_password_that_is_not_a_pat_gets_the_challenge(simulator):
    cfg = small(password="not-a-token", totp_secret=TOTP_SEED)
    assert not cfg.is_pat(cfg.password) and cfg.is_pat(PASSWORD)
    sim = simulator(cfg)
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": "not-a-token"})
    assert r.status_code == 401 and r.json()["login_2fa_token"]
    ok = http_post(
        sim.url + "/v2/users/2fa-login",
        json={"login_2fa_token": r.json()["login_2fa_token"], "code": totp(TOTP_SEED, time.time())},
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("mode", "status", "body"),
    [
        ("retired-401", 401, {"detail": "Incorrect authentication credentials", "login_2fa_token": None}),
        ("retired-404", 404, {"detail": "Not found."}),
        ("retired-410", 410, {"detail": "Gone"}),
        ("token-only", 410, {"detail": "This endpoint is deprecated. Use /v2/auth/token"}),
    ],
)
def test_login_retirement(simulator, mode, status, body):
    sim = simulator(small(login_mode=mode))
    r = http_post(sim.url + "/v2/users/login", json={"username": USER, "password": PASSWORD})
    assert (r.status_code, r.json()) == (status, body)
    two_factor = http_post(sim.url + "/v2/users/2fa-login", json={"login_2fa_token": "x", "code": "123456"})
    # 2fa-login is not deprecated: only token-only retires it too.
    assert two_factor.status_code == (410 if mode == "token-only" else 401)
    r = http_post(sim.url + "/v2/auth/token", json={"identifier": USER, "secret": PASSWORD})
    assert r.status_code == 200
    assert login_session_works(sim, r.json()["access_token"])
    assert sim.stats["login_failures"] == 2


def login_session_works(sim, token: str) -> bool:
    return http_get(sim.api_url + "/", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# --------------------------------------------------------------------------------------------------
# Faults: late views and late reports
# --------------------------------------------------------------------------------------------------
def test_late_view_404_then_ready(simulator):
    sim = simulator(small())
    s = login(sim)
    sim.add_fault({"match": r"/years/2026/weeks/2/raw$", "kind": "late_view", "times": 2, "after": 1})
    url = f"{sim.api_url}/namespaces/acme/{WEEK}/raw"
    first = s.get(url)
    assert first.status_code == 200 and len(first.json()["data"]) == 1  # `after`: let one through
    for _ in range(2):
        late = s.get(url)
        assert late.status_code == 404 and late.json()["message"] == "object not found"
    ready = s.get(url)
    assert ready.status_code == 200 and [f["size"] for f in ready.json()["data"]] == [first.json()["data"][0]["size"]]
    # Only that timespan's listing: the timespan itself and other views are unaffected.
    assert s.get(f"{sim.api_url}/namespaces/acme/{WEEK}").json() == {"week": 2}
    assert sim.stats["faults"] == {"late_view": 2}


def test_late_view_empty_then_ready_and_only_on_listings(simulator):
    sim = simulator(small())
    s = login(sim)
    sim.add_fault({"match": "*", "kind": "late_view", "style": "empty", "times": 1})
    assert s.get(sim.api_url + "/namespaces").status_code == 200  # not a data-view listing: untouched
    assert s.get(years_path(sim, "acme")).json()["years"]
    url = f"{sim.api_url}/namespaces/acme/{WEEK}/summary"
    assert s.get(url).json() == {"data": []}
    ready = s.get(url).json()["data"]
    assert len(ready) == 1 and http_get(ready[0]["url"]).status_code == 200
    nulls = simulator(small(empty_lists="null"))
    sn = login(nulls)
    nulls.add_fault({"match": "exports", "kind": "late_view", "style": "empty"})
    assert sn.get(f"{nulls.api_url}/namespaces/acme/{WEEK}/raw").json() == {"data": None}
    with pytest.raises(ValueError, match="style"):
        sim.add_fault({"match": "exports", "kind": "late_view", "style": "soon"})


@pytest.mark.parametrize("style", ["hub", "presigned", "redirect"])
def test_late_report_is_listed_but_not_readable_yet(simulator, style):
    sim = simulator(small(report_namespaces=("globex",), report_url_style=style))
    s = login(sim)
    catalogue = f"{sim.url}{simreports.PROXYLYTICS_PREFIX}/namespaces/globex/reports"
    entry = s.get(catalogue).json()["reports"][0]
    sim.add_fault({"match": entry["name"], "kind": "late_report", "times": 1})
    headers = {} if style == "presigned" else dict(s.headers)
    late = requests.get(entry["url"], headers=headers, timeout=10)
    assert late.status_code == 404
    if style == "presigned":
        assert b"<Code>NoSuchKey</Code>" in late.content
    else:
        assert late.json() == {"message": "report not found", "errinfo": {}}
    assert s.get(catalogue).json()["reports"][0] == entry  # still listed
    ready = requests.get(entry["url"], headers=headers, timeout=10)
    assert ready.status_code == 200 and ready.content.startswith(b"DATE_GRANULARITY,")
    # late_report never hits the catalogue itself.
    sim.add_fault({"match": "*", "kind": "late_report"})
    assert s.get(catalogue).status_code == 200
