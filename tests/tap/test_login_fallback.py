"""Issue 9, point 6: when one login endpoint refuses (other than with a two-factor challenge), try the other once.

Docker documents `/v2/users/login` (the DVP spec) and `/v2/auth/token` (the Hub spec, which marks the first one
deprecated), and promises no particular way for the old one to refuse once retired. So any refusal of one makes
the tap try the other once; the final error names both answers and never the secret; the endpoint that worked
is remembered for the run, so a token refresh does not repeat the refused attempt. The simulator's fault rules
make an endpoint refuse, and its per-endpoint counters show which endpoints were called.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from tap_harness import raw_rows_served, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from tap_dockerdvp.errors import AuthenticationError
from tap_dockerdvp.http.auth import DockerHubAuthenticator

SECRET = "dckr_pat_login-fallback-secret"
TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def small(**overrides) -> SimConfig:
    values = dict(
        weeks=1,
        rows_per_week=20,
        end_date=dt.date(2026, 11, 18),
        include_partial=False,
        namespaces=("acme",),
        password=SECRET,
    )
    values.update(overrides)
    return SimConfig(**values)


def authenticator(sim, **overrides) -> DockerHubAuthenticator:
    kwargs = dict(
        hub_url=sim.hub_url,
        username=sim.config.username,
        password=sim.config.password,
        retry_base_seconds=0.01,
        logger=logging.getLogger("tap-dockerdvp"),
    )
    kwargs.update(overrides)
    return DockerHubAuthenticator(**kwargs)


def logins(sim) -> tuple[int, int]:
    endpoints = sim.stats["endpoints"]
    return endpoints.get("users-login", 0), endpoints.get("auth-token", 0)


REFUSALS = {
    # /v2/users/login refusing a password on an SSO-enforced org, or once retired: none of these said
    # "deprecated", so the tap before this change stopped with "bad credentials" (or a server error).
    "401-no-2fa": (401, {"detail": "Incorrect authentication credentials", "login_2fa_token": None}),
    "403": (403, {"detail": "Password login is disabled for this organization: use a personal access token"}),
    "400": (400, {"message": "bad request"}),
    "501": (501, {"message": "not implemented"}),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_users_login_falls_back_to_auth_token_once(simulator, caplog, case: str) -> None:
    status, body = REFUSALS[case]
    sim = simulator(small())
    sim.add_fault({"match": "users-login", "kind": "status", "status": status, "body": body, "times": None})
    auth = authenticator(sim)
    with caplog.at_level(logging.INFO, logger="tap-dockerdvp"):
        assert auth.token()
    assert logins(sim) == (1, 1)
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith(f"/v2/users/login refused the login (HTTP {status}") and m.endswith("trying /v2/auth/token")
        for m in messages
    ), messages
    assert "Logged in with /v2/auth/token; later logins of this run use it first" in messages


def test_a_token_refresh_starts_with_the_endpoint_that_worked(simulator, caplog) -> None:
    sim = simulator(small(token_ttl=3))
    sim.add_fault({"match": "users-login", "kind": "status", "status": 403, "times": None})
    auth = authenticator(sim)
    first = auth.token()
    assert logins(sim) == (1, 1)
    time.sleep(2.7)  # inside the refresh margin (a fifth of a 3 s lifetime)
    with caplog.at_level(logging.INFO, logger="tap-dockerdvp"):
        assert auth.token() != first
    assert logins(sim) == (1, 2)  # the refused endpoint is not asked again
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


def test_when_the_remembered_endpoint_refuses_later_the_other_is_tried_again(simulator) -> None:
    sim = simulator(small(token_ttl=3))
    sim.add_fault({"match": "users-login", "kind": "status", "status": 403, "times": 1})
    sim.add_fault({"match": "auth-token", "kind": "status", "status": 410, "after": 1, "times": None})
    auth = authenticator(sim)
    auth.token()  # /v2/users/login refused, /v2/auth/token worked
    time.sleep(2.7)
    auth.token()  # /v2/auth/token now refuses: /v2/users/login works again
    assert logins(sim) == (2, 2)


def test_when_both_refuse_the_error_names_both_answers_and_never_the_secret(simulator) -> None:
    sim = simulator(small())
    with pytest.raises(AuthenticationError) as info:
        authenticator(sim, password="dckr_pat_wrong-and-secret").token()
    message = str(info.value)
    assert "/v2/users/login answered HTTP 401: Incorrect authentication credentials" in message
    assert "/v2/auth/token answered HTTP 401: invalid username or password" in message
    assert "check the `username` and `password` settings" in message
    assert "dckr_pat_wrong-and-secret" not in message and SECRET not in message and "\n" not in message
    assert logins(sim) == (1, 1)  # each tried once


ACCOUNT_PASSWORD = "account password, not a token"


def test_a_two_factor_challenge_is_answered_not_fallen_back_from(simulator) -> None:
    # Docker challenges the account password of a 2FA account (never a personal access token)
    sim = simulator(small(totp_secret=TOTP_SEED, account_password=ACCOUNT_PASSWORD))
    assert authenticator(sim, password=ACCOUNT_PASSWORD, totp_secret=TOTP_SEED).token()
    assert logins(sim) == (1, 0) and sim.stats["endpoints"]["2fa-login"] == 1
    with pytest.raises(AuthenticationError, match="`totp_secret`"):
        authenticator(sim, password=ACCOUNT_PASSWORD).token()  # 2FA without a seed: say so, no other login
    assert logins(sim) == (2, 0)
    assert authenticator(sim).token()  # the personal access token of the same account: no challenge
    assert logins(sim) == (3, 0) and sim.stats["endpoints"]["2fa-login"] == 1


def test_a_whole_run_logs_in_through_the_fallback_and_refreshes_without_the_refused_endpoint(simulator) -> None:
    sim = simulator(small(token_ttl=2, rows_per_week=60))
    sim.add_fault({"match": "users-login", "kind": "status", "status": 401, "times": None})
    sim.add_fault({"match": "download", "kind": "slow", "seconds": 1.0, "times": 4})
    out = run_tap(tap_config(sim, timespan_types=["weeks"]))
    assert out.counts()["pull_events"] == raw_rows_served(sim.config)
    users_login, auth_token = logins(sim)
    assert users_login == 1 and auth_token >= 2  # refreshed during the run, always at /v2/auth/token
